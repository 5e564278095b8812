// The one home of what a tap or a card-office action does to the ledger: it
// turns one into one posting group (transfers, card updates, records) and
// the answer (a tap's decision, an action's result), and advances the
// card's entry in the CardBook as if the group were durable. The engine's
// shards call it for every tap and action; the CLI calls it for actions on
// a stopped ledger, and posts the group itself. No threads, no clock: time
// comes with the tap or the command.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

#include "admin_command.h"
#include "approvals.h"
#include "audit_entry.h"
#include "card/crypto.h"
#include "card_book.h"
#include "ledger/ledger.h"
#include "ledger/system_accounts.h"
#include "log.h"
#include "media_directory.h"
#include "protocol/messages.h"
#include "rating.h"
#include "rule_book.h"
#include "rule_set.h"

namespace citycard::engine {

// What the engine found out about a tap before it was queued: its reader's
// registration and its event time (rules/admission.h).
struct Admission {
  RefusalReason refusal = RefusalReason::none;  // none: rate it
  std::int64_t offline_max_minor = 0;           // the reader's offline money per business day
  EventTime arrival;                            // when the engine received it, for its record (0: not known)
};

// One posting group being built: what it is built from, and what it became.
struct Draft {
  // A tap: the record, the key it posts under (its tap key, or its
  // service-given key), and its admission.
  protocol::TapRecord tap;
  IdempotencyKey key;
  Admission admission;
  // A card-office action, and its result (not ok: nothing to post). Held
  // apart, made on first change: a tap's draft is half the size without
  // them, and a shard stages tens of thousands of taps at a time.
  AdminCommand& admin() { return action().command; }
  const AdminCommand& admin() const { return action_.held ? action_.held->command : no_action().command; }
  AdminResult& admin_result() { return action().result; }
  const AdminResult& admin_result() const { return action_.held ? action_.held->result : no_action().result; }
  bool holds_action() const noexcept { return action_.held != nullptr; }

  ledger::PostingGroup group;
  protocol::DecisionRecord decision;  // a tap's
  CardId card;                        // the cached card it advanced (pending); empty if none
  std::optional<bool> deny_after;     // the card's listing once durable, when it changes
  CardId refresh_elsewhere;           // replace: the new card, to be read again once durable
  // link, unlink, merge, replace: (medium, its account key now), for the
  // engine's MediaDirectory and routing once durable.
  std::vector<std::pair<CardId, CardId>> media_moved;
  std::int64_t offline_spent_minor = 0;  // a tap's share of its reader's offline money
  std::int32_t offline_day = 0;

