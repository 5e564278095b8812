// One shard: a thread that owns the state of the cards hashed to it (see
// engine.h for the whole pipeline). Internal to engine/core.
//
// Threading: try_queue(), outcomes(), durable(), invalidate() and stop() may be called
// from any thread; everything else runs on the shard's own thread and
// touches its state without locks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "admin_command.h"
#include "atc_window.h"
#include "card/crypto.h"
#include "card_table.h"
#include "committer.h"
#include "engine.h"
#include "hashing.h"
#include "inbox.h"
#include "ledger/system_accounts.h"
#include "rating.h"
#include "reader_registry.h"

namespace citycard::engine {

using Clock = std::chrono::steady_clock;

// One submitted batch, answered when every tap of it is decided.
struct PendingSubmit {
  std::vector<protocol::DecisionRecord> decisions;
  std::atomic<std::size_t> remaining{0};
  std::function<void(net::SubmitResult)> done;
  Clock::time_point started;
};

struct Waiter {
  std::shared_ptr<PendingSubmit> submit;
  std::uint32_t index = 0;
};

// What Engine::submit found out about a tap before it was queued: its
// reader's registration and its event time (rules/admission.h).
struct Admission {
  RefusalReason refusal = RefusalReason::none;  // none: rate it
  std::int64_t offline_max_minor = 0;           // the reader's offline money per business day
};

// Offline money per (reader, business day).
using OfflineShares = std::map<std::pair<std::uint32_t, std::int32_t>, std::int64_t>;

// What a shard's inbox carries.
struct Work {
  enum class Kind : std::uint8_t { tap, admin, outcomes, durable, invalidate, card_keys, stop };
  Kind kind = Kind::tap;
  protocol::TapRecord tap;                       // tap
  Waiter waiter;                                 // tap
  Admission admission;                           // tap
  AdminCommand admin;                            // admin
  std::function<void(AdminResult)> admin_done;   // admin
  std::vector<ledger::GroupOutcome> outcomes;    // outcomes
  CardId card;                                   // invalidate
  std::uint8_t key_version = 0;                  // card_keys
  std::vector<std::pair<CardId, card::CardKey>> keys;  // card_keys: derived ahead of the cards' taps
};

struct ShardContext {
  ledger::Ledger& ledger;
  const rules::RuleSet& rule_set;
  ledger::SystemAccounts system;
  const EngineOptions& options;
  Metrics& metrics;
  Log& log;
  net::MemoryDenyList& deny_list;
  Committer& committer;
  ReaderRegistry& readers;
  // Tells the shard that owns `card` to drop its cached state (another
  // shard's group changed that card's balances).
  std::function<void(const CardId&)> invalidate_elsewhere;
};

// A card as the engine finds it in the ledger at start (Shard::preload).
struct StoredCard {
  CardRecord record;
  std::string state;           // encoded rules::CardState; empty: none yet
  AtcWindow atc;               // card proof counters accepted
};

class Shard {
 public:
  Shard(std::size_t index, ShardContext context, std::unordered_set<CardId, CardIdHash> denied,
        OfflineShares offline_shares = {});
  ~Shard();

  // Before start(): takes a card into the cache, up to card_cache_max;
  // false when the cache is full (the card is then loaded on first use).
  bool preload(StoredCard card);
  // Before start(): the stored state / proof counter of a preloaded card
  // (ignored for a card not in the cache).
  void preload_state(const CardId& card, std::string_view state);
  void preload_atc(const CardId& card, const AtcWindow& atc);
  // Starts the shard's thread.
  void start();

  // All or nothing; false when the queue is full.
  bool try_queue(std::vector<Work>& work) { return inbox_.try_push_counted(work); }
  // The committer's word on the batch handed over: its outcomes (decided,
  // not yet durable), then that the oldest batch told so is durable.
  void outcomes(std::vector<ledger::GroupOutcome> outcomes);
  void durable();
  void invalidate(const CardId& card);
  // Card keys derived ahead of use (KeyWarmer); a card that has one already,
  // or is no longer cached, is left as it is.
  void warm_keys(std::uint8_t key_version, std::vector<std::pair<CardId, card::CardKey>> keys);
  // Before start(): the cards preloaded, in load order.
  std::vector<CardId> cached_card_ids() const { return {card_order_.begin(), card_order_.end()}; }
  // Drains what is queued, then ends the thread.
  void stop();

  std::size_t depth() const { return inbox_.depth(); }
  std::size_t cards_cached() const noexcept { return cards_cached_.load(std::memory_order_relaxed); }

 private:
  struct AccountMirror {
    std::int64_t balance_minor = 0;
    std::uint32_t users = 0;  // cached cards naming this account
  };
  // A cached card: ~300 bytes, so a city's 1.3M cards fit (the state is
  // kept encoded, ~100 bytes, and decoded for each rating).
  struct CardEntry {
    CardRecord record;
    std::string state;           // encoded rules::CardState, speculative (includes staged and
                                 // committing groups); empty: a fresh card
    AccountMirror* wallet = nullptr;  // accounts_ entries (stable addresses)
    AccountMirror* points = nullptr;
    std::uint32_t pending = 0;   // staged or committing items naming this card
    bool denied = false;         // speculative deny list membership
    AtcWindow atc;               // card proof counters accepted (speculative)
    // The card's key, derived through the token on the card's first proof
    // and kept only in memory; key_version 0: none derived yet.
    std::uint8_t key_version = 0;
    card::CardKey key;
  };
  // One staged or committing unit of work: one posting group.
  struct Item {
    enum class Kind : std::uint8_t {
      tap,             // rated here
      refusal_record,  // a tap whose rated group the ledger rejected: record it refused
      admin,
      reader_admin,    // a registration change: no card, no money
    };
    Kind kind = Kind::tap;
    protocol::TapRecord tap;
    IdempotencyKey key;             // tap: its tap key, or its service_given key (accept_tap)
    Admission admission;            // tap
    std::int64_t offline_spent_minor = 0;  // tap: taken from its reader's offline money
    std::int32_t offline_day = 0;
    Waiter waiter;
    AdminCommand admin;
    std::function<void(AdminResult)> admin_done;
    AdminResult admin_result;
    ledger::PostingGroup group;
    protocol::DecisionRecord decision;
    CardId card;                    // the cached card it changes; empty if none
    std::optional<bool> deny_after; // the card's listing once durable, when it changes
    CardId refresh_elsewhere;       // replace: the new card, refreshed after commit
  };

