// A read-only open beside a writer that compacts (the CLI's reads while the
// engine runs): RocksDB reads the file list, then opens the files, and a
// compaction may delete one in between. The open must not call that damage.
#include <atomic>
#include <filesystem>
#include <chrono>
#include <thread>

#include "ledger/rocks_ledger.h"
#include "ledger_fixture.h"

using namespace citycard;
using namespace citycard::testing;

TEST_CASE("read-only opens beside a writer that flushes and compacts all succeed") {
  ledger::Options small;
  small.write_buffer_bytes = 64u << 10;  // a flush every few batches, a compaction every few flushes
  LedgerFixture f(small);
  auto* rocks = dynamic_cast<ledger::RocksLedger*>(f.ledger.get());
  REQUIRE(rocks != nullptr);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> compactions{0};
  std::thread writer([&] {
    std::uint64_t sequence = 0;
    while (!stop.load()) {
      std::vector<ledger::PostingGroup> batch;
      for (int i = 0; i < 64; ++i) {
        batch.push_back(make_group(tap_key(5, ++sequence), {make_transfer(f.system.topup_float, f.bus.payable_account, 1)}));
      }
      if (!f.ledger->post(batch)) return;
      if (sequence % 1024 == 0) {
        rocksdb::CompactRangeOptions everything;
        if (rocks->db()->CompactRange(everything, nullptr, nullptr).ok()) ++compactions;
      }
    }
  });
  ledger::Options read_only;
  read_only.read_only = true;
  int opened = 0;
  std::string first_failure;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  while (std::chrono::steady_clock::now() < until) {
    auto reader = ledger::Ledger::open(f.path, read_only);
    if (!reader) {
      if (first_failure.empty()) first_failure = reader.status().to_string();
      continue;
    }
    ++opened;
    CHECK((*reader)->operators().size() == 2);
  }
  stop = true;
  writer.join();
  INFO(first_failure);
  CHECK(first_failure.empty());
  CHECK(opened > 10);
  CHECK(compactions.load() > 2);  // the race was there to be lost
}

TEST_CASE("a table file missing for good is still damage to a read-only open, named") {
  LedgerFixture f;
  const CardRecord card = f.issue("04AA0001");
  f.fund(card, 500);
  auto* rocks = dynamic_cast<ledger::RocksLedger*>(f.ledger.get());
  REQUIRE(rocks != nullptr);
  REQUIRE(rocks->db()->Flush(rocksdb::FlushOptions()).ok());
  f.close();
  std::string removed;
  for (const auto& entry : std::filesystem::directory_iterator(f.path)) {
    if (entry.path().extension() == ".sst") {
      removed = entry.path().stem().string();  // RocksDB names it by number (and tries .ldb too)
      std::filesystem::remove(entry.path());
      break;
    }
  }
  REQUIRE_FALSE(removed.empty());
  ledger::Options read_only;
  read_only.read_only = true;
  auto opened = ledger::Ledger::open(f.path, read_only);
  REQUIRE_FALSE(opened);
  INFO(opened.status().to_string());
  CHECK(opened.status().code() == StatusCode::corruption);
  CHECK(opened.status().message().find("is damaged") != std::string::npos);
  CHECK(opened.status().message().find(removed) != std::string::npos);
}
