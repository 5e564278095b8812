// The hashed memtable (ledger/hashed_memtable.h) must read as a sorted map
// whatever state it is in: taking inserts, full and waiting for its flush,
// flushed. A real RocksDB with it on a family like history (8-byte prefix)
// and like card states (the whole key hashed), against std::map.
#include <algorithm>
#include <atomic>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>

#include "ledger/hashed_memtable.h"
#include "ledger_fixture.h"

using namespace citycard;
using namespace citycard::testing;

namespace {

using Map = std::map<std::string, std::string>;

struct Db {
  TempDir dir;
  std::unique_ptr<rocksdb::DB> db;

  explicit Db(std::shared_ptr<const rocksdb::SliceTransform> prefix) {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.allow_concurrent_memtable_write = false;
    options.memtable_factory.reset(ledger::new_hashed_memtable_factory(64));
    options.prefix_extractor = std::move(prefix);
    options.write_buffer_size = 64u << 20;  // flushed only when the test says
    options.disable_auto_compactions = true;
    rocksdb::DB* opened = nullptr;
    const rocksdb::Status status = rocksdb::DB::Open(options, dir.path() + "/db", &opened);
    REQUIRE(status.ok());
    db.reset(opened);
  }
};

// Keys that stress the order: many sharing an 8-byte prefix (history's
// account), shorter than 8 bytes (the head padded; only where the prefix
// extractor takes any length, as RocksDB requires), with zero bytes where
// padding would be (ties the heads must not misorder).
std::string random_key(std::mt19937& random, bool short_keys) {
  const int account = static_cast<int>(random() % 12);
  std::string key(8, '\0');  // the accounts differ in several of the 8 bytes
  key[1] = static_cast<char>(account % 3);
  key[5] = static_cast<char>(account / 3 * 17);
  key[7] = static_cast<char>(account);
  switch (random() % 5) {
    case 0: return short_keys ? key.substr(0, 2 + random() % 6) : key;
    case 1: return key + std::string(random() % 3, '\0');              // trailing zeros
    default: return key + std::string(8, static_cast<char>(random() % 40));  // 16 bytes, like history
  }
}

std::optional<std::string> get(rocksdb::DB& db, const std::string& key, const rocksdb::Snapshot* at = nullptr) {
  rocksdb::ReadOptions options;
  options.snapshot = at;
  std::string value;
  const rocksdb::Status status = db.Get(options, key, &value);
  if (status.IsNotFound()) return std::nullopt;
  REQUIRE(status.ok());
  return value;
}

Map scan_forward(rocksdb::DB& db, const rocksdb::Snapshot* at) {
  rocksdb::ReadOptions options;
  options.total_order_seek = true;
  options.snapshot = at;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(options));
  Map seen;
  for (it->SeekToFirst(); it->Valid(); it->Next()) seen[it->key().ToString()] = it->value().ToString();
  REQUIRE(it->status().ok());
  return seen;
}

std::vector<std::string> scan_backward(rocksdb::DB& db) {
  rocksdb::ReadOptions options;
  options.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(options));
  std::vector<std::string> keys;
  for (it->SeekToLast(); it->Valid(); it->Prev()) keys.push_back(it->key().ToString());
  REQUIRE(it->status().ok());
  return keys;
}

// What every read must say, in whatever state the memtables are.
void check_reads(rocksdb::DB& db, const Map& now, const std::vector<std::pair<const rocksdb::Snapshot*, Map>>& snapshots,
                 std::mt19937& random, const rocksdb::SliceTransform& prefix_of, bool short_keys) {
  std::mt19937 keys(random());
  for (int i = 0; i < 300; ++i) {
    const std::string key = random_key(keys, short_keys);
    auto found = now.find(key);
    CHECK(get(db, key) == (found == now.end() ? std::nullopt : std::optional<std::string>(found->second)));
    for (const auto& [snapshot, then] : snapshots) {
      auto was = then.find(key);
      CHECK(get(db, key, snapshot) == (was == then.end() ? std::nullopt : std::optional<std::string>(was->second)));
    }
  }
  CHECK(scan_forward(db, nullptr) == now);
  for (const auto& [snapshot, then] : snapshots) CHECK(scan_forward(db, snapshot) == then);
  std::vector<std::string> backward;
  for (auto it = now.rbegin(); it != now.rend(); ++it) backward.push_back(it->first);
  CHECK(scan_backward(db) == backward);

  // Seeks in total order: to the first key at or after / at or before.
  rocksdb::ReadOptions total;
  total.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(total));
  for (int i = 0; i < 100; ++i) {
    const std::string target = random_key(keys, short_keys);
    it->Seek(target);
    auto after = now.lower_bound(target);
    REQUIRE(it->Valid() == (after != now.end()));
    if (after != now.end()) CHECK(it->key().ToString() == after->first);
    it->SeekForPrev(target);
    auto before = now.upper_bound(target);
    const bool has_before = before != now.begin();
    REQUIRE(it->Valid() == has_before);
    if (has_before) CHECK(it->key().ToString() == std::prev(before)->first);
  }

  // Prefix seeks (how history is read): from a key, every key of its prefix.
  rocksdb::ReadOptions by_prefix;
  by_prefix.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> prefixed(db.NewIterator(by_prefix));
  for (int i = 0; i < 100; ++i) {
    const std::string target = random_key(keys, short_keys);
    if (!prefix_of.InDomain(target)) continue;  // not read by prefix
    const rocksdb::Slice prefix = prefix_of.Transform(target);
    std::vector<std::string> expected;
    for (auto at = now.lower_bound(target);
         at != now.end() && prefix_of.InDomain(at->first) && prefix_of.Transform(at->first) == prefix; ++at) {
      expected.push_back(at->first);
    }
    std::vector<std::string> seen;
    for (prefixed->Seek(target); prefixed->Valid(); prefixed->Next()) seen.push_back(prefixed->key().ToString());
    CHECK(seen == expected);
  }
}