  void run();
  std::size_t taps_worth_waking_for() const;
  void accept(Work& work);
  void accept_tap(Work& work);
  void accept_admin(Work& work);
  void hand_over();
  // A batch whose outcomes are known, waiting to be durable.
  struct Decided {
    std::vector<Item> items;
    std::vector<ledger::GroupOutcome> outcomes;
    bool clean = true;  // no outcome invalidates a card's speculative state
  };
  void decided(std::vector<ledger::GroupOutcome>& outcomes);
  void settle(Decided& batch);
  void recycle(std::vector<Item> items);
  static bool invalidates(const Item& item, const ledger::GroupOutcome& outcome);
  static bool answerable_early(const Item& item);
  // Answers the tap's later submissions (and the first, unless the
  // committing thread already did), and forgets it as in flight.
  void finish_tap(Item& item, const protocol::DecisionRecord& decision, bool replayed, bool first_answered);
  void answer(const Waiter& waiter, const protocol::DecisionRecord& decision, Mode mode);

  // Builders (shard_taps.cpp, shard_admin.cpp): fill item.group, item.decision
  // or item.admin_result from the card's speculative state and advance it.
  void rate_tap(Item& item);
  void build_refusal_record(Item& item, RefusalReason reason);
  void build_admin(Item& item);
  void build_reader_admin(Item& item);
  void settle_reader_admin(Item& item, const ledger::GroupOutcome& outcome);
  // The registration a reader action sees: this shard's not yet durable
  // change of it, else the registry's.
  std::optional<ReaderRecord> reader_now(ReaderId reader) const;
  // A tap's decision when the engine cannot make one (a ledger read failed,
  // a stored decision is unreadable): refused internal, logged, not recorded.
  void answer_internal(Work& work, const char* what, const Status& error);
  void give_back_offline(Item& item);
  Status resolve(const rules::Rating& rating, const Tap& tap, const CardRecord& card, std::vector<Transfer>& out);
  Result<AccountId> operator_payable(OperatorId id);
  void note_listing(Item& item, CardEntry& entry);
  // The proof check (shard_proof.cpp): none when the tap may be rated, the
  // refusal otherwise; a fresh counter goes to `atc` (recorded if approved).
  std::optional<RefusalReason> check_proof(const Item& item, CardEntry& entry, std::optional<std::uint32_t>& atc);

  // Card cache (shard_cards.cpp).
  CardEntry* find_card(const CardId& card);     // loads it; nullptr when the ledger has no such card
  CardEntry& cache(StoredCard card);            // adds a card read from the ledger
  void drop_card(const CardId& card);           // forget the cached state (reload on next use)
  void evict_idle();
  // The card's rating state: its stored state (a fresh one if none or
  // unreadable, logged), with the card office's record and the mirrored
  // balances laid over it.
  rules::CardState card_state(const CardEntry& entry);
  std::int64_t& balance(AccountId account) { return accounts_.at(account.value).balance_minor; }
  std::int64_t ledger_balance(AccountId account);

  std::size_t index_;
  ShardContext context_;
  Inbox<Work> inbox_;
  std::thread thread_;
  bool stopping_ = false;

  CardTable<CardEntry> cards_;
  std::deque<CardId> card_order_;  // load order, for eviction
  std::unordered_map<std::uint64_t, AccountMirror> accounts_;
  std::unordered_map<std::uint32_t, AccountId> operators_;
  std::unordered_set<CardId, CardIdHash> denied_;  // durable deny list membership of this shard's cards
  std::atomic<std::size_t> cards_cached_{0};
  card::CmacContext cmac_;         // the shard's own: proofs verified with the cached card key

  std::vector<Item> staged_;
  Clock::time_point staged_since_{};
  std::vector<Item> committing_;   // handed over, outcomes not known yet
  // Emptied vectors of settled batches, for staged_ (at most one per batch
  // the pipeline holds at once: staged, committing, awaiting two syncs).
  static constexpr std::size_t spare_items_max = 4;
  std::vector<std::vector<Item>> spare_items_;
  bool commit_in_flight_ = false;
  std::deque<Decided> awaiting_;   // outcomes known, not durable yet (oldest first)
  // A batch had an outcome that invalidates a card (rejected, or already
  // posted): nothing more is handed over until it is durable and its cards
  // are reloaded and their staged work rated again.
  bool blocked_ = false;
  // Taps staged or committing -> later submissions of the same tap.
  TapTable<std::vector<Waiter>> in_flight_;
  // This shard's share of each reader's offline money per business day.
  OfflineShares offline_shares_;
  // Reader actions staged or committing: reader id -> (registration, count).
  std::unordered_map<std::uint32_t, std::pair<ReaderRecord, std::uint32_t>> readers_pending_;
};

}  // namespace citycard::engine
