#include "ledger/hashed_memtable.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <utility>
#include <vector>

#include <rocksdb/slice.h>
#include <rocksdb/slice_transform.h>

#include "citycard/check.h"

namespace citycard::ledger {

namespace {

using KeyComparator = rocksdb::MemTableRep::KeyComparator;

constexpr std::uint32_t end_of_chain = UINT32_MAX;

// The user key's first 16 bytes as two big-endian words, zero-padded, so
// that their integer order is the keys' bytewise order wherever they differ.
// History's and card states' keys are at most 16 bytes: the words order all
// but the versions of one key (and keys that differ only by trailing zero
// bytes), which the comparator then orders.
struct Words {
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  bool operator==(const Words&) const = default;
};

Words words_of(rocksdb::Slice user_key) {
  unsigned char bytes[16] = {};
  std::memcpy(bytes, user_key.data(), std::min<std::size_t>(16, user_key.size()));
  Words words;
  for (int i = 0; i < 8; ++i) words.head = (words.head << 8) | bytes[i];
  for (int i = 8; i < 16; ++i) words.tail = (words.tail << 8) | bytes[i];
  return words;
}

// An entry as a sort sees it.
struct Sorted {
  Words words;
  const char* key;
};
using SortedList = std::vector<Sorted>;

rocksdb::Slice user_key_of(const rocksdb::Slice& internal_key) {
  CITYCARD_CHECK_GE(internal_key.size(), 8u);
  return rocksdb::Slice(internal_key.data(), internal_key.size() - 8);
}

std::uint64_t hash_of(rocksdb::Slice bytes) {
  std::uint64_t hash = 0x9E3779B97F4A7C15ull ^ bytes.size();
  std::size_t at = 0;
  for (; at + 8 <= bytes.size(); at += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + at, 8);
    hash = (hash ^ word) * 0xBF58476D1CE4E5B9ull;
    hash ^= hash >> 31;
  }
  for (; at < bytes.size(); ++at) hash = (hash ^ static_cast<unsigned char>(bytes[at])) * 0x94D049BB133111EBull;
  return hash ^ (hash >> 29);
}

// The comparator's order, the words deciding where they differ.
struct SortedLess {
  const KeyComparator* compare;
  bool operator()(const Sorted& a, const Sorted& b) const {
    if (a.words.head != b.words.head) return a.words.head < b.words.head;
    if (a.words.tail != b.words.tail) return a.words.tail < b.words.tail;
    return (*compare)(a.key, b.key) < 0;
  }
};

class HashedMemTable;

// What an iterator lists: every entry, or on each seek the entries of the
// sought key's prefix bucket (a prefix seek: history's reads).
enum class Listing { all, prefix };

// The internal key RocksDB looks up. LookupKey is RocksDB's own (not in its
// public headers): its first three members point at the length-prefixed key,
// the internal key and its end. Read so, and checked against the length
// prefix, so that a RocksDB laid out otherwise stops here rather than reads
// the wrong key.
rocksdb::Slice internal_key_of(const rocksdb::LookupKey& lookup) {
  const char* fields[3];
  std::memcpy(fields, &lookup, sizeof(fields));
  const char* start = fields[0];
  const char* internal = fields[1];
  const char* end = fields[2];
  CITYCARD_CHECK(start != nullptr && internal > start && internal - start <= 5 && end >= internal + 8);
  std::uint32_t length = 0;
  int shift = 0;
  for (const char* at = start; at < internal; ++at, shift += 7) {
    length |= static_cast<std::uint32_t>(static_cast<unsigned char>(*at) & 0x7f) << shift;
  }
  CITYCARD_CHECK_EQ(static_cast<std::ptrdiff_t>(length), end - internal);
  return rocksdb::Slice(internal, length);
}

// Over a sorted list: the whole memtable's (shared, once it is read-only),
// a copy of it (while it still takes inserts), or one seek's.
class ListIterator : public rocksdb::MemTableRep::Iterator {
 public:
  ListIterator(const HashedMemTable& table, std::shared_ptr<const SortedList> list, Listing listing)
      : table_(table), list_(std::move(list)), listing_(listing) {}

