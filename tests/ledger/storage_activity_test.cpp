// What the ledger tells of its storage (ledger/storage_activity.h): the
// synced writes and the log bytes they cost, their time, and RocksDB's
// background work once a flush has run; whether the flushes keep up.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "ledger/rocks_ledger.h"
#include "ledger/system_accounts.h"
#include "ledger_fixture.h"

using namespace citycard;
using namespace citycard::testing;

namespace {

const ledger::FamilyUsage* family(const ledger::StorageActivity& activity, const std::string& name) {
  for (const auto& usage : activity.families) {
    if (usage.name == name) return &usage;
  }
  return nullptr;
}

// A ledger whose memtables a few hundred groups fill.
ledger::Options small_memtables() {
  ledger::Options options;
  options.write_buffer_bytes = 256u << 10;
  return options;
}

// Posts `groups` groups from the top-up float (no floor) to the bus's payable (no ceiling).
void post_groups(LedgerFixture& f, std::uint64_t& sequence, int groups) {
  std::vector<ledger::PostingGroup> batch;
  for (int i = 0; i < groups; ++i) {
    batch.push_back(make_group(tap_key(4, ++sequence), {make_transfer(f.system.topup_float, f.bus.payable_account, 1)}));
  }
  auto outcomes = f.ledger->post(batch);
  REQUIRE(outcomes);
  REQUIRE(outcomes->back().posted);
}

}  // namespace

TEST_CASE("the ledger counts its synced writes, the log bytes they cost and the time they took") {
  LedgerFixture f;
  const CardRecord card = f.issue("04AA0001");
  f.fund(card, 5'000);
  const ledger::StorageActivity before = f.ledger->storage_activity();
  for (std::uint64_t sequence = 1; sequence <= 50; ++sequence) {
    f.post_one(make_group(tap_key(3, sequence), {make_transfer(card.wallet_account, f.bus.payable_account, 15)}));
  }
  const ledger::StorageActivity after = f.ledger->storage_activity();
  CHECK(after.synced_writes - before.synced_writes == 50);
  // A group is its transfer in the log block, its idempotency entry and two history entries.
  const std::uint64_t bytes = after.log_bytes_written - before.log_bytes_written;
  CHECK(bytes > 50 * 100);
  CHECK(bytes < 50 * 1000);
  CHECK(after.write_micros > before.write_micros);
  CHECK(after.log_sync_micros <= after.write_micros);
  CHECK(after.slow_writes_in_sync + after.slow_writes_elsewhere <= after.synced_writes);
  CHECK(after.memtable_bytes > 0);
  CHECK(after.families.size() == 8);
  CHECK(family(after, "history") != nullptr);
  CHECK(family(after, "card_states") != nullptr);
}

TEST_CASE("a flush shows in the ledger's storage activity: its bytes, time and the families' table files") {
  LedgerFixture f(small_memtables());
  auto& ledger = *f.ledger;
  std::uint64_t sequence = 0;
  auto flushed = [&] { return ledger.storage_activity().flushes > 0; };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!flushed() && std::chrono::steady_clock::now() < deadline) {
    post_groups(f, sequence, 256);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const ledger::StorageActivity activity = ledger.storage_activity();
  REQUIRE(activity.flushes > 0);
  CHECK(activity.flush_bytes_written > 0);
  CHECK(activity.table_bytes > 0);
  std::uint64_t entries = 0, raw = 0, table = 0;
  for (const auto& usage : activity.families) {
    entries += usage.entries;
    raw += usage.raw_bytes;
    table += usage.table_bytes;
  }
  CHECK(entries > 0);
  CHECK(raw > 0);
  CHECK(table == activity.table_bytes);
}

TEST_CASE("the flush backlog shows full memtables waiting while no flush can run, and clears once flushes run") {
  LedgerFixture f(small_memtables());
  auto& ledger = *f.ledger;
  std::uint64_t sequence = 0;
  ledger::FlushBacklog at_rest = ledger.flush_backlog();
  CHECK(at_rest.immutable_memtables_max == 0);
  CHECK(at_rest.oldest_flush.count() == 0);
  CHECK_FALSE(at_rest.writes_stalled);

  // RocksDB's own switch: what a host too busy to run the flush thread looks like.
  auto* rocks = dynamic_cast<ledger::RocksLedger*>(&ledger);
  REQUIRE(rocks != nullptr);
  REQUIRE(rocks->db()->PauseBackgroundWork().ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  // Small batches: a family switches memtables at most once a write, so the
  // loop stops at two waiting, short of the fourth that would stop writes.
  while (ledger.flush_backlog().immutable_memtables_max < 2 && std::chrono::steady_clock::now() < deadline) {
    post_groups(f, sequence, 32);
  }
  const ledger::FlushBacklog behind = ledger.flush_backlog();
  CHECK(behind.immutable_memtables_max >= 2);
  CHECK(behind.oldest_flush.count() == 0);  // none can run

  const std::uint64_t flushes_before = ledger.storage_activity().flushes;
  REQUIRE(rocks->db()->ContinueBackgroundWork().ok());
  auto caught_up = [&] {
    const ledger::FlushBacklog now = ledger.flush_backlog();
    return now.immutable_memtables_max == 0 && now.oldest_flush.count() == 0 && !now.writes_stalled;
  };
  const auto flushed_by = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!caught_up() && std::chrono::steady_clock::now() < flushed_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(caught_up());
  // A family's waiting memtables may go out as one table: at least one flush.
  CHECK(ledger.storage_activity().flushes > flushes_before);
}
