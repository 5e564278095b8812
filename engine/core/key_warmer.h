// Derives the preloaded cards' keys in the token ahead of their first taps.
// A card's key otherwise comes from the token on its first proof, on the
// shard's thread (~40-80 us in SoftHSM2): after a restart every card's first
// tap pays it, which held a 1.3M-card engine to ~18k taps/s for a minute and
// a city-day demo at 20k taps/s to a p99 of ~200 ms. One thread derives
// them in chunks, giving the token way to any shard that needs a key now
// (card_key_when_idle), and hands them to the shards; newest master key
// version only (a card of an older version derives its own on its first
// proof).
//
// Threading: start() after the shards started; stop() (or the destructor)
// before they stop. The key source must be thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "card/crypto.h"
#include "log.h"
#include "shard.h"

namespace citycard::engine {

class KeyWarmer {
 public:
  KeyWarmer(std::shared_ptr<card::CardKeySource> keys, std::uint8_t key_version, Log& log)
      : keys_(std::move(keys)), key_version_(key_version), log_(log) {}
  ~KeyWarmer() { stop(); }
  KeyWarmer(const KeyWarmer&) = delete;
  KeyWarmer& operator=(const KeyWarmer&) = delete;

  // cards[i]: the cards shard i preloaded.
  void start(std::vector<Shard*> shards, std::vector<std::vector<CardId>> cards);
  void stop();
  // Keys handed to the shards so far.
  std::size_t derived() const noexcept { return derived_.load(std::memory_order_relaxed); }

 private:
  void run(std::vector<Shard*> shards, std::vector<std::vector<CardId>> cards);

  std::shared_ptr<card::CardKeySource> keys_;
  std::uint8_t key_version_;
  Log& log_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> derived_{0};
  std::thread thread_;
};

}  // namespace citycard::engine