  bool Valid() const override { return list_ != nullptr && at_ < list_->size(); }
  const char* key() const override { return (*list_)[at_].key; }
  void Next() override { ++at_; }
  void Prev() override { at_ = at_ == 0 ? SIZE_MAX : at_ - 1; }
  void Seek(const rocksdb::Slice& internal_key, const char* /*memtable_key*/) override;
  void SeekForPrev(const rocksdb::Slice& internal_key, const char* /*memtable_key*/) override;
  void SeekToFirst() override;
  void SeekToLast() override;

 private:
  void list_for(const rocksdb::Slice& internal_key);
  void list_all();

  const HashedMemTable& table_;
  std::shared_ptr<const SortedList> list_;
  Listing listing_;
  std::size_t at_ = SIZE_MAX;
};

class HeapListIterator final : public ListIterator {
 public:
  using ListIterator::ListIterator;
};

// Storage for an iterator RocksDB asks for with an arena: it then only calls
// the destructor, never delete. The memtable keeps these slots (the arena is
// not ours to use, and a memtable's usage must not grow once it is full).
struct IteratorSlot {
  std::atomic<bool> in_use{false};
  alignas(std::max_align_t) unsigned char bytes[sizeof(HeapListIterator) + sizeof(void*)];  // + SlotRelease
};

// Frees its slot last: after the iterator's members are gone.
class SlotRelease {
 public:
  explicit SlotRelease(IteratorSlot& slot) : slot_(slot) {}
  ~SlotRelease() { slot_.in_use.store(false, std::memory_order_release); }
  SlotRelease(const SlotRelease&) = delete;
  SlotRelease& operator=(const SlotRelease&) = delete;

 private:
  IteratorSlot& slot_;
};

class SlotListIterator final : private SlotRelease, public ListIterator {
 public:
  SlotListIterator(IteratorSlot& slot, const HashedMemTable& table, std::shared_ptr<const SortedList> list, Listing listing)
      : SlotRelease(slot), ListIterator(table, std::move(list), listing) {}
  static void operator delete(void*) noexcept {}  // never deleted: see IteratorSlot
};
static_assert(sizeof(SlotListIterator) <= sizeof(IteratorSlot::bytes));

class HashedMemTable final : public rocksdb::MemTableRep {
 public:
  HashedMemTable(const KeyComparator& compare, rocksdb::Allocator* allocator, const rocksdb::SliceTransform* transform,
                 std::size_t buckets)
      : MemTableRep(allocator),
        compare_(compare),
        transform_(transform),
        prefix_heads_(buckets, end_of_chain),
        key_heads_(buckets, end_of_chain),
        mask_(buckets - 1),
        // A chunk of entries is allocated whole: small beside the budget.
        chunk_shift_(std::countr_zero(std::clamp<std::size_t>(buckets / 16, 64, 16384))) {
    CITYCARD_CHECK(std::has_single_bit(buckets));
    update_usage();
  }

  void Insert(rocksdb::KeyHandle handle) override {
    const char* entry = static_cast<const char*>(handle);
    const rocksdb::Slice user_key = user_key_of(compare_.decode_key(entry));
    const std::uint32_t prefix_bucket = prefix_bucket_of(user_key);
    const std::uint32_t key_bucket = key_bucket_of(user_key);
    std::unique_lock lock(mutex_);
    CITYCARD_CHECK(!read_only_);
    CITYCARD_CHECK_LT(count_, std::size_t{end_of_chain});
    const std::size_t chunk_mask = (std::size_t{1} << chunk_shift_) - 1;
    if ((count_ & chunk_mask) == 0) chunks_.push_back(std::make_unique<Entry[]>(chunk_mask + 1));
    Entry& slot = chunks_.back()[count_ & chunk_mask];
    slot.sorted = {words_of(user_key), entry};
    slot.next_in_prefix = prefix_heads_[prefix_bucket];
    slot.next_in_key = key_heads_[key_bucket];
    prefix_heads_[prefix_bucket] = key_heads_[key_bucket] = static_cast<std::uint32_t>(count_);
    ++count_;
    if ((count_ & chunk_mask) == 1) update_usage();
  }

