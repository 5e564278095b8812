// The engine's processing pipeline: a net::TapSink that rates taps in shards
// and makes them durable with group commit before answering.
//
// Threads and who owns what:
// - submit() runs on the tap server's loop thread. It splits a batch by
//   account (shard = hash(account key) % shards: every medium of an account
//   goes to one shard, media_directory.h), and either queues every tap or none
//   (busy: a shard queue is full, limits::queue_depth_max by default). It
//   never blocks.
// - Each shard is one thread that alone owns its accounts' state: the card
//   records, each account's encoded rules::CardState (speculative: it includes taps not
//   yet durable), mirrors of the card accounts' balances and the taps in
//   flight. No locks on that state. The cards are loaded at start, in one
//   pass over the ledger (up to card_cache_max per shard).
//   A shard collects taps for up to batch_taps taps or batch_wait, rates them
//   in arrival order with rules::rate, builds one ledger::PostingGroup per
//   tap (key = the tap id; the new card state; the encoded decision as the
//   group's outcome) and hands the batch to the committer. While the
//   committer prepares and syncs batch k the shard keeps collecting and
//   rating batch k+1 against its speculative state; it hands k+1 over as
//   soon as k's outcomes are known.
// - The committer (two threads) merges what every shard handed over in one
//   turn, has the ledger prepare it (Ledger::prepare: outcomes decided),
//   tells each shard its outcomes, and commits it (one synced WriteBatch)
//   while the next turn is being prepared; then tells each shard its batch
//   is durable.
// - A failed write (a full disk, a failed sync) stops taking taps, not the
//   process (storage_guard.h): the batches it voids are answered retry_later
//   (storage_unavailable), so is every tap until the ledger recovers, and
//   card-office writes are refused `unavailable`; reads, the deny list and
//   hello go on. The guard quiesces the shards (they forget their cards'
//   speculative state), has the ledger recover with backoff, and then taps
//   are taken again, each card read afresh from the ledger on its next use.
// - The shard answers when told durable: a decision is sent only when its
//   tap is durable. A group the ledger rejected (the balance mirror
//   disagreed with a floor or ceiling) is answered refused, recorded as
//   refused, and the card's state reloaded from the ledger (its taps rated
//   meanwhile are rated again) once nothing before it is in flight.
// - A tap id seen before is answered with its stored decision, flagged
//   replayed, and is not rated again: a tap in flight waits for its first
//   decision; otherwise the ledger's idempotency entry (looked up only below
//   the reader's high-water mark) holds it.
//
// The deny list (blocked, lost, replaced and indebted cards) is kept in a
// MemoryDenyList. At start it is derived from the ledger's truth (card
// status, wallet below zero: deny_records.h), so what changed while the
// engine was stopped is on it; its versions carry on from the last clean
// stop, or start a new epoch (deny_list_store.h). While running, every
// group that changes a card's listing writes its "deny/<card>" record
// atomically with the change, and the shard applies it to the served list
// once durable. stop() saves the list's version and history.
//
// stop() drains: every tap already queued is decided, made durable and
// answered; then the threads end. Call the tap server's stop() first.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "access_lists.h"
#include "admin_command.h"
#include "admission.h"
#include "drive.h"
#include "citycard/limits.h"
#include "citycard/realtime.h"
#include "citycard/status.h"
#include "engine/net/memory_deny_list.h"
#include "engine/net/tap_sink.h"
#include "ledger/ledger.h"
#include "log.h"
#include "metrics.h"
#include "reader_registry.h"
#include "rule_book.h"
#include "rule_set.h"
#include "storage_guard.h"

namespace citycard::card {
class CardKeySource;
}

