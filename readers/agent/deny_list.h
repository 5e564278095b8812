// The reader's copy of the deny list: cards to refuse while offline.
// Versioned; kept current by deltas from the engine; persisted so a reader
// that boots without coverage still refuses blocked cards.
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
// replaces_all the whole list (added) at to_version.
struct DenyListDelta {
  std::uint64_t from_version = 0;
  std::uint64_t to_version = 0;
  bool replaces_all = false;
  std::vector<CardId> added;
  std::vector<CardId> removed;
  bool more = false;   // the engine has further changes after to_version: ask again
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

  // Applies delta and persists the result atomically. invalid_argument if it
  // does not start at this list's version (ask for a full list), if it goes
  // backwards, or if it would exceed cards_max; nothing changes then.
  Status apply(const DenyListDelta& delta);

 private:
  explicit DenyList(std::string path) : path_(std::move(path)) {}
  Status save() const;

  std::string path_;
  std::uint64_t version_ = 0;
  std::set<CardId> cards_;
};

}  // namespace citycard::agent