  bool Contains(const char* key) const override {
    const rocksdb::Slice user_key = user_key_of(compare_.decode_key(key));
    std::shared_lock lock(mutex_);
    for (std::uint32_t at = key_heads_[key_bucket_of(user_key)]; at != end_of_chain; at = entry(at).next_in_key) {
      if (compare_(entry(at).sorted.key, key) == 0) return true;
    }
    return false;
  }

  void MarkReadOnly() override {
    std::unique_lock lock(mutex_);
    read_only_ = true;
  }

  std::size_t ApproximateMemoryUsage() override { return usage_.load(std::memory_order_relaxed); }

  Iterator* GetIterator(rocksdb::Arena* arena) override { return make_iterator(arena, all_sorted(), Listing::all); }
  Iterator* GetDynamicPrefixIterator(rocksdb::Arena* arena) override { return make_iterator(arena, nullptr, Listing::prefix); }

  // Its own: MemTableRep's default would go through an iterator it never deletes.
  void Get(const rocksdb::LookupKey& lookup, void* callback_args, bool (*callback)(void* arg, const char* entry)) override {
    const rocksdb::Slice internal_key = internal_key_of(lookup);
    const rocksdb::Slice user_key = user_key_of(internal_key);
    const Words words = words_of(user_key);
    SortedList versions;  // of the key, or keys equal to it but for trailing zero bytes
    {
      std::shared_lock lock(mutex_);
      for (std::uint32_t at = key_heads_[key_bucket_of(user_key)]; at != end_of_chain; at = entry(at).next_in_key) {
        if (entry(at).sorted.words == words) versions.push_back(entry(at).sorted);
      }
    }
    std::sort(versions.begin(), versions.end(), SortedLess{&compare_});
    for (const Sorted& version : versions) {
      if (compare_(version.key, internal_key) < 0) continue;
      if (!callback(callback_args, version.key)) break;
    }
  }

  // Every entry in order: the one shared list once read-only (sorted the
  // first time it is asked for: by the flush), else a fresh copy.
  std::shared_ptr<const SortedList> all_sorted() const {
    std::shared_lock lock(mutex_);
    if (read_only_) {
      std::call_once(sorted_once_, [&] { sorted_ = sorted_copy(); });
      return sorted_;
    }
    return sorted_copy();
  }

  // The entries of `internal_key`'s prefix bucket, in order.
  std::shared_ptr<const SortedList> prefix_sorted(const rocksdb::Slice& internal_key) const {
    const rocksdb::Slice user_key = user_key_of(internal_key);
    auto list = std::make_shared<SortedList>();
    {
      std::shared_lock lock(mutex_);
      for (std::uint32_t at = prefix_heads_[prefix_bucket_of(user_key)]; at != end_of_chain; at = entry(at).next_in_prefix) {
        list->push_back(entry(at).sorted);
      }
    }
    std::sort(list->begin(), list->end(), SortedLess{&compare_});
    return list;
  }

  const KeyComparator& compare() const { return compare_; }

 private:
  struct Entry {
    Sorted sorted;
    std::uint32_t next_in_prefix;  // the prefix bucket's entry inserted before this one
    std::uint32_t next_in_key;     // the key bucket's
  };

  const Entry& entry(std::uint32_t index) const {
    return chunks_[index >> chunk_shift_][index & ((std::uint32_t{1} << chunk_shift_) - 1)];
  }

  std::uint32_t prefix_bucket_of(rocksdb::Slice user_key) const {
    return key_bucket_of(transform_->InDomain(user_key) ? transform_->Transform(user_key) : user_key);
  }
  std::uint32_t key_bucket_of(rocksdb::Slice user_key) const { return static_cast<std::uint32_t>(hash_of(user_key) & mask_); }

  std::shared_ptr<SortedList> sorted_copy() const {  // caller holds mutex_ (shared)
    auto list = std::make_shared<SortedList>();
    list->reserve(count_);
    for (std::size_t at = 0; at < count_; ++at) list->push_back(entry(static_cast<std::uint32_t>(at)).sorted);
    std::sort(list->begin(), list->end(), SortedLess{&compare_});
    return list;
  }

  void update_usage() {  // caller holds mutex_ (or constructs)
    usage_.store((prefix_heads_.size() + key_heads_.size()) * sizeof(std::uint32_t) +
                     (chunks_.size() << chunk_shift_) * sizeof(Entry) + chunks_.capacity() * sizeof(std::unique_ptr<Entry[]>),
                 std::memory_order_relaxed);
  }

