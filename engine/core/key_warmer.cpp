#include "key_warmer.h"

#include <chrono>

#include "citycard/thread_name.h"

namespace citycard::engine {
namespace {
constexpr std::size_t chunk_cards = 256;
}  // namespace

void KeyWarmer::start(std::vector<Shard*> shards, std::vector<std::vector<CardId>> cards) {
  if (!keys_ || key_version_ == 0 || thread_.joinable()) return;
  thread_ = std::thread([this, shards = std::move(shards), cards = std::move(cards)]() mutable {
    name_this_thread("cc-key-warmer");
    // Not at a lower CPU priority: a warmer preempted while holding the
    // token's session would stall a shard waiting for a key. It takes the
    // session only when no shard wants it (card_key_when_idle), so a shard
    // waits at most one derivation.
    run(std::move(shards), std::move(cards));
  });
}

void KeyWarmer::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void KeyWarmer::run(std::vector<Shard*> shards, std::vector<std::vector<CardId>> cards) {
  const auto started = std::chrono::steady_clock::now();
  std::size_t failed = 0;
  std::vector<std::size_t> next(shards.size(), 0);
  bool more = true;
  while (more && !stopping_) {
    more = false;
    for (std::size_t s = 0; s < shards.size() && !stopping_; ++s) {
      std::vector<std::pair<CardId, card::CardKey>> chunk;
      for (; next[s] < cards[s].size() && chunk.size() < chunk_cards && !stopping_; ++next[s]) {
        auto key = keys_->card_key_when_idle(key_version_, cards[s][next[s]]);
        if (key) {
          chunk.emplace_back(cards[s][next[s]], *key);
        } else {
          ++failed;  // the shard derives it again on the card's first proof, and refuses the tap if that fails too
        }
      }
      more = more || next[s] < cards[s].size();
      if (chunk.empty()) continue;
      const std::size_t count = chunk.size();
      shards[s]->warm_keys(key_version_, std::move(chunk));
      derived_ += count;  // counted once handed to the shard
    }
  }
  log_.event("card_keys_warmed", {{"cards", std::to_string(derived_.load())},
                                  {"failed", std::to_string(failed)},
                                  {"key_version", std::to_string(key_version_)},
                                  {"stopped_early", stopping_ ? "yes" : "no"},
                                  {"seconds", std::to_string(std::chrono::duration<double>(
                                                  std::chrono::steady_clock::now() - started).count())}});
}

}  // namespace citycard::engine