namespace citycard::engine {

struct EngineOptions {
  // Shards, each one thread owning the cards hashed to it. Default 1.
  std::size_t shards = 1;
  // A shard hands a batch to the committer when it holds this many taps
  // (soft: while a commit is in flight, more are collected). Default 2048.
  std::size_t batch_taps = 2048;
  // ... or when the oldest collected tap has waited this long. Default 1 ms:
  // at the city's 5k taps/s, 200 us made a synced write of ~3 taps (1 900
  // fsyncs/s) and a p99 of 18-20 ms; 1 ms makes ~7 (660/s), p99 4-8 ms,
  // for 0.4 ms more at the median (bench/README.md, "Sustained load").
  std::chrono::microseconds batch_wait{1000};
  // A shard hands over its next batch while the last one is still syncing
  // only when it holds at least this many taps; with fewer it waits for the
  // sync, so under light load batches grow instead of syncs multiplying
  // (each costs an fsync). Default 128.
  std::size_t overlap_taps_min = 128;
  // Taps and admin requests waiting per shard; more are refused busy.
  // Default limits::queue_depth_max (65536).
  std::size_t queue_depth = limits::queue_depth_max;
  // Card states kept in memory per shard; idle ones beyond it are dropped
  // and reloaded from the ledger when needed. Default 2 000 000: the city's
  // 1.3M cards fit one shard.
  std::size_t card_cache_max = 2'000'000;
  // Retry hint given with busy, milliseconds. Default 50.
  std::uint32_t busy_retry_after_ms = 50;
  // Where card keys come from: a PKCS#11 token (token::TokenKeySource: each
  // card's key derived in the token on its first proof, then kept in the
  // shard's memory only). When set, every proof is verified over the whole
  // tap (card::verify_tap_proof) and its counter must be new for the card
  // (atc_window.h); a tap that fails, or whose key cannot be had (unknown
  // key version, token error: logged), is refused card_not_genuine and moves
  // no money. Must be thread-safe (shards share it). Default: none.
  std::shared_ptr<card::CardKeySource> card_keys;
  // Refuse (card_not_genuine) taps that carry no proof. Needs card_keys.
  // Default true; tests that are not about proofs turn it off.
  bool require_card_proof = true;
  // Derive the preloaded cards' keys of this master key version in the
  // background after start (key_warmer.h), so first taps after a restart do
  // not wait for the token. 0: do not. Default 0; citycard-engine sets the
  // token's newest version unless card.warm_keys = false.
  std::uint8_t warm_key_version = 0;
  // A tap dated further ahead of its arrival than future_skew, or older than
  // offline_retention, is refused event_time_invalid (an upload is also kept
  // for review). Defaults 5 minutes and 7 days (rules/admission.h).
  rules::EventTimeBounds event_time_bounds;
  // Four eyes: a refund of more than this waits for a second supervisor's
  // approval (engine/groups/approvals.h); 0: every refund is carried out at
  // once. TWD minor units. Default limits::four_eyes_minor_default (1000);
  // [admin] four_eyes_minor in the config.
  std::int64_t four_eyes_minor = limits::four_eyes_minor_default;
  // The engine's wall clock, read once per submitted batch for the bounds
  // above. Default (empty): the system clock. Simulations set their own.
  std::function<EventTime()> clock;
  // How the engine retries a ledger that stopped taking writes
  // (storage_guard.h). Defaults: from 1 s, doubling up to 30 s.
  StorageOptions storage;
  // Write a record of every decided tap (tap_records.h) in the same group
  // as its decision. Default true; false exists only as the baseline of
  // bench_engine --records (what the records cost): the configuration has
  // no key for it, and an engine without records breaks the promise
  // that every decided tap is on record.
  bool record_taps = true;
  // Who runs the shards and the committer (drive.h). Default threads; steps:
  // none, the caller turns them (turn_shard, turn_prepare, turn_commit), no
  // keys are warmed in the background and no thread recovers the storage.
  Drive drive = Drive::threads;
  // SCHED_FIFO priority (1..99) for the threads a tap waits on: the shards,
  // prepare and commit (and the network loop, given realtime_threads() in
  // ServerOptions). 0: the ordinary scheduler (default). Needs root or
  // CAP_SYS_NICE; start() says so if it is not allowed
  // (include/citycard/realtime.h). While RocksDB's flushes fall behind, the
  // threads run at the ordinary priority (realtime_yield.h): on a host short
  // of CPU they would starve the flushes (bench/README.md, "Real-time scheduling").
  int realtime_priority = 0;
};

struct PipelineStats {
  std::vector<std::size_t> shard_queue_depths;
  std::size_t committer_queue_depth = 0;
  std::size_t cards_cached = 0;
};

class Engine final : public net::TapSink {
 public:
  // Starts the shard and committer threads on an open, writable ledger that
  // has the system accounts. The ledger, metrics and log must outlive the
  // Engine; the rule book is shared. invalid_argument for unusable options; the ledger's
  // error if the deny list cannot be loaded or its start written.
  static Result<std::unique_ptr<Engine>> start(ledger::Ledger& ledger, std::shared_ptr<const rules::RuleBook> rules,
                                               EngineOptions options, Metrics& metrics, Log& log);
  // One version rating every tap (tools and tests).
  static Result<std::unique_ptr<Engine>> start(ledger::Ledger& ledger, const rules::RuleSet& rule_set,
                                               EngineOptions options, Metrics& metrics, Log& log);
  ~Engine() override;  // stop()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Every tap is checked against its reader's registration and its event
  // time bounds first (rules/admission.h); a tap that fails is recorded
  // refused (reader_not_allowed, event_time_invalid) like any decision.
  void submit(ReaderId reader, std::vector<protocol::TapRecord> taps,
              std::function<void(net::SubmitResult)> done) override;
  // The highest sequence the ledger holds for the reader (told at hello).
  std::uint64_t last_sequence(ReaderId reader) const override;

