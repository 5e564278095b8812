// One shard: a thread that owns the state of the cards hashed to it (see
// engine.h for the whole pipeline). Internal to engine/core.
//
// Threading: try_queue(), deliver(), invalidate() and stop() may be called
// from any thread; everything else runs on the shard's own thread and
// touches its state without locks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "admin_command.h"
#include "committer.h"
#include "engine.h"
#include "hashing.h"
#include "inbox.h"
#include "ledger/system_accounts.h"
#include "rating.h"

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

// What a shard's inbox carries.
struct Work {
  enum class Kind : std::uint8_t { tap, admin, committed, invalidate, stop };
  Kind kind = Kind::tap;
  protocol::TapRecord tap;                       // tap
  Waiter waiter;                                 // tap
  AdminCommand admin;                            // admin
  std::function<void(AdminResult)> admin_done;   // admin
  std::vector<ledger::GroupOutcome> outcomes;    // committed
  CardId card;                                   // invalidate
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
  // Tells the shard that owns `card` to drop its cached state (another
  // shard's group changed that card's balances).
  std::function<void(const CardId&)> invalidate_elsewhere;
};

class Shard {
 public:
  Shard(std::size_t index, ShardContext context, std::unordered_set<CardId, CardIdHash> denied);
  ~Shard();

  // All or nothing; false when the queue is full.
  bool try_queue(std::vector<Work>& work) { return inbox_.try_push_counted(work); }
  void deliver(std::vector<ledger::GroupOutcome> outcomes);
  void invalidate(const CardId& card);
  // Drains what is queued, then ends the thread.
  void stop();

  std::size_t depth() const { return inbox_.depth(); }
  std::size_t cards_cached() const noexcept { return cards_cached_.load(std::memory_order_relaxed); }

 private:
  struct AccountMirror {
    std::int64_t balance_minor = 0;
    std::uint32_t users = 0;  // cached cards naming this account
  };
  struct CardEntry {
    CardRecord record;
    rules::CardState state;   // speculative: includes staged and committing groups
    std::uint32_t pending = 0;  // staged or committing items naming this card
    bool denied = false;        // speculative deny list membership
    std::uint32_t last_atc = 0; // last verified card proof counter
  };
  // One staged or committing unit of work: one posting group.
  struct Item {
    enum class Kind : std::uint8_t {
      tap,             // rated here
      probe,           // a tap the ledger already holds: post the key alone to get its outcome
      refusal_record,  // a tap whose rated group the ledger rejected: record it refused
      admin,
    };
    Kind kind = Kind::tap;
    protocol::TapRecord tap;
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
  void accept(Work& work);
  void accept_tap(Work& work);
  void accept_admin(Work& work);
  void hand_over();
  void committed(std::vector<ledger::GroupOutcome>& outcomes);
  void finish_tap(Item& item, const protocol::DecisionRecord& decision, bool replayed);
  void answer(const Waiter& waiter, const protocol::DecisionRecord& decision, Mode mode);

  // Builders (shard_taps.cpp, shard_admin.cpp): fill item.group, item.decision
  // or item.admin_result from the card's speculative state and advance it.
  void rate_tap(Item& item);
  void build_refusal_record(Item& item, RefusalReason reason);
  void build_admin(Item& item);
  Status resolve(const rules::Rating& rating, const Tap& tap, const CardRecord& card, std::vector<Transfer>& out);
  Result<AccountId> operator_payable(OperatorId id);
  void note_listing(Item& item, CardEntry& entry);

  // Card cache (shard_cards.cpp).
  CardEntry* find_card(const CardId& card);     // loads it; nullptr when the ledger has no such card
  void drop_card(const CardId& card);           // forget the cached state (reload on next use)
  void evict_idle();
  std::int64_t& balance(AccountId account) { return accounts_.at(account.value).balance_minor; }
  std::int64_t ledger_balance(AccountId account);

  std::size_t index_;
  ShardContext context_;
  Inbox<Work> inbox_;
  std::thread thread_;
  bool stopping_ = false;

  std::unordered_map<CardId, CardEntry, CardIdHash> cards_;
  std::deque<CardId> card_order_;  // load order, for eviction
  std::unordered_map<std::uint64_t, AccountMirror> accounts_;
  std::unordered_map<std::uint32_t, AccountId> operators_;
  std::unordered_set<CardId, CardIdHash> denied_;  // durable deny list membership of this shard's cards
  std::atomic<std::size_t> cards_cached_{0};

  std::vector<Item> staged_;
  Clock::time_point staged_since_{};
  std::vector<Item> committing_;
  bool commit_in_flight_ = false;
  // Taps staged or committing -> later submissions of the same tap.
  std::unordered_map<TapId, std::vector<Waiter>, TapIdHash> in_flight_;
  std::unordered_map<TapId, protocol::DecisionRecord, TapIdHash> recent_;
  std::deque<TapId> recent_order_;
};

}  // namespace citycard::engine
