// The engine: routes taps and admin actions to shards, owns the committer
// and the served deny list. See engine.h for the pipeline.
#include "engine.h"

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "card/crypto.h"
#include "citycard/check.h"
#include "citycard/realtime.h"
#include "access_codec.h"
#include "deny_list_store.h"
#include "deny_records.h"
#include "key_warmer.h"
#include "preload.h"
#include "realtime_yield.h"
#include "ledger/readers.h"
#include "ledger/system_accounts.h"
#include "shard.h"

namespace citycard::engine {

class Engine::Impl {
 public:
  Impl(ledger::Ledger& ledger, std::shared_ptr<const rules::RuleBook> rules, EngineOptions options, Metrics& metrics,
       Log& log)
      : ledger_(ledger),
        rules_(std::move(rules)),
        options_(std::move(options)),
        metrics_(metrics),
        log_(log),
        realtime_(std::make_shared<RealtimeThreads>(options_.realtime_priority)) {}

  // The shard that owns the card's account (media_directory.h).
  // (options_.shards: also before the shards are made, for the deny list's split.)
  std::size_t shard_of(const CardId& card) const { return shard_for(media_.account_of(card), options_.shards); }

  // A durable group moved a medium to another account: routed there from
  // now on; the shards that cached it under its old account (or under a
  // transient one, as the acting shard may) forget it.
  void move_medium(const CardId& medium, const CardId& account) {
    const std::size_t before = shard_of(medium);
    media_.set(medium, account);
    const std::size_t after = shard_of(medium);
    shards_[before]->invalidate(medium);
    if (after != before) shards_[after]->invalidate(medium);
  }

  // The storage guard's quiesce: every shard told, then waited for.
  bool quiesce_shards(const std::atomic<bool>& stopping) {
    struct Barrier {
      std::mutex mutex;
      std::condition_variable done;
      std::size_t remaining = 0;
    };
    auto barrier = std::make_shared<Barrier>();
    barrier->remaining = shards_.size();
    for (auto& shard : shards_) {
      shard->quiesce([barrier] {
        {
          std::lock_guard lock(barrier->mutex);
          --barrier->remaining;
        }
        barrier->done.notify_all();
      });
    }
    std::unique_lock lock(barrier->mutex);
    while (barrier->remaining > 0) {
      if (stopping.load(std::memory_order_acquire)) return false;
      barrier->done.wait_for(lock, std::chrono::milliseconds(100));
    }
    return true;
  }

