// A DenyListSource held in memory: the current set plus a bounded history of
// changes, so readers get small deltas. Usable by the engine as the served
// copy of the ledger's deny list (fed by whoever blocks cards) and by tests.
//
// Thread-safe: add/remove from any thread, reads from the server's loop.
// Every add/remove of a card that changes the set makes a new version.
// History: the last history_max changes; a reader further behind gets a full
// snapshot.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <set>

#include "engine/net/tap_sink.h"

namespace citycard::net {

class MemoryDenyList final : public DenyListSource {
 public:
  explicit MemoryDenyList(std::size_t history_max = 100'000) : history_max_(history_max) {}

  // Both return the version after the call (unchanged if the set was).
  std::uint64_t add(const CardId& card);
  std::uint64_t remove(const CardId& card);

  std::uint64_t current_version() const override;
  protocol::DenyListDelta delta_since(std::uint64_t from_version, std::size_t cards_max) const override;

 private:
  struct Change {
    std::uint64_t version;  // the version this change made
    CardId card;
    bool added;
  };
  protocol::DenyListDelta snapshot(std::size_t cards_max) const;

  mutable std::mutex mutex_;
  std::size_t history_max_;
  std::uint64_t version_ = 0;
  std::set<CardId> cards_;
  std::deque<Change> history_;  // versions (version_ - history_.size(), version_]
};

}  // namespace citycard::net