  Iterator* make_iterator(rocksdb::Arena* arena, std::shared_ptr<const SortedList> list, Listing listing) {
    if (arena == nullptr) return new HeapListIterator(*this, std::move(list), listing);
    std::lock_guard lock(slots_mutex_);
    IteratorSlot* free = nullptr;
    for (const auto& slot : slots_) {
      if (!slot->in_use.load(std::memory_order_acquire)) {
        free = slot.get();
        break;
      }
    }
    if (free == nullptr) free = slots_.emplace_back(std::make_unique<IteratorSlot>()).get();
    free->in_use.store(true, std::memory_order_relaxed);
    return new (free->bytes) SlotListIterator(*free, *this, std::move(list), listing);
  }

  const KeyComparator& compare_;
  const rocksdb::SliceTransform* transform_;
  mutable std::shared_mutex mutex_;
  std::vector<std::uint32_t> prefix_heads_;
  std::vector<std::uint32_t> key_heads_;
  const std::size_t mask_;
  const int chunk_shift_;
  std::vector<std::unique_ptr<Entry[]>> chunks_;
  std::size_t count_ = 0;
  bool read_only_ = false;
  std::atomic<std::size_t> usage_{0};
  mutable std::once_flag sorted_once_;
  mutable std::shared_ptr<const SortedList> sorted_;
  std::mutex slots_mutex_;
  std::vector<std::unique_ptr<IteratorSlot>> slots_;  // outlive every iterator: RocksDB drops its iterators first
};

void ListIterator::list_for(const rocksdb::Slice& internal_key) {
  if (listing_ == Listing::prefix) list_ = table_.prefix_sorted(internal_key);
}

void ListIterator::list_all() {
  if (listing_ == Listing::prefix) {
    listing_ = Listing::all;  // no key to list by: every entry, from here on
    list_ = nullptr;
  }
  if (list_ == nullptr) list_ = table_.all_sorted();
}

void ListIterator::Seek(const rocksdb::Slice& internal_key, const char*) {
  list_for(internal_key);
  const KeyComparator& compare = table_.compare();
  auto found = std::partition_point(list_->begin(), list_->end(),
                                    [&](const Sorted& entry) { return compare(entry.key, internal_key) < 0; });
  at_ = static_cast<std::size_t>(found - list_->begin());
}

void ListIterator::SeekForPrev(const rocksdb::Slice& internal_key, const char*) {
  list_for(internal_key);
  const KeyComparator& compare = table_.compare();
  auto after = std::partition_point(list_->begin(), list_->end(),
                                    [&](const Sorted& entry) { return compare(entry.key, internal_key) <= 0; });
  at_ = after == list_->begin() ? SIZE_MAX : static_cast<std::size_t>(after - list_->begin()) - 1;
}

void ListIterator::SeekToFirst() {
  list_all();
  at_ = 0;
}

void ListIterator::SeekToLast() {
  list_all();
  at_ = list_->empty() ? SIZE_MAX : list_->size() - 1;
}

class HashedMemTableFactory final : public rocksdb::MemTableRepFactory {
 public:
  explicit HashedMemTableFactory(std::size_t buckets) : buckets_(std::bit_ceil(std::max<std::size_t>(buckets, 1))) {}
  using MemTableRepFactory::CreateMemTableRep;
  rocksdb::MemTableRep* CreateMemTableRep(const KeyComparator& compare, rocksdb::Allocator* allocator,
                                          const rocksdb::SliceTransform* transform, rocksdb::Logger*) override {
    // Buckets are by prefix; without one a lookup would sort the whole table.
    CITYCARD_CHECK(transform != nullptr);
    return new HashedMemTable(compare, allocator, transform, buckets_);
  }
  const char* Name() const override { return "CitycardHashedMemTable"; }

 private:
  std::size_t buckets_;
};

}  // namespace

rocksdb::MemTableRepFactory* new_hashed_memtable_factory(std::size_t buckets) {
  return new HashedMemTableFactory(buckets);
}

}  // namespace citycard::ledger
