// citycard-engine as a process with its ledger on a small filesystem of its
// own (a tmpfs, mounted and unmounted by the test): filled under load, the
// engine stops taking taps (retry_later storage_unavailable) without dying,
// answers no tap that is not durable, keeps serving reads, and takes taps
// again once the space is freed, with the ledger sound. Started on a full
// disk, it waits for space instead of exiting. docs/engine.md, "Storage
// failures".
#include "clerk_fixture.h"
#include "edge_fixture.h"
#include "resend_fixture.h"
#include "small_disk.h"

#include <atomic>
#include <map>
#include <mutex>

namespace citycard::engine::testing {
namespace {

constexpr int storage_cards = 40;
constexpr std::int64_t storage_balance = 9000;
constexpr std::uint32_t storage_readers[] = {1, 2, 3};
// The ledger, its WAL and a few flushed tables fit; a few thousand taps later
// the ballast beside it has taken the rest.
constexpr std::uint64_t small_disk_bytes = 48u << 20;

std::string storage_card(int i) {
  char text[16];
  std::snprintf(text, sizeof text, "0E%08X", i);
  return text;
}

int card_of(const TapId& id) { return static_cast<int>((id.sequence * 7 + id.reader.value) % storage_cards); }

// The ledger made on the small disk; DATA/ledger points at it, so the engine,
// the CLI and the test's checks find it where they always do.
void make_ledger_on(const citycard::testing::SmallDisk& disk, const std::filesystem::path& data) {
  {
    auto ledger = make_ledger(disk.root() / "ledger");
    for (int i = 0; i < storage_cards; ++i) issue_card(*ledger, storage_card(i), storage_balance);
    for (std::uint32_t reader : storage_readers) register_reader(*ledger, reader, 101, ReaderKind::bus_validator);
  }
  std::filesystem::create_directories(data);
  std::filesystem::create_directory_symlink(disk.root() / "ledger", data / "ledger");
  make_pki(data / "pki", pki::crl_validity(), {1, 2, 3});
}

// RocksDB says "No space left on device", the ledger's margin "no space left on device".
bool says_no_space(const std::string& text) { return is_out_of_space(Status::io_error(text)); }

const char* const storage_config = "[storage]\nrecovery_interval_ms = 100\nrecovery_interval_max_ms = 500\n";

// What the readers were told, tap by tap.
struct Told {
  std::mutex mutex;
  std::map<TapId, protocol::TapRecord> sent;
  std::map<TapId, protocol::DecisionRecord> decided;
  std::map<protocol::RetryReason, std::size_t> retry_later;  // batches, by why
  std::size_t links_lost = 0;
};

// A loaded machine may take seconds over a synced write.
uplink::UplinkOptions patient_options(const std::filesystem::path& pki_dir, ReaderId reader, std::uint16_t port) {
  uplink::UplinkOptions options = reader_options(pki_dir, reader, port);
  options.connect_timeout = std::chrono::milliseconds(10000);
  options.reply_timeout = std::chrono::milliseconds(10000);
  return options;
}

// One batch of `count` new taps of `reader`; its answer recorded.
std::optional<uplink::BatchReply> send_new(uplink::Uplink& link, ReaderId reader, std::uint64_t& sequence, int count,
                                           Told& told) {
  protocol::TapBatch batch;
  batch.batch_id = sequence + 1;
  for (int i = 0; i < count; ++i) {
    ++sequence;
    TapId id{reader, sequence};
    batch.taps.push_back(make_tap(reader.value, sequence, storage_card(card_of(id)), Mode::bus_board, 101,
                                  an_hour_ago_us() + static_cast<std::int64_t>(sequence)));
  }
  {
    std::lock_guard lock(told.mutex);
    for (const auto& tap : batch.taps) told.sent[tap.tap.id] = tap;
  }
  auto reply = link.submit(batch);
  std::lock_guard lock(told.mutex);
  if (!reply) {
    ++told.links_lost;
    return std::nullopt;
  }
  if (reply->kind == uplink::BatchReply::Kind::retry_later) {
    ++told.retry_later[reply->retry.why];
  } else {
    for (const auto& decision : reply->decisions.decisions) told.decided[decision.tap] = decision;
  }
  return *reply;
}

// Each reader sends batches until `stop`.
void load(const std::filesystem::path& pki_dir, ReaderId reader, std::uint16_t port, std::uint64_t first_sequence,
          Told& told, const std::atomic<bool>& stop) {
  uplink::Uplink link(patient_options(pki_dir, reader, port));
  if (!link.connect().is_ok()) {
    std::lock_guard lock(told.mutex);
    ++told.links_lost;
    return;
  }
  std::uint64_t sequence = first_sequence;
  while (!stop.load()) {
    auto reply = send_new(link, reader, sequence, 64, told);
    if (!reply) return;
    if (reply->kind == uplink::BatchReply::Kind::retry_later) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Verify passes, every decided tap is in the ledger with the fare its reader
// was told, and each wallet moved by exactly those fares.
void check_ledger(const std::filesystem::path& data, Told& told) {
  auto ledger = reopen_ledger(data / "ledger");
  auto report = ledger->verify();
  for (const auto& problem : report.problems) INFO(problem.kind + ": " + problem.detail);
  CHECK(report.ok());
  std::vector<std::int64_t> fares(storage_cards, 0);
  for (const auto& [id, decision] : told.decided) {
    auto transfers = ledger->transfers_for(IdempotencyKey::for_tap(id));
    INFO("tap " << id.reader.value << "/" << id.sequence);
    REQUIRE(transfers);
    std::int64_t moved = 0;
    for (const auto& stored : *transfers) {
      if (stored.transfer.code == TransferCode::fare) moved += stored.transfer.amount_minor;
    }
    CHECK(moved == decision.fare_minor);
    fares[static_cast<std::size_t>(card_of(id))] += decision.fare_minor;
  }
  for (int i = 0; i < storage_cards; ++i) {
    CHECK(wallet_of(*ledger, storage_card(i)) == storage_balance - fares[static_cast<std::size_t>(i)]);
  }
}

}  // namespace

TEST_CASE("a full disk under load stops the engine taking taps, not the engine, and it takes them again once freed") {
  citycard::testing::SmallDisk disk(small_disk_bytes);
  if (!disk.mounted()) {
    WARN("skipped: " << disk.refusal());
    return;
  }
  TempDir dir("engine-disk-full");
  make_ledger_on(disk, dir.path);
  EngineProcess engine(dir.path, storage_config);
  engine.start();
  const pid_t pid = engine.pid();
  const std::filesystem::path pki_dir = dir.path / "pki";

  // Taps flow; then the ballast takes every free byte. The load goes on
  // until the engine says its storage failed.
  Told told;
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (std::uint32_t reader : storage_readers) {
    readers.emplace_back([&, reader] { load(pki_dir, ReaderId{reader}, engine.port(), 0, told, stop); });
  }
  REQUIRE(eventually([&] {
    std::lock_guard lock(told.mutex);
    return told.decided.size() >= 300;
  }, std::chrono::seconds(60)));
  disk.fill_leaving(0);
  const bool failed = eventually([&] {
    disk.fill_leaving(0);  // what RocksDB frees (an obsolete log) is taken too
    return engine.log_count("event=storage_unavailable") > 0;
  }, std::chrono::seconds(120));
  INFO("engine log:\n" << engine.log_text());
  REQUIRE(failed);
  // Batches answered retry_later storage_unavailable, not a dead link.
  REQUIRE(eventually([&] {
    std::lock_guard lock(told.mutex);
    return told.retry_later[protocol::RetryReason::storage_unavailable] >= 3;
  }, std::chrono::seconds(60)));
  stop = true;
  for (auto& thread : readers) thread.join();
  CHECK(told.links_lost == 0);

  // While full: alive, one log line for the outage, reads served, the
  // operator's views say why.
  CHECK(engine.alive());
  CHECK(engine.pid() == pid);
  CHECK(engine.log_count("event=storage_unavailable") == 1);
  CHECK(engine.log_count("out_of_space=yes") >= 1);
  CHECK(metric(engine.metrics_port(), "citycard_storage_available") == 0);
  CHECK(metric(engine.metrics_port(), "citycard_taps_storage_unavailable_total") > 0);
  const std::string ping = admin_request(engine.admin_socket(), R"({"op":"ping"})");
  CHECK(ping.find(R"("storage":"unavailable")") != std::string::npos);
  CHECK(says_no_space(ping));
  int exit_code = -1;
  const std::string clerk = test_clerk(dir.path);
  const std::string cli = std::string(CLI_BINARY) + " --db " + (dir.path / "ledger").string() + " --clerk " + clerk + " ";
  std::string balance = run(cli + "balance " + storage_card(1), &exit_code);
  INFO(balance);
  CHECK(exit_code == 0);
  CHECK(balance.find("TWD") != std::string::npos);
  run(cli + "history " + storage_card(1) + " --limit 5", &exit_code);
  CHECK(exit_code == 0);
  run(cli + "rules show", &exit_code);
  CHECK(exit_code == 0);
  // A card-office write is refused with the reason, changing nothing.
  std::string topup = run(cli + "topup " + storage_card(1) + " 100 --ref op:9:1", &exit_code);
  CHECK(exit_code != 0);
  CHECK(topup.find("storage unavailable") != std::string::npos);
  // A new batch is answered at once, retry_later storage_unavailable.
  {
    uplink::Uplink link(patient_options(pki_dir, ReaderId{1}, engine.port()));
    REQUIRE(link.connect().is_ok());
    std::uint64_t sequence = 1'000'000;
    auto reply = send_new(link, ReaderId{1}, sequence, 8, told);
    REQUIRE(reply);
    REQUIRE(reply->kind == uplink::BatchReply::Kind::retry_later);
    CHECK(reply->retry.why == protocol::RetryReason::storage_unavailable);
  }

  // Space comes back: the engine finds it by itself.
  disk.free_filler();
  REQUIRE(engine.wait_for_log("event=storage_recovered", std::chrono::seconds(120)));
  CHECK(metric(engine.metrics_port(), "citycard_storage_available") == 1);
  CHECK(admin_request(engine.admin_socket(), R"({"op":"ping"})").find(R"("storage":"available")") != std::string::npos);
  // New taps are decided again, and every tap ever sent is decided now:
  // those answered before the disk filled with their first decision.
  {
    uplink::Uplink link(patient_options(pki_dir, ReaderId{2}, engine.port()));
    REQUIRE(link.connect().is_ok());
    std::uint64_t sequence = 2'000'000;
    auto reply = send_new(link, ReaderId{2}, sequence, 16, told);
    REQUIRE(reply);
    CHECK(reply->kind == uplink::BatchReply::Kind::decided);
  }
  const std::size_t decided_before_resend = told.decided.size();
  resend_all(pki_dir, engine.port(), told.sent, told.decided);
  CHECK(told.decided.size() == told.sent.size());
  CHECK(told.decided.size() > decided_before_resend);  // the taps answered retry_later
  CHECK(engine.pid() == pid);
  CHECK(engine.log_count("event=storage_unavailable") == 1);
  CHECK(engine.terminate() == 0);
  check_ledger(dir.path, told);
  run(cli + "verify", &exit_code);
  CHECK(exit_code == 0);
}

// The ledger made on the small disk, the disk filled, the engine launched;
// once it says it waits for space.
std::unique_ptr<EngineProcess> launch_on_full_disk(citycard::testing::SmallDisk& disk, const std::filesystem::path& data) {
  make_ledger_on(disk, data);
  disk.fill_leaving(0);
  auto engine = std::make_unique<EngineProcess>(data, storage_config);
  engine->launch();
  REQUIRE(engine->wait_for_log("event=start_waiting_for_storage", std::chrono::seconds(60)));
  return engine;
}

TEST_CASE("started on a full disk the engine waits for space instead of exiting, then starts by itself") {
  citycard::testing::SmallDisk disk(small_disk_bytes);
  if (!disk.mounted()) {
    WARN("skipped: " << disk.refusal());
    return;
  }
  TempDir dir("engine-start-full");
  auto engine = launch_on_full_disk(disk, dir.path);
  CHECK(says_no_space(engine->log_text()));
  // It keeps waiting, alive, and has said so once (again only after a minute).
  std::this_thread::sleep_for(std::chrono::seconds(2));
  CHECK(engine->alive());
  CHECK(!engine->ports_written());
  CHECK(engine->log_count("event=start_waiting_for_storage") == 1);
  CHECK(engine->log_count("event=start_failed") == 0);

  disk.free_filler();
  REQUIRE(eventually([&] { return engine->ports_written(); }, std::chrono::seconds(60)));
  CHECK(engine->alive());
  CHECK(admin_request(engine->admin_socket(), R"({"op":"ping"})").find(R"("storage":"available")") != std::string::npos);
  CHECK(engine->terminate() == 0);
  check_ledger_verifies(dir.path);
}

TEST_CASE("SIGTERM while waiting for space at start exits 0 at once") {
  citycard::testing::SmallDisk disk(small_disk_bytes);
  if (!disk.mounted()) {
    WARN("skipped: " << disk.refusal());
    return;
  }
  TempDir dir("engine-start-full-stop");
  auto engine = launch_on_full_disk(disk, dir.path);
  CHECK(engine->terminate() == 0);
  CHECK(engine->log_count("event=engine_stopped") == 1);
}

}  // namespace citycard::engine::testing
