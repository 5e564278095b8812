// A DenyListSource held in memory: the current set plus a bounded history of
// changes, so readers get small deltas, and snapshots served in pages.
// Usable by the engine as the served copy of the ledger's deny list (fed by
// whoever blocks cards) and by tests.
//
// Thread-safe: add/remove/restore from any thread, reads from the server's
// loop. Every add/remove of a card that changes the set makes a new version
// (the last one + 1). History: the last history_max changes; a reader
// further behind gets a full snapshot.
//
// Snapshot pages: a snapshot at version S is served in pages of ascending
// card order (CardId's operator<). A page after card X of snapshot S is
// answered from the current set when S is current, and rebuilt from the set
// and the history when changes were made since S (the membership at S of a
// card changed since is the opposite of its first change after S). Once S
// has left the history the snapshot cannot be continued; the request is then
// answered as one without a snapshot (docs/protocol.md, "Deny list").
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <vector>

#include "citycard/status.h"
#include "engine/net/tap_sink.h"

namespace citycard::net {

class MemoryDenyList final : public DenyListSource {
 public:
  // Default history: 100,000 changes.
  explicit MemoryDenyList(std::size_t history_max = 100'000) : history_max_(history_max) {}

  struct Change {
    std::uint64_t version = 0;  // the version this change made
    CardId card;
    bool added = false;
    bool operator==(const Change&) const = default;
  };
  // Everything the list serves, for saving it and restoring it elsewhere.
  struct Contents {
    std::uint64_t version = 0;
    std::vector<CardId> cards;    // ascending
    std::vector<Change> history;  // oldest first, versions consecutive, the last one == version
  };

  // Both return the version after the call (unchanged if the set was).
  std::uint64_t add(const CardId& card);
  std::uint64_t remove(const CardId& card);

  // Replaces everything. invalid_argument (and nothing changes) when the
  // history's versions are not consecutive up to `version`, a change does
  // not flip its card's membership, or a card id is empty. History beyond
  // history_max is dropped from the old end.
  Status restore(Contents contents);
  Contents contents() const;

  std::uint64_t current_version() const override;
  std::size_t size() const;
  protocol::DenyListDelta answer(const protocol::DenyListRequest& request, std::size_t cards_max) const override;

  // The net changes from from_version (see DenyListSource); the first page of
  // a full snapshot when from_version is 0 or not in the history.
  protocol::DenyListDelta delta_since(std::uint64_t from_version, std::size_t cards_max) const;
  // The page after `after` of the snapshot at snapshot_version (flag_page);
  // delta_since(from_version) when that snapshot can no longer be rebuilt.
  protocol::DenyListDelta snapshot_page(std::uint64_t snapshot_version, const CardId& after,
                                        std::uint64_t from_version, std::size_t cards_max) const;

 private:
  protocol::DenyListDelta delta_locked(std::uint64_t from_version, std::size_t cards_max) const;
  protocol::DenyListDelta first_page_locked(std::size_t cards_max) const;
  std::uint64_t oldest_known_locked() const { return version_ - history_.size(); }
  void record_locked(const CardId& card, bool added);

  mutable std::mutex mutex_;
  std::size_t history_max_;
  std::uint64_t version_ = 0;
  std::set<CardId> cards_;
  std::deque<Change> history_;  // versions (version_ - history_.size(), version_]
};

}  // namespace citycard::net