  // Queues a card-office action on the shard of the card's account (link
  // and merge: of new_card's, the account that keeps the money; a reader
  // action on the shard of its reader id); done is called once,
  // from a shard thread, when it is durable (or refused). busy when the
  // shard's queue is full. Never blocks.
  void admin(AdminCommand command, std::function<void(AdminResult)> done);
  // Balances of these cards moved outside their shards (a transfers import):
  // each shard reads them from the ledger again before their next tap, or
  // once the groups it has in flight for them are settled.
  void reload_cards(const std::vector<CardId>& cards);
  // A rule set version was installed (rule_desk.h): taps are rated by this
  // book from now on, each by the version of its own business day.
  void use_rules(std::shared_ptr<const rules::RuleBook> book);
  std::shared_ptr<const rules::RuleBook> rules() const;
  // The access lists changed (access_desk.h): identity taps at doors and
  // meeting rooms are checked against this book from now on. At start the
  // engine reads the ledger's lists (access_codec.h).
  void use_access(std::shared_ptr<const rules::AccessBook> book);
  std::shared_ptr<const rules::AccessBook> access() const;

  net::MemoryDenyList& deny_list() noexcept;
  // The tap path's real-time set (priority 0 when realtime_priority is 0),
  // for the server's network loop to join (ServerOptions::realtime).
  std::shared_ptr<RealtimeThreads> realtime_threads() const;
  // The registrations taps are checked against (changed by reader actions).
  const ReaderRegistry& readers() const noexcept;
  // Card keys the background warmer has handed to the shards (key_warmer.h).
  std::size_t card_keys_warmed() const noexcept;
  PipelineStats stats() const;
  // Whether the ledger takes writes, and since when it has not (storage_guard.h).
  StorageState storage() const;

  // Drive::steps only, all on the caller's one thread (see drive.h).
  // A shard takes what is queued for it and hands over its staged batch when
  // it may and `window_over` (the batch window the threaded shard times);
  // true if it did anything.
  bool turn_shard(std::size_t shard, bool window_over);
  // The committer's stages (committer.h): prepare what the shards handed
  // over; commit the prepared writes waiting (one synced write), then answer
  // their taps. false:
  // nothing to do. An error is a failed ledger write, which the threaded
  // engine recovers from in place (storage_guard.h): here the caller keeps
  // calling turn_commit() until it returns false (each later write fails
  // too; their taps are answered retry_later), then may destroy the engine
  // and the ledger, which recovers on reopening.
  Result<bool> turn_prepare();
  Result<bool> turn_commit();
  std::size_t shard_count() const noexcept;
  // Nothing queued, staged or in the committer: stop() would save at once.
  bool idle() const;

  // Drains and ends the threads, then saves the deny list's version and
  // history (deny_list_store.h); idempotent. Submissions after stop() are
  // answered busy.
  void stop();

  class Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace citycard::engine
