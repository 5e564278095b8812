// What one shard holds by id (its cards by card id, its taps in flight by
// tap id): open addressing with linear probing. A slot is 8 bytes (32 bits of the id's hash, the entry's index);
// entries sit in one vector, with a free list for the places of removed
// ones. A lookup reads the slot array once and an entry once, and compares
// ids only where the hash bits agree (std::unordered_map chased a bucket
// and a node, and compared every id in the chain). Removal shifts the
// following slots back, so there are no tombstones.
//
// Not thread-safe (a shard's own thread). A pointer to an entry stays valid
// until the next insert.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "citycard/ids.h"
#include "citycard/prefetch.h"
#include "hashing.h"

namespace citycard::engine {

template <typename Key, typename Entry, typename Hash>
class FlatTable {
 public:
  FlatTable() : slots_(initial_slots) {}

  std::size_t size() const noexcept { return size_; }

  const Entry* find(const Key& key) const {
    const std::uint64_t hash = Hash{}(key);
    for (std::size_t at = home(hash);; at = next(at)) {
      const Slot& slot = slots_[at];
      if (slot.index == 0) return nullptr;
      if (slot.tag == tag(hash) && entries_[slot.index - 1].first == key) return &entries_[slot.index - 1].second;
    }
  }
  Entry* find(const Key& key) { return const_cast<Entry*>(std::as_const(*this).find(key)); }
  bool contains(const Key& key) const { return find(key) != nullptr; }

  // Hints for a caller about to look keys up (CardBook::prefetch): they
  // read nothing that is not in cache already, and change nothing.
  // The key's home slot.
  void prefetch_slot(const Key& key) const { __builtin_prefetch(&slots_[home(Hash{}(key))]); }
  // The entry the key's slots point to (reads the slots: prefetch_slot
  // first); the entry itself is not read, so its key is not compared.
  void prefetch_entry(const Key& key) const {
    const std::uint64_t hash = Hash{}(key);
    for (std::size_t at = home(hash);; at = next(at)) {
      const Slot& slot = slots_[at];
      if (slot.index == 0) return;
      if (slot.tag == tag(hash)) {
        prefetch_object(&entries_[slot.index - 1]);
        return;
      }
    }
  }

  // `key` must not be in the table.
  Entry& insert(const Key& key, Entry entry) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    std::uint32_t index = 0;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
      entries_[index] = {key, std::move(entry)};
    } else {
      index = static_cast<std::uint32_t>(entries_.size());
      entries_.emplace_back(key, std::move(entry));
    }
    place(Hash{}(key), index + 1);
    ++size_;
    return entries_[index].second;
  }

  // false when the key was not there.
  bool erase(const Key& key) {
    const std::uint64_t hash = Hash{}(key);
    std::size_t at = home(hash);
    for (;; at = next(at)) {
      const Slot& slot = slots_[at];
      if (slot.index == 0) return false;
      if (slot.tag == tag(hash) && entries_[slot.index - 1].first == key) break;
    }
    const std::uint32_t index = slots_[at].index - 1;
    entries_[index] = {};  // releases what the entry owns
    free_.push_back(index);
    --size_;
    // Backward shift: pull each following entry of the run into the hole if
    // its home position lies at or before the hole (cyclically).
    std::size_t hole = at;
    for (std::size_t probe = next(hole); slots_[probe].index != 0; probe = next(probe)) {
      const std::size_t wanted = home_of(slots_[probe]);
      const bool movable = hole <= probe ? (wanted <= hole || wanted > probe) : (wanted <= hole && wanted > probe);
      if (movable) {
        slots_[hole] = slots_[probe];
        hole = probe;
      }
    }
    slots_[hole] = Slot{};
    return true;
  }

 private:
  struct Slot {
    std::uint32_t tag = 0;
    std::uint32_t index = 0;  // entry index + 1; 0: empty
  };
  static constexpr std::size_t initial_slots = 1024;  // a power of two

  static std::uint32_t tag(std::uint64_t hash) noexcept { return static_cast<std::uint32_t>(hash >> 32); }
  std::size_t home(std::uint64_t hash) const noexcept { return static_cast<std::size_t>(hash) & (slots_.size() - 1); }
  std::size_t next(std::size_t at) const noexcept { return (at + 1) & (slots_.size() - 1); }
  std::size_t home_of(const Slot& slot) const { return home(Hash{}(entries_[slot.index - 1].first)); }

  void place(std::uint64_t hash, std::uint32_t index_plus_one) {
    std::size_t at = home(hash);
    while (slots_[at].index != 0) at = next(at);
    slots_[at] = Slot{tag(hash), index_plus_one};
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& slot : old) {
      if (slot.index != 0) place(Hash{}(entries_[slot.index - 1].first), slot.index);
    }
  }

  std::vector<Slot> slots_;
  std::vector<std::pair<Key, Entry>> entries_;
  std::vector<std::uint32_t> free_;
  std::size_t size_ = 0;
};

template <typename Entry>
using CardTable = FlatTable<CardId, Entry, CardIdHash>;
template <typename Entry>
using TapTable = FlatTable<TapId, Entry, TapIdHash>;

}  // namespace citycard::engine
