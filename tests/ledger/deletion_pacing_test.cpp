// The ledger's deletion pacer (ledger::Options::delete_bytes_per_s): files a
// compaction made obsolete become trash deleted on RocksDB's own thread at
// the pace set, not at once; trash left when the ledger closed goes at the
// next open; 0 deletes at once, as RocksDB does by itself.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "ledger/system_accounts.h"
#include "ledger_fixture.h"

using namespace citycard;
using namespace citycard::testing;

namespace {

namespace fs = std::filesystem;

std::size_t trash_files(const std::string& directory) {
  std::size_t count = 0;
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (entry.path().extension() == ".trash") ++count;
  }
  return count;
}

struct Ledger {
  std::unique_ptr<ledger::Ledger> ledger;
  ledger::SystemAccounts system;
  ledger::OperatorRecord bus;
};

Ledger open_small(const std::string& path, std::uint64_t delete_bytes_per_s) {
  ledger::Options options;
  options.create_if_missing = true;
  options.write_buffer_bytes = 256u << 10;  // a few hundred groups fill a memtable
  options.delete_bytes_per_s = delete_bytes_per_s;
  auto opened = ledger::Ledger::open(path, options);
  REQUIRE(opened);
  Ledger result;
  result.ledger = std::move(opened).value();
  auto system = ledger::ensure_system_accounts(*result.ledger);
  REQUIRE(system);
  result.system = *system;
  auto bus = result.ledger->operator_record(OperatorId{1});
  if (!bus) bus = result.ledger->register_operator(OperatorId{1}, "Capital Bus");
  REQUIRE(bus);
  result.bus = *bus;
  return result;
}

// Posts until `done` says so (at most a minute): flushes, then compactions
// of their level-0 files, whose inputs become obsolete.
template <typename Done>
std::uint64_t post_until(Ledger& l, std::uint64_t& sequence, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::uint64_t amount = 0;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::vector<ledger::PostingGroup> batch;
    for (int i = 0; i < 256; ++i) {
      batch.push_back(make_group(tap_key(4, ++sequence), {make_transfer(l.system.topup_float, l.bus.payable_account, 1)}));
      ++amount;
    }
    auto outcomes = l.ledger->post(batch);
    REQUIRE(outcomes);
    REQUIRE(outcomes->back().posted);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return amount;
}

}  // namespace

TEST_CASE("paced, a compaction's obsolete files become trash, and trash left at a close goes at the next open") {
  TempDir dir;
  const std::string path = dir.path() + "/ledger";
  std::uint64_t sequence = 0;
  std::uint64_t posted = 0;
  {
    // 16 KiB a second: a table file of ~100 KiB stays trash for seconds.
    Ledger l = open_small(path, 16u << 10);
    posted = post_until(l, sequence, [&] { return trash_files(path) > 0; });
    REQUIRE(l.ledger->storage_activity().compactions > 0);
    REQUIRE(trash_files(path) > 0);
  }
  // Closed with trash pending: the next open deletes it (at its own pace)
  // and the ledger holds every transfer.
  Ledger reopened = open_small(path, 32u << 20);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (trash_files(path) > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(trash_files(path) == 0);
  auto payable = reopened.ledger->account(reopened.bus.payable_account);
  REQUIRE(payable);
  CHECK(payable->balance_minor == static_cast<std::int64_t>(posted));
}

TEST_CASE("unpaced (delete_bytes_per_s = 0), obsolete files are deleted at once: never trash") {
  TempDir dir;
  const std::string path = dir.path() + "/ledger";
  std::uint64_t sequence = 0;
  Ledger l = open_small(path, 0);
  std::size_t trash_seen = 0;
  post_until(l, sequence, [&] {
    trash_seen += trash_files(path);
    return l.ledger->storage_activity().compactions >= 2;
  });
  REQUIRE(l.ledger->storage_activity().compactions >= 2);
  CHECK(trash_seen == 0);
}
