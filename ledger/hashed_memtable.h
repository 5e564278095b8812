// A memtable for the families written at random keys with every tap and read
// by point lookup or one prefix at a time (history, card states).
//
// Entries are appended to an array and chained into two hash buckets: their
// prefix's (the family's prefix extractor: prefix seeks list it) and their
// whole key's (point lookups walk it). An insert is an append. Entries are
// put in order only when the whole memtable is read in order: once for its
// flush, or for a scan across prefixes.
//
// RocksDB's hash-linklist memtable, used before, built a skiplist of every
// entry when flushed: most of the flush thread's time, about a fifth of the
// engine's CPU in process (bench/README.md, "The flush's sort"). This one
// sorts an array instead, each entry carrying its key's first 16 bytes so
// that most comparisons read no key.
//
// Only for families with a prefix extractor whose keys compare bytewise
// (RocksDB's default): the first 16 bytes decide the order where they differ.
#pragma once

#include <cstddef>

#include <rocksdb/memtablerep.h>

namespace citycard::ledger {

// `buckets` is rounded up to a power of two.
rocksdb::MemTableRepFactory* new_hashed_memtable_factory(std::size_t buckets);

}  // namespace citycard::ledger