 private:
  struct Action {
    AdminCommand command;
    AdminResult result;
  };
  // Owns the action; a copy of the draft copies it.
  struct ActionBox {
    ActionBox() = default;
    ActionBox(const ActionBox& other) : held(other.held ? std::make_unique<Action>(*other.held) : nullptr) {}
    ActionBox& operator=(const ActionBox& other) {
      if (this != &other) held = other.held ? std::make_unique<Action>(*other.held) : nullptr;
      return *this;
    }
    ActionBox(ActionBox&&) noexcept = default;
    ActionBox& operator=(ActionBox&&) noexcept = default;
    ~ActionBox() = default;
    std::unique_ptr<Action> held;
  };
  Action& action() {
    if (!action_.held) action_.held = std::make_unique<Action>();
    return *action_.held;
  }
  static const Action& no_action();
  ActionBox action_;
};

// The readers' offline money per business day (the engine's registry); a
// tap rated offline spends from it. Not used for card-office actions.
class OfflineAllowance {
 public:
  virtual ~OfflineAllowance() = default;
  // Takes `amount` of the reader's money of `day` within `limit`: the record
  // to write with the tap's group, or nullopt when it would go over.
  virtual std::optional<ledger::RecordWrite> try_spend(ReaderId reader, std::int32_t day, std::int64_t amount,
                                                       std::int64_t limit) = 0;
  virtual void give_back(ReaderId reader, std::int32_t day, std::int64_t amount) = 0;
};

struct BuildContext {
  ledger::Ledger& ledger;               // reads; replace issues its new card here
  ledger::SystemAccounts system;
  // The versions taps are rated by (each by its own business day); needed
  // to rate taps. The engine hands shards a new book when one is loaded.
  std::shared_ptr<const rules::RuleBook> rules;
  Log& log;
  std::shared_ptr<card::CardKeySource> card_keys;  // null: card proofs not checked
  bool require_card_proof = false;
  OfflineAllowance* offline = nullptr;  // needed to rate offline taps
  // A refund of more than this waits for a second supervisor (approvals.h);
  // 0: none waits. The engine passes [admin] four_eyes_minor, the CLI
  // --four-eyes-minor; both default to limits::four_eyes_minor_default.
  std::int64_t four_eyes_minor = 0;
  // The "deny/" records are the list the engine served (deny_list_store.h):
  // only the engine writes them. What an action on a stopped ledger lists
  // reaches readers at the engine's next start, as new versions of the
  // same epoch, read from the cards themselves.
  bool serves_deny_list = true;
  // Write each decided tap's record (tap_records.h) with its decision.
  // Always true but for the bench's baseline (EngineOptions::record_taps).
  bool record_taps = true;
  // Which media belong to which account (media_directory.h): link, merge
  // and replace find an account's linked media here. Needed for those.
  const MediaDirectory* media = nullptr;
  // The access lists identity taps at doors and meeting rooms are checked
  // against (rules/access_lists.h); null: none. The engine hands shards a
  // new book when the lists change (access_desk.h).
  std::shared_ptr<const rules::AccessBook> access = nullptr;
};

// What stored with an action's group says about the request, so that its
// reference used again for another request is told apart from a retry:
//   "action1 " name " card " hex " amount " n " status " s " new " hex [" tap tap:R:S"]
std::string action_fingerprint(const AdminCommand& command);
// The action's name in fingerprints and messages: "top-up", "refund", "adjustment", ...
std::string_view fingerprint_action_name(AdminAction action);
// "auto top-up on threshold T amount A daily limit L" / "auto top-up off",
// for fingerprints and audit entries.
std::string describe_auto_top_up(const AutoTopUpSetting& setting);
// The name a stored fingerprint starts with ("refund", "adjustment"); "request" if none.
std::string_view fingerprint_noun(std::string_view fingerprint);
// A card-office transfer of TWD at the command's time (the builder's files share it).
Transfer admin_transfer(AccountId debit, AccountId credit, std::int64_t amount, TransferCode code, const AdminCommand& command);

// The money a top-up, refund or adjustment moves, as planned against the
// card as it is when built (plan_money), then put into the group
// (apply_money): the plan is made again when a waiting one is approved.
struct MoneyMove {
  std::vector<Transfer> transfers;
  std::int64_t wallet_delta_minor = 0;  // what the card's wallet gains (negative: loses)
  // An adjustment naming a tap: the tap's record after it (tap_adjustments.h).
  std::optional<ledger::RecordWrite> tap_record;
  std::string detail;                   // for the audit entry
};

// A rating's postings as transfers of `card`'s accounts, the operator's
// payable (`payable_of`) and the city's accounts, with the tap's context:
// the one place roles become accounts (the shards' rating, the close's
// repricing).
Status resolve_postings(const rules::Rating& rating, const Tap& tap, const CardRecord& card,
                        const ledger::SystemAccounts& system,
                        const std::function<Result<AccountId>(OperatorId)>& payable_of, std::vector<Transfer>& out);

class GroupBuilder {
 public:
  GroupBuilder(BuildContext context, CardBook& book) : context_(std::move(context)), book_(book) {}

  // A tap: draft.group and draft.decision; approved taps advance the card
  // (++pending). Ledger read failures are fatal to the engine, as before.
  // Every decided tap's group carries its record (tap_records.h).
  void rate_tap(Draft& draft);
  // Rate later taps with this book (a rule set version was loaded).
  void use_rules(std::shared_ptr<const rules::RuleBook> rules) { context_.rules = std::move(rules); }
  // Check later identity taps against these access lists.
  void use_access(std::shared_ptr<const rules::AccessBook> access) { context_.access = std::move(access); }
  // A refused tap recorded with its reason (and kept for review if it is an
  // offline upload the engine would not rate).
  void refuse_tap(Draft& draft, RefusalReason reason);
  // Gives back a tap's offline money (before it is rated again, or when its
  // group did not post).
  void give_back_offline(Draft& draft);

