// The reader's copy of the deny list: cards to refuse while offline.
// Versioned; kept current by deltas from the engine; persisted so a reader
// that boots without coverage still refuses blocked cards.
//
// A full snapshot larger than one frame comes in pages (docs/protocol.md,
// "Deny list"): they are held apart, in memory, and replace the list only
// with the last one, so a reader cut off mid-snapshot keeps its old list
// whole (and may continue the snapshot later, from position()). A restarted
// reader starts the snapshot over.
//
// file  := magic:"CCD1" version:u64be count:u32be entry[count] crc:u32be   (CRC-32 of all before it)
// entry := length:u8 card_id[length]
//
// Not thread-safe: the agent's loop owns it.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "citycard/ids.h"
#include "citycard/status.h"

namespace citycard::agent {

// What the engine sends: the changes from from_version to to_version, or with
// replaces_all the whole list (added) at to_version -- or, with more, its
// first page, and with page a later one.
struct DenyListDelta {
  std::uint64_t from_version = 0;
  std::uint64_t to_version = 0;
  bool replaces_all = false;
  std::vector<CardId> added;
  std::vector<CardId> removed;
  bool more = false;   // the engine has further changes or pages: ask again from position()
  bool page = false;   // the next cards (ascending) of the snapshot at to_version
};

// Where the next request starts: the complete list's version and, while a
// snapshot is being received, its version and the last card received.
struct DenyListPosition {
  std::uint64_t version = 0;
  std::uint64_t snapshot_version = 0;  // 0: no snapshot in progress
  CardId after;                        // the snapshot's last card so far
  bool operator==(const DenyListPosition&) const = default;
};

class DenyList {
 public:
  // Most cards the list holds; a delta that would exceed it is refused.
  // Default 2,000,000 (more than every card of the city).
  static constexpr std::size_t cards_max = 2'000'000;

  // Loads path if it exists, else an empty list at version 0.
  static Result<DenyList> open(const std::string& path);

  bool contains(const CardId& card) const { return cards_.count(card) != 0; }
  std::uint64_t version() const noexcept { return version_; }
  std::size_t size() const noexcept { return cards_.size(); }
  DenyListPosition position() const;
  // Cards received of the snapshot in progress (0 if none).
  std::size_t snapshot_cards() const noexcept { return pending_cards_.size(); }

  // Applies delta and persists the result atomically:
  // - a delta from this list's version: applied;
  // - a full list in one part: replaces the list;
  // - the first page of a full list (replaces_all with more): starts a
  //   snapshot in progress (any earlier one is dropped); the list is untouched;
  // - a page: added to the snapshot in progress; the last one (without more)
  //   replaces the list with the whole snapshot.
  // invalid_argument, and nothing changes, if a delta does not start at this
  // list's version (ask for a full list), if it goes backwards (a full list
  // may: it is the engine's whole set, whatever its number), if it would
  // exceed cards_max, or if a page does not continue the snapshot in progress
  // (another version, cards not ascending past the last one; that snapshot
  // is then dropped). A delta that is neither page nor full also drops a
  // snapshot in progress: the engine answers so when it cannot continue it.
  Status apply(const DenyListDelta& delta);

 private:
  explicit DenyList(std::string path) : path_(std::move(path)) {}
  Status save() const;
  Status replace(std::set<CardId> cards, std::uint64_t version);
  Status take_page(const DenyListDelta& delta);

  std::string path_;
  std::uint64_t version_ = 0;
  std::set<CardId> cards_;
  // The snapshot in progress: its version and its cards so far, ascending.
  std::uint64_t pending_version_ = 0;
  std::vector<CardId> pending_cards_;
};

}  // namespace citycard::agent
