// The one home of what a tap or a card-office action does to the ledger: it
// turns one into one posting group (transfers, card updates, records) and
// the answer (a tap's decision, an action's result), and advances the
// card's entry in the CardBook as if the group were durable. The engine's
// shards call it for every tap and action; the CLI calls it for actions on
// a stopped ledger, and posts the group itself. No threads, no clock: time
// comes with the tap or the command.
#pragma once

#include <cstdint>
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
};

// One posting group being built: what it is built from, and what it became.
struct Draft {
  // A tap: the record, the key it posts under (its tap key, or its
  // service-given key), and its admission.
  protocol::TapRecord tap;
  IdempotencyKey key;
  Admission admission;
  // A card-office action.
  AdminCommand admin;

  ledger::PostingGroup group;
  protocol::DecisionRecord decision;  // a tap's
  AdminResult admin_result;           // an action's; not ok: nothing to post
  CardId card;                        // the cached card it advanced (pending); empty if none
  std::optional<bool> deny_after;     // the card's listing once durable, when it changes
  CardId refresh_elsewhere;           // replace: the new card, to be read again once durable
  std::int64_t offline_spent_minor = 0;  // a tap's share of its reader's offline money
  std::int32_t offline_day = 0;
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
};

// What stored with an action's group says about the request, so that its
// reference used again for another request is told apart from a retry.
std::string action_fingerprint(const AdminCommand& command);

class GroupBuilder {
 public:
  GroupBuilder(BuildContext context, CardBook& book) : context_(std::move(context)), book_(book) {}

  // A tap: draft.group and draft.decision; approved taps advance the card
  // (++pending). Ledger read failures are fatal to the engine, as before.
  void rate_tap(Draft& draft);
  // Rate later taps with this book (a rule set version was loaded).
  void use_rules(std::shared_ptr<const rules::RuleBook> rules) { context_.rules = std::move(rules); }
  // A refused tap recorded with its reason (and kept for review if it is an
  // offline upload the engine would not rate).
  void refuse_tap(Draft& draft, RefusalReason reason);
  // Gives back a tap's offline money (before it is rated again, or when its
  // group did not post).
  void give_back_offline(Draft& draft);

  // A card-office action on a card (top_up, refund, set_status, replace,
  // approve, reject): draft.admin_result, and draft.group when it is ok and
  // not a retry of a request already posted (admin_result.duplicate). A
  // refund over context.four_eyes_minor is recorded as waiting
  // (admin_result.pending, no money in the group); approve and reject
  // decide a waiting refund (approvals.h).
  void card_action(Draft& draft);
  // An action's outcome says its key had posted: a retry (true) or the
  // reference reused for another request (false, the status says so).
  static Status check_retry(const AdminCommand& command, std::string_view stored_fingerprint);

 private:
  Result<AccountId> operator_payable(OperatorId id);
  Status resolve(const rules::Rating& rating, const Tap& tap, const CardRecord& card, std::vector<Transfer>& out);
  void note_listing(Draft& draft, CardEntry& entry);
  std::optional<RefusalReason> check_proof(const Draft& draft, CardEntry& entry, std::optional<std::uint32_t>& atc);
  CardEntry* card_or_abort(const CardId& card);
  void action_result(Draft& draft, const CardEntry& entry);
  Status money_allowed(const CardEntry& entry, const AdminCommand& command);
  // The top-up's or refund's transfer; the audit entry's detail.
  std::string add_money(Draft& draft, const CardEntry& entry, const AdminCommand& command);
  void finish_action(Draft& draft, CardEntry& entry, const AuditEntry& audit);
  // Four eyes (group_approvals.cpp).
  void ask_approval(Draft& draft, CardEntry& entry);
  void answer_waiting(Draft& draft, const CardEntry& entry, const Approval& approval);
  void decide_approval(Draft& draft);
  Status rejected_status(const AdminCommand& refund);

  BuildContext context_;
  CardBook& book_;
  std::unordered_map<std::uint32_t, AccountId> operators_;
  card::CmacContext cmac_;  // proofs verified with the cached card key
};

}  // namespace citycard::engine
