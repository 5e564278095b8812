// One shard: a thread that owns the state of the accounts hashed to it (see
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
#include <variant>
#include <vector>

#include "admin_command.h"
#include "card/crypto.h"
#include "card_book.h"
#include "card_table.h"
#include "committer.h"
#include "engine.h"
#include "group_builder.h"
#include "hashing.h"
#include "inbox.h"
#include "ledger/system_accounts.h"
#include "reader_registry.h"
#include "storage_guard.h"

namespace citycard::engine {

using Clock = std::chrono::steady_clock;

// One submitted batch, answered when every tap of it is decided -- or, if
// any of its taps could not be made durable, answered storage_unavailable
// as a whole (the reader resends it; those that were durable are replayed).
struct PendingSubmit {
  std::vector<protocol::DecisionRecord> decisions;
  std::atomic<std::size_t> remaining{0};
  std::atomic<bool> storage_unavailable{false};
  std::uint32_t retry_after_ms = 0;  // the hint sent with storage_unavailable
  std::function<void(net::SubmitResult)> done;
  Clock::time_point started;
};

struct Waiter {
  std::shared_ptr<PendingSubmit> submit;
  std::uint32_t index = 0;
};

// Offline money per (reader, business day).
using OfflineShares = std::map<std::pair<std::uint32_t, std::int32_t>, std::int64_t>;

// What a shard's inbox carries: one of these.
namespace work {
struct Tap {
  protocol::TapRecord tap;
  Waiter waiter;
  Admission admission;
};
struct Admin {
  AdminCommand command;
  std::function<void(AdminResult)> done;
};
struct Outcomes {                 // the committer's word on the batch handed over
  std::vector<ledger::GroupOutcome> outcomes;
  std::vector<ledger::PostingGroup> spent;  // its groups, prepared: freed on the shard's thread
};
struct Durable {};                // the oldest batch told its outcomes is durable
struct Voided {};                 // the oldest batch handed over will never be durable (storage_guard.h)
struct Quiesce {                  // answer everything held retry_later, forget the cards, then call done
  std::function<void()> done;
};
struct Invalidate {               // another shard changed this card's balances
  CardId card;
};
struct CardKeys {                 // derived ahead of the cards' taps (KeyWarmer)
  std::uint8_t key_version = 0;
  std::vector<std::pair<CardId, card::CardKey>> keys;
};
struct Rules {                    // a rule set version was loaded: rate later taps by this book
  std::shared_ptr<const rules::RuleBook> book;
};
struct Access {                   // the access lists changed: check later identity taps by these
  std::shared_ptr<const rules::AccessBook> book;
};
struct Stop {};
}  // namespace work
using Work = std::variant<work::Tap, work::Admin, work::Outcomes, work::Durable, work::Voided, work::Quiesce,
                          work::Invalidate, work::CardKeys, work::Rules, work::Access, work::Stop>;

struct ShardContext {
  ledger::Ledger& ledger;
  std::shared_ptr<const rules::RuleBook> rules;  // at start; later ones come as work::Rules
  std::shared_ptr<const rules::AccessBook> access;  // at start; later ones come as work::Access
  ledger::SystemAccounts system;
  const EngineOptions& options;
  Metrics& metrics;
  Log& log;
  net::MemoryDenyList& deny_list;
  Committer& committer;
  const StorageGuard& storage;
  ReaderRegistry& readers;
  // Tells the shard that owns `card` to drop its cached state (another
  // shard's group changed that card's balances).
  std::function<void(const CardId&)> invalidate_elsewhere;
  // Which account each medium belongs to (the engine routes by it).
  const MediaDirectory& media;
  // A durable group moved `medium` to `account` (link, unlink, merge,
  // replace): the directory is told, and the shards it was and is routed
  // to forget it.
  std::function<void(const CardId& medium, const CardId& account)> media_moved;
  // The real-time set the shard's thread joins (none: ordinary scheduling).
  RealtimeThreads* realtime = nullptr;
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
  // Drive::steps, instead of start(): one turn of the shard's loop on the
  // caller's thread. Takes everything queued, then hands over the staged
  // batch if it may and it is full or `window_over` (in the threaded loop:
  // its oldest tap has waited batch_wait). true if it did anything.
  bool turn(bool window_over);

  // All or nothing; false when the queue is full.
  bool try_queue(std::vector<Work>& work) { return inbox_.try_push_counted(work); }
  // The committer's word on the batch handed over: its outcomes (decided,
  // not yet durable), then that the oldest batch told so is durable.
  void outcomes(std::vector<ledger::GroupOutcome> outcomes, std::vector<ledger::PostingGroup> spent);
  void durable();
  // The storage failed (storage_guard.h): the oldest batch handed over is
  // void, its taps answered retry_later. While the storage is unavailable
  // the shard rates nothing and hands nothing over: taps are answered
  // retry_later, card-office actions `unavailable`.
  void voided();
  // Once nothing of this shard is in the committer: answers what it holds
  // retry_later, forgets every cached card (they are read again from the
  // recovered ledger on their next use) and calls `done`, on its thread.
  void quiesce(std::function<void()> done);
  void invalidate(const CardId& card);
  // Taps taken after this are rated by `book` (work queued before, too:
  // each tap picks its version by its own event time, so the order of a
  // load against the taps does not change which version rates a tap).
  void use_rules(std::shared_ptr<const rules::RuleBook> book);
  // Identity taps taken after this are checked against these access lists.
  void use_access(std::shared_ptr<const rules::AccessBook> book);
  // Card keys derived ahead of use (KeyWarmer); a card that has one already,
  // or is no longer cached, is left as it is.
  void warm_keys(std::uint8_t key_version, std::vector<std::pair<CardId, card::CardKey>> keys);
  // Before start(): the cards preloaded, in load order.
  std::vector<CardId> cached_card_ids() const { return book_.ids_in_load_order(); }
  // Drains what is queued, then ends the thread.
  void stop();