  // A card-office action on a card (top_up, refund, adjust, set_status,
  // replace, approve, reject, record_refusal): draft.admin_result, and
  // draft.group when it is ok and not a retry of a request already posted
  // (admin_result.duplicate). A refund or adjustment over
  // context.four_eyes_minor is recorded as waiting (admin_result.pending,
  // no money in the group); approve and reject decide a waiting one
  // (approvals.h). A request a clerk made that is refused (a rule, or
  // command.refusal) leaves draft.group holding only the refusal's audit
  // entry (refusals.h: records_refusal(draft)), to be posted; the result
  // still says why it was refused.
  void card_action(Draft& draft);
  // An action's outcome says its key had posted: a retry (true) or the
  // reference reused for another request (false, the status says so).
  static Status check_retry(const AdminCommand& command, std::string_view stored_fingerprint);

 private:
  void decide_tap(Draft& draft);
  void refuse_decision(Draft& draft, RefusalReason reason);
  // The decided tap's record into its group (tap_records.h).
  void record_tap(Draft& draft);
  Result<AccountId> operator_payable(OperatorId id);
  Status resolve(const rules::Rating& rating, const Tap& tap, const CardRecord& card, std::vector<Transfer>& out);
  void note_listing(Draft& draft, CardEntry& entry);
  std::optional<RefusalReason> check_proof(const Draft& draft, CardEntry& entry, std::optional<std::uint32_t>& atc);
  CardEntry* card_or_abort(const CardId& card);
  void build_action(Draft& draft);
  void action_result(Draft& draft, const CardEntry& entry);
  // The checks of a top-up, refund or adjustment against the card as it is
  // now (adjustments: group_adjust.cpp), and what it would move.
  Result<MoneyMove> plan_money(const CardEntry& entry, const AdminCommand& command);
  Result<MoneyMove> plan_adjustment(const CardEntry& entry, const AdminCommand& command);
  Status plan_tap_adjustment(const CardEntry& entry, const AdminCommand& command, MoneyMove& move);
  // The refund's rule, for every debit the card office makes: the wallet
  // covers `amount` ("cannot <verb> <amount>" otherwise).
  Status wallet_covers(const CardEntry& entry, std::int64_t amount, std::string_view verb);
  // A credit that keeps the wallet under its ceiling.
  Status wallet_takes(const CardEntry& entry, std::int64_t amount);
  // The plan into the group and the card's mirrors; its detail.
  std::string apply_money(Draft& draft, CardEntry& entry, MoneyMove move);
  void finish_action(Draft& draft, CardEntry& entry, const AuditEntry& audit);
  // One account, many media (group_accounts.cpp): each checks, fills the
  // group, moves the book's mirrors and entries, and returns the audit
  // detail. Entries loaded before are invalid after (CardBook).
  Result<std::string> build_link(Draft& draft);
  Result<std::string> build_unlink(Draft& draft);
  Result<std::string> build_merge(Draft& draft);
  // Moves what `from` holds (wallet: signed, a debt moves too; points) to
  // `to`'s accounts as balance_move transfers; both cached.
  Status move_balances(Draft& draft, const CardId& from, const CardId& to, std::int64_t& wallet_moved,
                       std::int64_t& points_moved);
  // Each medium of `media` now belongs to `account` (its record names the
  // account's accounts), in the group and in the book; its history says so.
  // `state`: the account's state as the group writes it, if the book may
  // not hold it (CardBook::rebind).
  Status join_media(Draft& draft, const std::vector<CardId>& media, const CardRecord& account, std::string_view how,
                    const std::optional<std::string>& state = std::nullopt);
  // set_auto_top_up (group_auto_top_up.cpp): checks the setting against the
  // card and the rule set in force at the command's time, writes it into the
  // account's state in the book; the audit detail, or why it is refused.
  Result<std::string> build_auto_top_up(CardEntry& entry, const AdminCommand& command);
  // The close's repricing of one tap (group_reprice.cpp).
  void build_reprice(Draft& draft);
  // A refused request's audit entry as the whole group (refusals.h).
  void record_refusal(Draft& draft);
  // Four eyes (group_approvals.cpp).
  void ask_approval(Draft& draft, CardEntry& entry);
  void answer_waiting(Draft& draft, const CardEntry& entry, const Approval& approval);
  void decide_approval(Draft& draft);
  Status rejected_status(const AdminCommand& request);

  BuildContext context_;
  CardBook& book_;
  std::unordered_map<std::uint32_t, AccountId> operators_;
  card::CmacContext cmac_;  // proofs verified with the cached card key
};

}  // namespace citycard::engine