  ledger::Ledger& ledger_;
  std::mutex rules_mutex_;
  std::shared_ptr<const rules::RuleBook> rules_;  // the newest the shards were given
  std::shared_ptr<const rules::AccessBook> access_;  // the same for the access lists (under rules_mutex_)
  const EngineOptions options_;
  Metrics& metrics_;
  Log& log_;
  net::MemoryDenyList deny_list_;
  ReaderRegistry readers_;
  MediaDirectory media_;  // medium -> account key, for routing
  std::shared_ptr<RealtimeThreads> realtime_;  // the tap path's threads (the server's network loop too)
  std::unique_ptr<RealtimeYield> realtime_yield_;  // while realtime_ has a priority and threads run
  std::unique_ptr<StorageGuard> storage_;  // before the committer and shards: they use it until they end
  std::unique_ptr<Committer> committer_;
  std::unique_ptr<KeyWarmer> key_warmer_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::mutex submit_mutex_;  // orders submissions against stop(); never held while waiting
  bool stopped_ = false;
};

Result<std::unique_ptr<Engine>> Engine::start(ledger::Ledger& ledger, const rules::RuleSet& rule_set,
                                              EngineOptions options, Metrics& metrics, Log& log) {
  return start(ledger, rules::RuleBook::single(rule_set), std::move(options), metrics, log);
}

Result<std::unique_ptr<Engine>> Engine::start(ledger::Ledger& ledger, std::shared_ptr<const rules::RuleBook> rules,
                                              EngineOptions options, Metrics& metrics, Log& log) {
  if (options.shards == 0 || options.shards > 256) return Status::invalid_argument("shards must be 1..256");
  if (options.batch_taps == 0 || options.batch_taps > limits::batch_groups_max) {
    return Status::invalid_argument("batch_taps must be 1.." + std::to_string(limits::batch_groups_max));
  }
  if (options.queue_depth < limits::batch_taps_max || options.queue_depth > (std::size_t{1} << 24)) {
    return Status::invalid_argument("queue_depth must be at least " + std::to_string(limits::batch_taps_max) +
                                    " (one wire batch) and at most 16M");
  }
  if (options.batch_wait.count() < 0 || options.batch_wait > std::chrono::seconds(1)) {
    return Status::invalid_argument("batch_wait must be 0..1 s");
  }
  if (options.require_card_proof && !options.card_keys) {
    return Status::invalid_argument(
        "card proofs are required but no card key source is configured ([card] token settings, or require_proof = false)");
  }
  if (options.overlap_taps_min == 0 || options.overlap_taps_min > limits::batch_groups_max) {
    return Status::invalid_argument("overlap_taps_min must be 1.." + std::to_string(limits::batch_groups_max));
  }
  if (options.card_cache_max == 0) {
    return Status::invalid_argument("card_cache_max must be positive");
  }
  if (options.realtime_priority != 0) {
    if (Status allowed = check_realtime_allowed(options.realtime_priority); !allowed) return allowed;
  }
  constexpr std::int64_t bound_max_us = 366 * us_per_day;
  if (options.event_time_bounds.future_skew_us < 0 || options.event_time_bounds.future_skew_us > bound_max_us ||
      options.event_time_bounds.offline_retention_us < 0 || options.event_time_bounds.offline_retention_us > bound_max_us) {
    return Status::invalid_argument("event time bounds must be 0..366 days");
  }
  auto system = ledger::find_system_accounts(ledger);
  if (!system) return system.status();
  // The deny list from the ledger's truth, not only from the engine's own
  // records: cards blocked or taken into debt without the engine are on it.
  auto denied = listed_cards_in_ledger(ledger);
  if (!denied) return denied.status();

  auto readers = ledger::load_readers(ledger);
  if (!readers) return readers.status();
  auto media = MediaDirectory::scan(ledger);
  if (!media) return media.status();

  if (!rules) return Status::invalid_argument("the engine needs a rule set");
  auto access_lists = read_access_lists(*ledger.snapshot());
  if (!access_lists) return access_lists.status();
  auto impl = std::make_unique<Impl>(ledger, rules, std::move(options), metrics, log);
  Impl* raw = impl.get();
  raw->access_ = std::make_shared<const rules::AccessBook>(std::move(*access_lists));
  log.event("access_lists_loaded", {{"roles", std::to_string(raw->access_->lists().roles.size())},
                                    {"door_groups", std::to_string(raw->access_->lists().groups.size())},
                                    {"meetings", std::to_string(raw->access_->lists().meetings.size())}});
  for (const ReaderRecord& reader : *readers) raw->readers_.put(reader);
  raw->media_.reset(std::move(*media));
  auto offline_shares = load_offline_spent(ledger, raw->readers_, raw->options_.shards);
  if (!offline_shares) return offline_shares.status();
  auto opened = open_deny_list(ledger, *denied, raw->deny_list_);
  if (!opened) return opened.status();
  log.event("deny_list_opened", {{"epoch", std::to_string(opened->epoch)},
                                 {"version", std::to_string(opened->version)},
                                 {"cards", std::to_string(opened->cards)},
                                 {"listed_while_stopped", std::to_string(opened->listed)},
                                 {"unlisted_while_stopped", std::to_string(opened->unlisted)},
                                 {"history", std::to_string(opened->history)},
                                 {"versions", opened->continued ? "continued" : "new epoch: " + opened->new_epoch_because}});
  std::vector<std::unordered_set<CardId, CardIdHash>> denied_by_shard(raw->options_.shards);
  for (const CardId& card : *denied) denied_by_shard[raw->shard_of(card)].insert(card);
  if (raw->options_.storage.recovery_interval.count() <= 0 ||
      raw->options_.storage.recovery_interval_max < raw->options_.storage.recovery_interval) {
    return Status::invalid_argument("storage recovery interval must be positive and at most its maximum");
  }
  raw->storage_ = std::make_unique<StorageGuard>(ledger, raw->options_.storage, metrics, log);
  raw->committer_ = std::make_unique<Committer>(
      ledger, metrics, log,
      [raw](std::size_t shard, std::vector<ledger::GroupOutcome> outcomes, std::vector<ledger::PostingGroup> spent) {
        raw->shards_[shard]->outcomes(std::move(outcomes), std::move(spent));
      },
      [raw](std::size_t shard) { raw->shards_[shard]->durable(); },
      [raw](std::size_t shard) { raw->shards_[shard]->voided(); },
      [raw](std::string_view stage, const Status& error, std::size_t groups) { raw->storage_->failed(stage, error, groups); },
      raw->options_.drive, raw->realtime_.get());
  for (std::size_t i = 0; i < raw->options_.shards; ++i) {
    ShardContext context{ledger,
                         rules,
                         raw->access_,
                         *system,
                         raw->options_,
                         metrics,
                         log,
                         raw->deny_list_,
                         *raw->committer_,
                         *raw->storage_,
                         raw->readers_,
                         [raw](const CardId& card) { raw->shards_[raw->shard_of(card)]->invalidate(card); },
                         raw->media_,
                         [raw](const CardId& medium, const CardId& account) { raw->move_medium(medium, account); },
                         raw->realtime_.get()};
    raw->shards_.push_back(std::make_unique<Shard>(i, std::move(context), std::move(denied_by_shard[i]),
                                                   std::move((*offline_shares)[i])));
  }
  auto preloaded = preload_cards(ledger, raw->media_, raw->shards_, raw->options_.card_keys != nullptr);
  if (!preloaded) return preloaded.status();
  log.event("cards_loaded", {{"cards", std::to_string(preloaded->cards)},
                             {"cached", std::to_string(preloaded->cached)},
                             {"states", std::to_string(preloaded->states)},
                             {"seconds", std::to_string(preloaded->seconds)}});
  // The cards to warm are read before the shards run (their card lists are theirs after).
  std::vector<Shard*> warm_shards;
  std::vector<std::vector<CardId>> warm_cards;
  if (raw->options_.card_keys && raw->options_.warm_key_version != 0 && raw->options_.drive == Drive::threads) {
    for (auto& shard : raw->shards_) {
      warm_shards.push_back(shard.get());
      warm_cards.push_back(shard->cached_card_ids());
    }
  }
  if (raw->options_.drive == Drive::threads) {
    for (auto& shard : raw->shards_) shard->start();
    // Steps: no recovery thread; the simulator reopens a ledger that failed.
    raw->storage_->start([raw](const std::atomic<bool>& stopping) { return raw->quiesce_shards(stopping); });
    if (raw->realtime_->priority() != 0) {
      raw->realtime_yield_ = std::make_unique<RealtimeYield>(
          *raw->realtime_, [&ledger] { return ledger.flush_backlog(); }, YieldThresholds{}, metrics, log);
    }
  }
  if (!warm_shards.empty()) {
    std::vector<Shard*> shards = std::move(warm_shards);
    std::vector<std::vector<CardId>> cards = std::move(warm_cards);
    raw->key_warmer_ = std::make_unique<KeyWarmer>(raw->options_.card_keys, raw->options_.warm_key_version, log);
    raw->key_warmer_->start(std::move(shards), std::move(cards));
  }
  log.event("pipeline_started", {{"shards", std::to_string(raw->options_.shards)},
                                 {"batch_taps", std::to_string(raw->options_.batch_taps)},
                                 {"batch_wait_us", std::to_string(raw->options_.batch_wait.count())},
                                 {"deny_listed", std::to_string(denied->size())},
                                 {"readers", std::to_string(raw->readers_.size())},
                                 {"card_proofs", !raw->options_.card_keys ? "not_checked" : raw->options_.require_card_proof ? "required" : "verified_when_present"}});
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() { stop(); }

void Engine::submit(ReaderId reader, std::vector<protocol::TapRecord> taps,
                    std::function<void(net::SubmitResult)> done) {
  Impl& impl = *impl_;
  if (taps.empty()) {
    done(net::SubmitResult::decided_with({}));
    return;
  }
  if (!impl.storage_->available()) {
    // Nothing is queued that could not be made durable: the reader decides
    // offline and resends, and no queue grows through the outage.
    impl.metrics_.count_storage_unavailable_taps(taps.size());
    done(net::SubmitResult::storage_unavailable(impl.storage_->retry_after_ms()));
    return;
  }
  auto pending = std::make_shared<PendingSubmit>();
  pending->retry_after_ms = impl.storage_->retry_after_ms();
  pending->decisions.resize(taps.size());
  pending->remaining.store(taps.size(), std::memory_order_relaxed);
  pending->done = std::move(done);
  pending->started = Clock::now();

  // One look at the registry and the clock per batch: every tap of a batch
  // comes from one reader (the server checked them against its certificate).
  const EventTime arrival =
      impl.options_.clock ? impl.options_.clock()
                          : EventTime{std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count()};
  const auto registry = impl.readers_.table();
  const auto media = impl.media_.table();
  const ReaderRecord* registered = ReaderRegistry::find(*registry, reader);
  std::vector<std::vector<Work>> by_shard(impl.shards_.size());
  for (std::size_t i = 0; i < taps.size(); ++i) {
    work::Tap work;
    const Tap& tap = taps[i].tap;
    work.admission.refusal = tap.id.reader != reader ? RefusalReason::reader_not_allowed : rules::reader_refusal(registered, tap);
    if (work.admission.refusal == RefusalReason::none) {
      work.admission.refusal = rules::event_time_refusal(tap, arrival, impl.options_.event_time_bounds);
    }
    work.admission.offline_max_minor = registered != nullptr ? registered->offline_max_minor : 0;
    work.admission.arrival = arrival;
    // Every medium of an account to the account's shard: one thread owns its state.
    std::size_t shard = shard_for(MediaDirectory::account_in(*media, taps[i].tap.card), impl.options_.shards);
    work.tap = std::move(taps[i]);
    work.waiter = Waiter{pending, static_cast<std::uint32_t>(i)};
    by_shard[shard].emplace_back(std::move(work));
  }
  bool taken = false;
  {
    std::lock_guard lock(impl.submit_mutex_);
    if (!impl.stopped_) {
      // Only submit() and admin() add counted work, under this mutex, and
      // shards only take it away: room seen here is still there below.
      bool fits = true;
      for (std::size_t s = 0; s < by_shard.size(); ++s) {
        if (!by_shard[s].empty() && impl.shards_[s]->depth() + by_shard[s].size() > impl.options_.queue_depth) fits = false;
      }
      if (fits) {
        for (std::size_t s = 0; s < by_shard.size(); ++s) {
          if (by_shard[s].empty()) continue;
          bool queued = impl.shards_[s]->try_queue(by_shard[s]);
          CITYCARD_CHECK(queued);
        }
        taken = true;
      }
    }
  }
  if (!taken) {
    impl.metrics_.count_busy(pending->decisions.size());
    auto finish = std::move(pending->done);
    finish(net::SubmitResult::busy(impl.options_.busy_retry_after_ms));
  }
}

void Engine::admin(AdminCommand command, std::function<void(AdminResult)> done) {
  Impl& impl = *impl_;
  // Link and merge go through the shard of the account that keeps the money.
  const bool to_other = command.action == AdminAction::link || command.action == AdminAction::merge;
  std::size_t shard = is_reader_action(command.action) ? command.reader.id.value % impl.shards_.size()
                      : to_other && !command.new_card.empty() ? impl.shard_of(command.new_card)
                                                              : impl.shard_of(command.card);
  std::vector<Work> work;
  work.emplace_back(work::Admin{std::move(command), std::move(done)});
  {
    std::lock_guard lock(impl.submit_mutex_);
    if (!impl.stopped_ && impl.storage_->available() && impl.shards_[shard]->try_queue(work)) return;
  }
  AdminResult busy;
  busy.status = impl.storage_->available()
                    ? Status::busy("the engine is busy or stopping; try again")
                    : Status::unavailable("the ledger cannot write now (storage unavailable: " +
                                          impl.storage_->state().error + "); nothing changed, try again");
  impl.metrics_.count_admin(false);
  std::get<work::Admin>(work[0]).done(busy);
}

void Engine::use_rules(std::shared_ptr<const rules::RuleBook> book) {
  CITYCARD_CHECK(book != nullptr);
  Impl& impl = *impl_;
  std::lock_guard rules_lock(impl.rules_mutex_);
  std::lock_guard lock(impl.submit_mutex_);
  impl.rules_ = book;
  if (impl.stopped_) return;
  for (auto& shard : impl.shards_) shard->use_rules(book);
}

std::shared_ptr<const rules::RuleBook> Engine::rules() const {
  std::lock_guard lock(impl_->rules_mutex_);
  return impl_->rules_;
}

void Engine::use_access(std::shared_ptr<const rules::AccessBook> book) {
  CITYCARD_CHECK(book != nullptr);
  Impl& impl = *impl_;
  std::lock_guard rules_lock(impl.rules_mutex_);
  std::lock_guard lock(impl.submit_mutex_);
  impl.access_ = book;
  if (impl.stopped_) return;
  for (auto& shard : impl.shards_) shard->use_access(book);
}

std::shared_ptr<const rules::AccessBook> Engine::access() const {
  std::lock_guard lock(impl_->rules_mutex_);
  return impl_->access_;
}

void Engine::reload_cards(const std::vector<CardId>& cards) {
  for (const CardId& card : cards) impl_->shards_[impl_->shard_of(card)]->invalidate(card);
}

net::MemoryDenyList& Engine::deny_list() noexcept { return impl_->deny_list_; }

std::shared_ptr<RealtimeThreads> Engine::realtime_threads() const { return impl_->realtime_; }

const ReaderRegistry& Engine::readers() const noexcept { return impl_->readers_; }

std::size_t Engine::card_keys_warmed() const noexcept { return impl_->key_warmer_ ? impl_->key_warmer_->derived() : 0; }

std::uint64_t Engine::last_sequence(ReaderId reader) const {
  return impl_->ledger_.highest_sequence(Origin::tap, reader.value);
}

StorageState Engine::storage() const { return impl_->storage_->state(); }

PipelineStats Engine::stats() const {
  PipelineStats stats;
  for (const auto& shard : impl_->shards_) {
    stats.shard_queue_depths.push_back(shard->depth());
    stats.cards_cached += shard->cards_cached();
  }
  stats.committer_queue_depth = impl_->committer_ ? impl_->committer_->depth() : 0;
  return stats;
}

bool Engine::turn_shard(std::size_t shard, bool window_over) {
  CITYCARD_CHECK(impl_->options_.drive == Drive::steps && shard < impl_->shards_.size());
  return impl_->shards_[shard]->turn(window_over);
}

Result<bool> Engine::turn_prepare() { return impl_->committer_->turn_prepare(); }

Result<bool> Engine::turn_commit() { return impl_->committer_->turn_commit(); }

std::size_t Engine::shard_count() const noexcept { return impl_->shards_.size(); }

bool Engine::idle() const {
  for (const auto& shard : impl_->shards_) {
    if (!shard->idle()) return false;
  }
  return impl_->committer_->depth() == 0 && impl_->committer_->prepared_waiting() == 0;
}

void Engine::stop() {
  Impl& impl = *impl_;
  // Stepped, a prepared write waiting would wait for this thread forever
  // (the deny list's save waits for it): turn the pipeline idle first.
  CITYCARD_CHECK(impl.committer_->prepared_waiting() == 0);
  {
    std::lock_guard lock(impl.submit_mutex_);
    if (impl.stopped_) return;
    impl.stopped_ = true;
  }
  if (impl.key_warmer_) impl.key_warmer_->stop();
  if (impl.realtime_yield_) impl.realtime_yield_->stop();
  // A recovery under way is left: the next start opens the ledger afresh.
  impl.storage_->stop();
  for (auto& shard : impl.shards_) shard->stop();
  impl.committer_->stop();
  // Every change is durable and served: readers' versions stay good across
  // the restart (deny_list_store.h).
  if (Status saved = save_deny_list(impl.ledger_, impl.deny_list_); saved) {
    impl.log_.event("deny_list_saved", {{"version", std::to_string(impl.deny_list_.current_version())}});
  } else {
    impl.log_.event("deny_list_save_failed", {{"error", saved.to_string()}});
  }
  impl.log_.event("pipeline_stopped", {{"taps", std::to_string(impl.metrics_.taps_total())}});
}

}  // namespace citycard::engine