  std::size_t depth() const { return inbox_.depth(); }
  // Drive::steps: nothing queued, staged, or handed over and not yet durable.
  bool idle() const {
    return inbox_.empty() && staged_.empty() && !commit_in_flight_ && awaiting_.empty();
  }
  std::size_t cards_cached() const noexcept { return book_.cached_count(); }

 private:
  // This shard's share of each reader's offline money per business day,
  // beside the registry's total (what a tap rated offline spends).
  class OfflineMoney final : public OfflineAllowance {
   public:
    OfflineMoney(ReaderRegistry& readers, std::size_t shard, OfflineShares shares)
        : readers_(readers), shard_(shard), shares_(std::move(shares)) {}
    std::optional<ledger::RecordWrite> try_spend(ReaderId reader, std::int32_t day, std::int64_t amount,
                                                 std::int64_t limit) override;
    void give_back(ReaderId reader, std::int32_t day, std::int64_t amount) override;

   private:
    ReaderRegistry& readers_;
    std::size_t shard_;
    OfflineShares shares_;
  };

  // One staged or committing unit of work: one posting group.
  struct Item : Draft {
    enum class Kind : std::uint8_t {
      tap,             // rated here
      refusal_record,  // a tap whose rated group the ledger rejected: record it refused
      admin,
      reader_admin,    // a registration change: no card, no money
      admin_refusal,   // a card-office request refused: its audit entry only (refusals.h)
    };
    Kind kind = Kind::tap;
    Waiter waiter;
    std::function<void(AdminResult)> admin_done;
  };

  void run();
  // Nothing handed over is waiting for outcomes or durability.
  bool may_hand_over() const;
  bool maybe_hand_over(bool window_over);
  std::size_t taps_worth_waking_for() const;
  // Accepts each in order, the card data of the taps ahead hinted into the
  // cache (CardBook::prefetch_ahead).
  void accept_all(std::vector<Work>& work);
  void accept(Work& work);
  void accept_tap(work::Tap& work);
  void accept_admin(work::Admin& work);
  void hand_over();
  // A batch whose outcomes are known, waiting to be durable.
  struct Decided {
    std::vector<Item> items;
    std::vector<ledger::GroupOutcome> outcomes;
    bool clean = true;  // no outcome invalidates a card's speculative state
  };
  void decided(std::vector<ledger::GroupOutcome>& outcomes);
  void settle(Decided& batch);
  void settle_admin(Item& item, const ledger::GroupOutcome& outcome, std::vector<CardId>& reload);
  // After the builder: an action whose group records its refusal becomes
  // an admin_refusal, staged like any action and answered once durable.
  static void mark_refusal(Item& item);
  void recycle(std::vector<Item> items);
  static bool invalidates(const Item& item, const ledger::GroupOutcome& outcome);
  static bool answerable_early(const Item& item);
  // Answers the tap's later submissions (and the first, unless the
  // committing thread already did), and forgets it as in flight.
  void finish_tap(Item& item, const protocol::DecisionRecord& decision, bool replayed, bool first_answered);
  void answer(const Waiter& waiter, const protocol::DecisionRecord& decision, Mode mode);
  void answer_admin(Item& item, const AdminResult& result);
  // Storage failures (storage_guard.h).
  bool storage_available() const noexcept { return context_.storage.available(); }
  void void_items(std::vector<Item>& items);
  void void_staged();
  void maybe_quiesced();
  // Reader registration changes (shard_readers.cpp).
  void build_reader_admin(Item& item);
  void settle_reader_admin(Item& item, const ledger::GroupOutcome& outcome);
  // The registration a reader action sees: this shard's not yet durable
  // change of it, else the registry's.
  std::optional<ReaderRecord> reader_now(ReaderId reader) const;
  // A tap's decision when the engine cannot make one (a ledger read failed,
  // a stored decision is unreadable): refused internal, logged, not recorded.
  void answer_internal(work::Tap& work, const char* what, const Status& error);
  // Forgets a card's account's cached state if nothing of it is in flight.
  void drop_if_idle(const CardId& card);

  std::size_t index_;
  ShardContext context_;
  Inbox<Work> inbox_;
  std::thread thread_;
  bool stopping_ = false;

  CardBook book_;
  OfflineMoney offline_;
  GroupBuilder builder_;

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
  struct InFlight {
    bool offline = false;              // how the first submission came
    std::vector<Waiter> resends;       // answered with the first's decision
    // Offline uploads of a tap first submitted online: rated once the first
    // is durable (refused online, it may be charged as service given).
    std::vector<work::Tap> uploads;
  };
  TapTable<InFlight> in_flight_;
  std::vector<work::Tap> uploads_ready_;  // uploads whose first submission became durable
  std::vector<std::function<void()>> quiesce_waiters_;
  // Reader actions staged or committing: reader id -> (registration, count).
  std::unordered_map<std::uint32_t, std::pair<ReaderRecord, std::uint32_t>> readers_pending_;
};

}  // namespace citycard::engine