void exercise(std::shared_ptr<const rocksdb::SliceTransform> prefix, bool short_keys, unsigned seed) {
  Db store(prefix);
  rocksdb::DB& db = *store.db;
  std::mt19937 random(seed);
  Map now;
  std::vector<std::pair<const rocksdb::Snapshot*, Map>> snapshots;
  auto write_some = [&](int count) {
    for (int i = 0; i < count; ++i) {
      const std::string key = random_key(random, short_keys);
      if (random() % 6 == 0) {
        REQUIRE(db.Delete(rocksdb::WriteOptions(), key).ok());
        now.erase(key);
      } else {
        const std::string value = "v" + std::to_string(random());
        REQUIRE(db.Put(rocksdb::WriteOptions(), key, value).ok());
        now[key] = value;
      }
      if (random() % 400 == 0) snapshots.emplace_back(db.GetSnapshot(), now);
    }
  };

  SECTION("taking inserts") {
    write_some(3000);
    check_reads(db, now, snapshots, random, *prefix, short_keys);
  }
  SECTION("full, waiting for its flush, beside a new one taking inserts") {
    write_some(3000);
    REQUIRE(db.PauseBackgroundWork().ok());
    rocksdb::FlushOptions no_wait;
    no_wait.wait = false;
    REQUIRE(db.Flush(no_wait).ok());  // switches the memtable; the flush cannot run
    check_reads(db, now, snapshots, random, *prefix, short_keys);
    write_some(1500);
    check_reads(db, now, snapshots, random, *prefix, short_keys);
    REQUIRE(db.ContinueBackgroundWork().ok());
    REQUIRE(db.Flush(rocksdb::FlushOptions()).ok());
    check_reads(db, now, snapshots, random, *prefix, short_keys);
  }
  SECTION("flushed, then written over") {
    write_some(3000);
    REQUIRE(db.Flush(rocksdb::FlushOptions()).ok());
    check_reads(db, now, snapshots, random, *prefix, short_keys);
    write_some(3000);
    check_reads(db, now, snapshots, random, *prefix, short_keys);
  }
  for (const auto& [snapshot, then] : snapshots) db.ReleaseSnapshot(snapshot);
}

}  // namespace

TEST_CASE("the hashed memtable reads like a sorted map with history's 8-byte prefix: lookups, snapshots, scans, prefix seeks") {
  exercise(std::shared_ptr<const rocksdb::SliceTransform>(rocksdb::NewFixedPrefixTransform(8)), false, 20261205);
}

TEST_CASE("the hashed memtable reads like a sorted map with the whole key hashed, as card states are") {
  exercise(std::shared_ptr<const rocksdb::SliceTransform>(rocksdb::NewCappedPrefixTransform(16)), true, 7);
}

TEST_CASE("the hashed memtable's readers see every write whole while it takes inserts") {
  Db store(std::shared_ptr<const rocksdb::SliceTransform>(rocksdb::NewFixedPrefixTransform(8)));
  rocksdb::DB& db = *store.db;
  // Each key's value counts up: a reader must never see one go back, nor a
  // value it cannot parse, nor a scan out of order.
  constexpr int keys = 64;
  auto key_of = [](int k) { return std::string(7, 'k') + static_cast<char>(k) + "suffix.."; };
  std::atomic<bool> stop{false};
  std::atomic<int> problems{0};
  std::atomic<long> reads{0};
  std::thread reader([&] {
    std::vector<long> last(keys, -1);
    while (!stop.load()) {
      for (int k = 0; k < keys; ++k) {
        std::string value;
        const rocksdb::Status status = db.Get(rocksdb::ReadOptions(), key_of(k), &value);
        if (status.IsNotFound()) {
          if (last[k] >= 0) ++problems;
          continue;
        }
        const long seen = status.ok() ? std::stol(value) : -2;
        if (seen < last[k]) ++problems;
        last[k] = seen;
        ++reads;
      }
      rocksdb::ReadOptions total;
      total.total_order_seek = true;
      std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(total));
      std::string previous;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (!previous.empty() && it->key().ToString() <= previous) ++problems;
        previous = it->key().ToString();
      }
    }
  });
  for (long round = 0; round < 400; ++round) {
    for (int k = 0; k < keys; ++k) REQUIRE(db.Put(rocksdb::WriteOptions(), key_of(k), std::to_string(round)).ok());
    if (round % 100 == 99) REQUIRE(db.Flush(rocksdb::FlushOptions()).ok());
  }
  while (reads.load() < 1000) std::this_thread::yield();
  stop = true;
  reader.join();
  CHECK(problems.load() == 0);
  std::string value;
  REQUIRE(db.Get(rocksdb::ReadOptions(), key_of(0), &value).ok());
  CHECK(value == "399");
}
