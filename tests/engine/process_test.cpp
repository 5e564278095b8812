// citycard-engine as a process: killed with SIGKILL under load and
// restarted, every tap that got a decision is in the ledger exactly once and
// verify passes; SIGTERM drains and exits 0 with every decided tap durable.
#include "clerk_fixture.h"
#include "engine_fixture.h"
#include "engine_process.h"
#include "resend_fixture.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <rocksdb/db.h>

#include "calendar.h"
#include "deny_list_store.h"
#include "tap_records.h"
#include "engine/pki/pki.h"
#include "readers/uplink/uplink.h"

namespace citycard::engine::testing {
namespace {

constexpr int card_count = 50;
constexpr std::int64_t initial_balance = 9000;
constexpr int reader_count = 3;

std::string card_hex(int i) {
  char text[16];
  std::snprintf(text, sizeof text, "0C%08X", i);
  return text;
}

// The engine runs on the real clock and refuses taps older than offline
// retention (7 days): the load is dated from 5 days ago, a second per tap.
std::int64_t load_day_us() {
  static const std::int64_t start =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count() -
      5 * 24 * 3'600'000'000LL;
  return start;
}

// What readers were told, per tap.
struct Told {
  std::mutex mutex;
  std::map<TapId, protocol::DecisionRecord> decisions;
  std::map<TapId, protocol::TapRecord> sent;
};

// Sends batches until told to stop or the link breaks; records decisions.
void load(const std::filesystem::path& pki_dir, ReaderId reader, std::uint16_t port, Told& told,
          const std::atomic<bool>& stop) {
  uplink::Uplink link(reader_options(pki_dir, reader, port));
  if (!link.connect().is_ok()) return;
  std::uint64_t sequence = 0;
  std::uint64_t batch_id = 0;
  while (!stop.load()) {
    protocol::TapBatch batch;
    batch.batch_id = ++batch_id;
    for (int i = 0; i < 32; ++i) {
      ++sequence;
      int card = static_cast<int>((sequence * 7 + reader.value) % card_count);
      auto tap = make_tap(reader.value, sequence, card_hex(card), Mode::bus_board, 101,
                          load_day_us() + static_cast<std::int64_t>(sequence) * 1'000'000);
      batch.taps.push_back(tap);
    }
    {
      std::lock_guard lock(told.mutex);
      for (const auto& tap : batch.taps) told.sent[tap.tap.id] = tap;
    }
    auto reply = link.submit(batch);
    if (!reply) return;  // the engine went away
    if (reply->kind == uplink::BatchReply::Kind::retry_later) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;  // these taps are resent later with the rest
    }
    std::lock_guard lock(told.mutex);
    for (const auto& decision : reply->decisions.decisions) told.decisions[decision.tap] = decision;
  }
}

void issue_cards_and_readers(const std::filesystem::path& data) {
  auto ledger = make_ledger(data / "ledger");
  for (int i = 0; i < card_count; ++i) issue_card(*ledger, card_hex(i), initial_balance);
  for (std::uint32_t r = 1; r <= reader_count; ++r) register_reader(*ledger, r, 101, ReaderKind::bus_validator);
}

void issue_readers(const std::filesystem::path& pki_dir) {
  for (std::uint32_t r = 1; r <= reader_count; ++r) {
    if (!std::filesystem::exists(pki::Paths{pki_dir}.reader_certificate(ReaderId{r}))) {
      REQUIRE(pki::issue_reader(pki_dir, ReaderId{r}).is_ok());
    }
  }
}

// Every decided tap is in the ledger once: its key is there, and each card's
// wallet moved by exactly the fares its decisions name.
void check_ledger(const std::filesystem::path& data, Told& told, bool all_decided) {
  auto ledger = reopen_ledger(data / "ledger");
  auto report = ledger->verify();
  for (const auto& problem : report.problems) INFO(problem.kind + ": " + problem.detail);
  CHECK(report.ok());
  std::vector<std::int64_t> fares(card_count, 0);
  for (const auto& [id, decision] : told.decisions) {
    auto transfers = ledger->transfers_for(IdempotencyKey::for_tap(id));
    REQUIRE(transfers);
    int card = static_cast<int>((id.sequence * 7 + id.reader.value) % card_count);
    fares[static_cast<std::size_t>(card)] += decision.fare_minor;
    std::int64_t moved = 0;
    for (const auto& stored : *transfers) {
      if (stored.transfer.code == TransferCode::fare) moved += stored.transfer.amount_minor;
    }
    CHECK(moved == decision.fare_minor);
  }
  // Each decided tap's record is in the same write as its decision: there,
  // once, saying what the reader was told; after the resend every tap has one.
  std::map<TapId, RecordedTap> records;
  auto snapshot = ledger->snapshot();
  REQUIRE(snapshot->scan_records(ledger::RecordSpace::tap_records, "", [&](std::string_view key, std::string_view value) {
    auto record = decode_recorded_tap(key, value);
    INFO(record.status().to_string());
    REQUIRE(record);
    CHECK(record->origin == Origin::tap);
    CHECK(records.emplace(record->tap.id, *record).second);
    return true;
  }));
  for (const auto& [id, decision] : told.decisions) {
    auto found = records.find(id);
    REQUIRE(found != records.end());
    CHECK(found->second.outcome == decision.outcome);
    CHECK(found->second.reason == decision.reason);
    CHECK(found->second.fare_minor == decision.fare_minor);
  }
  if (all_decided) CHECK(records.size() == told.decisions.size());
  // The load is real: most taps were rated and paid for, not refused.
  std::size_t approved = 0;
  for (const auto& [id, decision] : told.decisions) approved += decision.outcome == protocol::Outcome::approved;
  CHECK(approved * 2 > told.decisions.size());
  if (all_decided) {
    for (int i = 0; i < card_count; ++i) CHECK(wallet_of(*ledger, card_hex(i)) == initial_balance - fares[static_cast<std::size_t>(i)]);
  }
}

std::size_t run_load(const std::filesystem::path& pki_dir, std::uint16_t port, Told& told,
                     std::chrono::milliseconds how_long, const std::function<void()>& then) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (std::uint32_t r = 1; r <= reader_count; ++r) {
    readers.emplace_back([&, r] { load(pki_dir, ReaderId{r}, port, told, stop); });
  }
  std::this_thread::sleep_for(how_long);
  then();
  stop = true;
  for (auto& thread : readers) thread.join();
  std::lock_guard lock(told.mutex);
  return told.decisions.size();
}

// Runs the citycard CLI on the data directory's ledger; its output.
std::string run_cli(const std::filesystem::path& data, const std::string& args) {
  std::string command = std::string(CLI_BINARY) + " --db " + (data / "ledger").string() + " --clerk " + test_clerk(data) + " " +
                        args + " 2>&1";
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  int status = ::pclose(pipe);
  INFO(command << "\n" << output);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  return output;
}

// The deny list as a reader with `version` asks for it: one delta, or every
// page of a snapshot. Returns the answer's first frame flags too.
struct Fetched {
  std::uint8_t first_flags = 0;
  std::uint64_t from_version = 0;
  std::uint64_t to_version = 0;
  std::vector<CardId> added;
  std::vector<CardId> removed;
};
Fetched fetch_deny_list(uplink::Uplink& link, std::uint64_t version) {
  Fetched fetched;
  protocol::DenyListRequest request{version, 0, {}};
  for (int frame = 0;; ++frame) {
    auto delta = link.deny_list(request, std::chrono::steady_clock::now() + std::chrono::seconds(10));
    INFO(delta.status().to_string());
    REQUIRE(delta);
    if (frame == 0) {
      fetched.first_flags = delta->flags;
      fetched.from_version = delta->from_version;
    }
    fetched.to_version = delta->to_version;
    fetched.added.insert(fetched.added.end(), delta->added.begin(), delta->added.end());
    fetched.removed.insert(fetched.removed.end(), delta->removed.begin(), delta->removed.end());
    if ((delta->flags & protocol::DenyListDelta::flag_more) == 0) return fetched;
    REQUIRE((delta->flags & (protocol::DenyListDelta::flag_full | protocol::DenyListDelta::flag_page)) != 0);
    request = protocol::DenyListRequest{version, delta->to_version, fetched.added.back()};
  }
}

}  // namespace

TEST_CASE("the engine killed with SIGKILL under load loses no decided tap and doubles none") {
  TempDir dir("engine-sigkill");
  issue_cards_and_readers(dir.path);
  EngineProcess engine(dir.path);
  engine.start();
  issue_readers(dir.path / "pki");
  Told told;
  std::size_t decided = run_load(dir.path / "pki", engine.port(), told, std::chrono::milliseconds(1500),
                                 [&] { engine.kill_now(); });
  INFO("decided before the kill: " << decided << ", sent: " << told.sent.size());
  CHECK(decided > 100);
  CHECK(told.sent.size() >= decided);
  // What was decided is durable, even before the restart.
  check_ledger(dir.path, told, false);

  engine.start();
  resend_all(dir.path / "pki", engine.port(), told.sent, told.decisions);
  CHECK(told.decisions.size() == told.sent.size());
  CHECK(engine.terminate() == 0);
  check_ledger(dir.path, told, true);
}

TEST_CASE("SIGTERM under load drains: exit 0 and every decided tap durable") {
  TempDir dir("engine-sigterm");
  issue_cards_and_readers(dir.path);
  EngineProcess engine(dir.path);
  engine.start();
  issue_readers(dir.path / "pki");
  Told told;
  int exit_code = -2;
  std::size_t decided = run_load(dir.path / "pki", engine.port(), told, std::chrono::milliseconds(800),
                                 [&] { exit_code = engine.terminate(); });
  CHECK(exit_code == 0);
  CHECK(decided > 100);
  std::ifstream log(dir.path / "engine.log");
  std::stringstream text;
  text << log.rdbuf();
  CHECK(text.str().find("event=engine_stopped") != std::string::npos);
  // It ran on the huge page heap (pipeline.huge_page_heap, on by default);
  // a sanitizer build has no tcmalloc and says so.
#ifdef __SANITIZE_ADDRESS__
  CHECK(text.str().find("event=huge_page_heap_unavailable") != std::string::npos);
  CHECK(text.str().find(" heap=default") != std::string::npos);
  CHECK(text.str().find(" heap_reserve_mib=0") != std::string::npos);
#else
  CHECK(text.str().find(" heap=huge_pages") != std::string::npos);
  // Its reserve follows the test's small ledger: 3 x 8 memtables of 4 MiB and a cache of 8
  // make 104 MiB, two regions of 64.
  CHECK(text.str().find(" heap_reserve_mib=128") != std::string::npos);
#endif
  CHECK(!std::filesystem::exists(dir.path / "engine.sock"));
  check_ledger(dir.path, told, false);
}

// Marks the ledger as written by an older build (format /4 is read as it is),
// behind the ledger's back.
void store_older_format(const std::filesystem::path& ledger_dir) {
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), ledger_dir.string(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& name : names) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions(), ledger_dir.string(), families, &handles, &raw).ok());
  CHECK(raw->Put(rocksdb::WriteOptions(), handles[0], "format", "citycard-ledger/4").ok());  // [0]: "default"
  for (auto* handle : handles) raw->DestroyColumnFamilyHandle(handle);
  delete raw;
}

TEST_CASE("the engine and the CLI say when they upgrade a ledger of an older format, and only then") {
  TempDir dir("engine-upgrade");
  issue_cards_and_readers(dir.path);
  store_older_format(dir.path / "ledger");
  const std::string upgraded = "upgraded from format 'citycard-ledger/4' to 'citycard-ledger/5'";
  CHECK(run_cli(dir.path, "--json balance " + card_hex(1)).find(upgraded) == std::string::npos);  // read only
  CHECK(run_cli(dir.path, "topup " + card_hex(1) + " 100 --ref op:9:1").find(upgraded) != std::string::npos);
  CHECK(run_cli(dir.path, "topup " + card_hex(1) + " 100 --ref op:9:2").find(upgraded) == std::string::npos);

  store_older_format(dir.path / "ledger");
  auto log_of_one_start = [&] {
    std::filesystem::remove(dir.path / "engine.log");  // appended to by each start
    EngineProcess engine(dir.path);
    engine.start();
    CHECK(engine.terminate() == 0);
    return engine.log_text();
  };
  CHECK(log_of_one_start().find("event=ledger_upgraded") != std::string::npos);
  const std::string second = log_of_one_start();
  CHECK(second.find("event=engine_started") != std::string::npos);
  CHECK(second.find("event=ledger_upgraded") == std::string::npos);
}

TEST_CASE("the CLI goes through the running engine's admin socket, and straight to the ledger without it") {
  TempDir dir("engine-cli");
  issue_cards_and_readers(dir.path);
  // Refunds at once here (all of a wallet, below): four eyes has its own
  // test (clerk_process_test.cpp).
  EngineProcess engine(dir.path, "[admin]\nfour_eyes_minor = 0\n");
  engine.start();
  // Runs the CLI on the test's ledger; `succeeds` says which exit it must have.
  auto run_cli_as = [&](const std::string& clerk, const std::string& args, bool succeeds) {
    std::string command =
        std::string(CLI_BINARY) + " --db " + (dir.path / "ledger").string() + " --clerk " + clerk + " " + args + " 2>&1";
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    int status = ::pclose(pipe);
    INFO(command << "\n" << output);
    CHECK(WIFEXITED(status));
    CHECK((WEXITSTATUS(status) == 0) == succeeds);
    return output;
  };
  auto run_cli = [&](const std::string& args, bool succeeds) { return run_cli_as(test_clerk(dir.path), args, succeeds); };
  auto cli = [&](const std::string& args) { return run_cli(args, true); };
  auto refused = [&](const std::string& args) { return run_cli(args, false); };
  std::string card = card_hex(1);
  CHECK(cli("topup " + card + " 100 --ref op:9:1").find("wallet 9100 TWD") != std::string::npos);
  CHECK(cli("topup " + card + " 100 --ref op:9:1").find("already done") != std::string::npos);
  // The same reference for another amount is a mistake, not a retry.
  CHECK(refused("topup " + card + " 500 --ref op:9:1").find("op:9:1 was used for another request") != std::string::npos);
  CHECK(cli("refund " + card + " 40").find("wallet 9060 TWD") != std::string::npos);
  CHECK(cli("card lost " + card).find("is lost") != std::string::npos);
  CHECK(cli("card replace " + card + " 0DDDDDDD01").find("moved 9060 TWD") != std::string::npos);
  CHECK(cli("--json balance 0DDDDDDD01").find("\"wallet_minor\":9060") != std::string::npos);
  CHECK(cli("history 0DDDDDDD01").find("balance_move") != std::string::npos);
  // The reader registry, through the engine: in force for the next tap.
  CHECK(cli("reader add --id 77 --operator 201 --modes metro_in,metro_out --location 1001 --ref op:9:7")
            .find("registered reader 77: metro_gate of operator 201") != std::string::npos);
  CHECK(cli("reader add --id 77 --operator 201 --modes metro_in,metro_out --location 1001 --ref op:9:7")
            .find("already done") != std::string::npos);
  CHECK(cli("reader suspend 77").find("suspended") != std::string::npos);
  CHECK(cli("--json reader list").find("\"id\":77") != std::string::npos);
  CHECK(refused("reader add --id 78 --operator 101 --modes bus_board,top_up --kind bus_validator").find("top_up") !=
        std::string::npos);
  CHECK(refused("reader add --id 78 --operator 4242 --modes bus_board").find("operator 4242 is not registered") !=
        std::string::npos);
  // The card office's bulk work while the engine runs (the ledger is the
  // engine's: these succeed only through it).
  {
    std::ofstream roster(dir.path / "cards.csv");
    roster << "card,category,media\n0E00000001,general,card\n0E00000002,student,card\n";
  }
  const std::string cards_csv = (dir.path / "cards.csv").string();
  CHECK(cli("card import " + cards_csv).find("issued 2 cards (0 already issued)") != std::string::npos);
  CHECK(cli("card import " + cards_csv).find("issued 0 cards (2 already issued)") != std::string::npos);
  CHECK(refused("card issue 0E00000001").find("is already issued") != std::string::npos);
  CHECK(cli("topup 0E00000002 70").find("wallet 70 TWD") != std::string::npos);
  CHECK(cli("operator add --id 951 --name \"Riverside Bikes\" --reason \"contract 2026-17\"").find("operator 951") != std::string::npos);
  CHECK(cli("--json operator list").find("Riverside Bikes") != std::string::npos);
  // A card's balance moved by an import is the engine's balance at once: the
  // refund of all of it is allowed only if the shard read it again.
  const std::string touched = card_hex(2);
  CHECK(cli("refund " + touched + " 10").find("wallet 8990 TWD") != std::string::npos);
  {
    std::ofstream rows(dir.path / "transfers.csv");
    rows << "ref,debit,credit,amount,code\n"
         << "op:9:60,topup_float,card:" << touched << ",250,top_up\n"
         << "op:9:61,topup_float,card:0E00000001,30,top_up\n";
  }
  const std::string transfers_csv = (dir.path / "transfers.csv").string();
  CHECK(cli("transfers import " + transfers_csv).find("posted 2 groups (2 transfers), 0 already posted") != std::string::npos);
  CHECK(cli("transfers import " + transfers_csv).find("posted 0 groups (0 transfers), 2 already posted") != std::string::npos);
  CHECK(cli("refund " + touched + " 9240").find("wallet 0 TWD") != std::string::npos);
  CHECK(cli("--json balance 0E00000001").find("\"wallet_minor\":30") != std::string::npos);
  {
    std::ofstream rows(dir.path / "bad-transfers.csv");
    rows << "ref,debit,credit,amount,code\n"
         << "op:9:62,topup_float,card:0E00000001,5,top_up\n"
         << "op:9:63,topup_float,card:0E000000FF,5,top_up\n"
         << "op:9:64,topup_float,card:0E00000001,-5,top_up\n";
  }
  std::string bad_rows = refused("transfers import " + (dir.path / "bad-transfers.csv").string());
  CHECK(bad_rows.find("bad-transfers.csv:4: amount") != std::string::npos);
  CHECK(cli("--json balance 0E00000001").find("\"wallet_minor\":30") != std::string::npos);
  // Each is in the audit trail, naming the clerk, his role and reason.
  std::string trail = run_cli_as(test_clerk(dir.path, "ann", ClerkRole::auditor), "audit", true);
  INFO(trail);
  CHECK(trail.find("supervisor (supervisor) card import done: issued 2 cards, 0E00000001 to 0E00000002") != std::string::npos);
  CHECK(trail.find("operator add done (contract 2026-17): operator 951 'Riverside Bikes'") != std::string::npos);
  CHECK(trail.find("transfer import done: line 2: topup_float -> card:" + touched + " 250 top_up [op:9:60]") !=
        std::string::npos);
  CHECK(trail.find("op:9:62") == std::string::npos);  // the refused import wrote nothing
  CHECK(engine.terminate() == 0);
  // Without the engine the same commands use the ledger.
  CHECK(cli("refund 0DDDDDDD01 60").find("wallet now 9000 TWD") != std::string::npos);
  // The engine's rules on the ledger too: no refund past the wallet, one
  // meaning per reference.
  CHECK(refused("refund 0DDDDDDD01 9001").find("holds 9000 TWD; cannot refund 9001") != std::string::npos);
  CHECK(cli("topup 0DDDDDDD01 100 --ref op:9:50").find("wallet now 9100 TWD") != std::string::npos);
  CHECK(cli("topup 0DDDDDDD01 100 --ref op:9:50").find("already done") != std::string::npos);
  CHECK(refused("topup 0DDDDDDD01 200 --ref op:9:50").find("op:9:50 was used for another request") != std::string::npos);
  CHECK(cli("refund 0DDDDDDD01 100").find("wallet now 9000 TWD") != std::string::npos);
  CHECK(cli("reader activate 77").find("active") != std::string::npos);
  CHECK(cli("reader show 77").find("location 1001") != std::string::npos);
  CHECK(refused("reader retire 79").find("reader 79 is not registered") != std::string::npos);
  // Certificates only for registered readers.
  const std::string pki_dir = (dir.path / "pki").string();
  CHECK(refused("pki issue-reader --dir " + pki_dir + " --reader-id 4242").find("reader 4242 is not registered") !=
        std::string::npos);
  CHECK(!std::filesystem::exists(pki::Paths{pki_dir}.reader_certificate(ReaderId{4242})));
  CHECK(cli("pki issue-reader --dir " + pki_dir + " --reader-id 77").find("reader 77 certificate") != std::string::npos);
  {
    std::ofstream roster(dir.path / "readers.csv");
    roster << "reader,operator,kind,modes,route,location,amount_max,offline_max\n"
           << "80,801,parking_terminal,pay,0,7,3000,1000\n"
           << "81,801,,top_up,0,7,5000,0\n";
  }
  CHECK(cli("reader import " + (dir.path / "readers.csv").string()).find("2 readers registered, 0 already were") !=
        std::string::npos);
  CHECK(cli("reader import " + (dir.path / "readers.csv").string()).find("0 readers registered, 2 already were") !=
        std::string::npos);
  {
    std::ofstream roster(dir.path / "bad.csv");
    roster << "82,101,bus_validator,bus_board;top_up,0,0,0,0\n83,101,,bus_board,x,0,0,0\n";
  }
  std::string bad = refused("reader import " + (dir.path / "bad.csv").string());
  CHECK(bad.find("bad.csv:1: modes: a bus_validator may not send top_up") != std::string::npos);
  CHECK(bad.find("bad.csv:2: route") != std::string::npos);
  CHECK(refused("reader show 82").find("not registered") != std::string::npos);
  CHECK(cli("verify").find("OK") != std::string::npos);
}

// The business day (rules/city.toml: +08:00, from 03:00) of a moment, as YYYY-MM-DD.
std::string business_day_text(std::int64_t unix_us, int days_later = 0) {
  std::time_t local = static_cast<std::time_t>(unix_us / 1'000'000 + (8 - 3) * 3600 + days_later * 86400);
  std::tm parts{};
  gmtime_r(&local, &parts);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &parts);
  return text;
}

TEST_CASE("settle close goes through the running engine while readers tap over TLS, and through the ledger without it") {
  TempDir dir("engine-settle");
  issue_cards_and_readers(dir.path);
  EngineProcess engine(dir.path);
  engine.start();
  issue_readers(dir.path / "pki");
  // The settlement clerk closes the day; a counter clerk may not.
  const std::string settlement_clerk = test_clerk(dir.path, "sam", ClerkRole::settlement);
  const std::string counter_clerk = test_clerk(dir.path, "mei", ClerkRole::clerk);
  auto run_cli_as = [&](const std::string& clerk, const std::string& args, bool succeeds) {
    std::string command =
        std::string(CLI_BINARY) + " --db " + (dir.path / "ledger").string() + " --clerk " + clerk + " " + args + " 2>&1";
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    int status = ::pclose(pipe);
    INFO(command << "\n" << output);
    CHECK(WIFEXITED(status));
    CHECK((WEXITSTATUS(status) == 0) == succeeds);
    return output;
  };
  auto run_cli = [&](const std::string& args, bool succeeds) { return run_cli_as(settlement_clerk, args, succeeds); };
  const std::string settle = "settle --out " + (dir.path / "settlement").string() + " --keys " + (dir.path / "settlement-keys").string() +
                             " --rules " + CITYCARD_SOURCE_DIR + "/rules/city.toml ";
  run_cli(settle + "keygen", true);
  const std::string day = business_day_text(load_day_us());
  const std::string next_day = business_day_text(load_day_us(), 1);

  const std::string supervisor = test_clerk(dir.path);
  {
    std::ofstream roster(dir.path / "cards.csv");
    roster << "card,category,media\n0E00000011,general,card\n0E00000012,senior,card\n";
  }
  auto office_while_tapping = [&] {
    auto office = [&](const std::string& args) { return run_cli_as(supervisor, args, true); };
    CHECK(office("topup " + card_hex(3) + " 100 --ref op:7:1 --reason \"cash\"").find("topped up 100 TWD") != std::string::npos);
    CHECK(office("topup " + card_hex(3) + " 100 --ref op:7:1").find("already done") != std::string::npos);
    CHECK(office("refund " + card_hex(3) + " 10").find("refunded 10 TWD") != std::string::npos);
    CHECK(office("card block " + card_hex(5)).find("is blocked") != std::string::npos);
    CHECK(office("card unblock " + card_hex(5)).find("is active") != std::string::npos);
    CHECK(office("card replace " + card_hex(7) + " 0DDDDDDD07").find("replaced by 0DDDDDDD07") != std::string::npos);
    CHECK(office("card import " + (dir.path / "cards.csv").string()).find("issued 2 cards") != std::string::npos);
    CHECK(office("card issue 0E00000013").find("issued") != std::string::npos);
  };
  Told told;
  std::size_t decided_before_close = 0;
  std::size_t decided_after_close = 0;
  std::string closed;
  run_load(dir.path / "pki", engine.port(), told, std::chrono::milliseconds(800), [&] {
    {
      std::lock_guard lock(told.mutex);
      decided_before_close = told.decisions.size();
    }
    // The card office's work on cards the readers are tapping, while they tap.
    office_while_tapping();
    closed = run_cli(settle + "close --day " + day, true);
    std::lock_guard lock(told.mutex);
    decided_after_close = told.decisions.size();
  });
  CHECK(closed.find("business day " + day + " closed") != std::string::npos);
  CHECK(run_cli_as(counter_clerk, settle + "close --day " + next_day, false).find("clerk mei (clerk) may not close a business day") !=
        std::string::npos);
  CHECK(decided_before_close > 100);
  CHECK(decided_after_close > decided_before_close);  // the readers' taps kept being decided
  // The files reconcile with the ledger, read beside the running engine.
  CHECK(run_cli(settle + "verify --day " + day, true).find("reconciles with the ledger") != std::string::npos);
  CHECK(run_cli(settle + "close --day " + day, true).find("already closed") != std::string::npos);
  // One source of the business day: the rule set.
  CHECK(run_cli(settle + "--close-time 04:00 close --day " + next_day, false).find("rule set") != std::string::npos);
  CHECK(run_cli(settle + "close --day 2999-01-01", false).find("not over") != std::string::npos);
  // The engine writes and signs only in its own directories.
  CHECK(run_cli("settle --out " + (dir.path / "elsewhere").string() + " close --day " + next_day, false)
            .find("the engine's settlement directory is") != std::string::npos);
  CHECK(!std::filesystem::exists(dir.path / "elsewhere"));
  CHECK(engine.terminate() == 0);

  // Stopped: the same commands on the ledger. Taps of the closed day
  // decided after its close are late lines of the next one.
  CHECK(run_cli(settle + "verify --day " + day, true).find("reconciles with the ledger") != std::string::npos);
  CHECK(run_cli(settle + "close --day " + next_day, true).find("business day " + next_day + " closed") != std::string::npos);
  CHECK(run_cli(settle + "verify --day " + next_day, true).find("reconciles with the ledger") != std::string::npos);
  CHECK(run_cli_as(counter_clerk, settle + "close --day " + next_day, false).find("clerk mei (clerk) may not close a business day") !=
        std::string::npos);
  // Each close asked for is in the audit trail, on either path, refused ones too.
  const std::string trail = run_cli_as(test_clerk(dir.path, "aud", ClerkRole::auditor), "audit", true);
  INFO(trail);
  CHECK(trail.find("sam (settlement) settle close done: closed " + day + ": ") != std::string::npos);
  CHECK(trail.find("sam (settlement) settle close done: business day " + day + " was closed before") != std::string::npos);
  CHECK(trail.find("sam (settlement) settle close refused: close of 2999-01-01: business day 2999-01-01 is not over") !=
        std::string::npos);
  CHECK(trail.find("refused: close of " + next_day + ": the engine's settlement directory is") != std::string::npos);
  CHECK(trail.find("mei (clerk) settle close refused: clerk mei (clerk) may not close a business day") != std::string::npos);
  CHECK(trail.find("mei (clerk) settle close refused: close of " + next_day + ": clerk mei (clerk) may not close a business day") !=
        std::string::npos);
  CHECK(trail.find("sam (settlement) settle close done: closed " + next_day + ": ") != std::string::npos);
  check_ledger(dir.path, told, false);
}

}  // namespace citycard::engine::testing

namespace citycard::engine::testing {

TEST_CASE("citycard-engine's deny list: cards blocked with the CLI while it is stopped reach readers as a delta, and "
          "after SIGKILL, a full snapshot") {
  TempDir dir("engine-deny");
  issue_cards_and_readers(dir.path);
  EngineProcess engine(dir.path);
  engine.start();
  issue_readers(dir.path / "pki");
  const ReaderId reader{1};
  auto card = [](int i) { return *CardId::parse(card_hex(i)); };

  std::uint64_t version = 0;
  {
    uplink::Uplink link(reader_options(dir.path / "pki", reader, engine.port()));
    REQUIRE(link.connect().is_ok());
    Fetched first = fetch_deny_list(link, 0);
    CHECK(first.added.empty());
    version = first.to_version;
    CHECK(version == link.session().deny_list_version);
    // Through the running engine's admin socket.
    CHECK(run_cli(dir.path, "card lost " + card_hex(1)).find("is lost") != std::string::npos);
    Fetched lost = fetch_deny_list(link, version);
    CHECK(lost.first_flags == 0);
    CHECK(lost.added == std::vector<CardId>{card(1)});
    version = lost.to_version;
  }
  CHECK(engine.terminate() == 0);

  // The engine is stopped: the CLI writes the ledger itself.
  CHECK(run_cli(dir.path, "card block " + card_hex(2)).find("is now blocked") != std::string::npos);
  CHECK(run_cli(dir.path, "card replace " + card_hex(3) + " 0DDDDDDD03").find("replaced by") != std::string::npos);

  engine.start();
  {
    uplink::Uplink link(reader_options(dir.path / "pki", reader, engine.port()));
    Status connected = link.connect();
    INFO(connected.to_string());
    REQUIRE(connected.is_ok());
    // The same epoch: the reader's version still means what it did, and the
    // delta from it is exactly what the CLI did.
    std::ifstream started_log(dir.path / "engine.log");
    std::stringstream started_text;
    started_text << started_log.rdbuf();
    INFO(started_text.str());
    CHECK(link.session().deny_list_version == version + 2);
    Fetched delta = fetch_deny_list(link, version);
    CHECK(delta.first_flags == 0);
    CHECK(delta.from_version == version);
    CHECK(delta.added == std::vector<CardId>{card(2), card(3)});
    CHECK(delta.removed.empty());
    version = delta.to_version;
    Fetched whole = fetch_deny_list(link, 0);
    CHECK(whole.added == std::vector<CardId>{card(1), card(2), card(3)});
  }
  engine.kill_now();

  engine.start();
  uplink::Uplink link(reader_options(dir.path / "pki", reader, engine.port()));
  Status connected = link.connect();
  INFO(connected.to_string());
  REQUIRE(connected.is_ok());
  // A new epoch: the old version is unknown, so the reader gets everything.
  CHECK((link.session().deny_list_version >> deny_sequence_bits) == (version >> deny_sequence_bits) + 1);
  Fetched after_crash = fetch_deny_list(link, version);
  CHECK((after_crash.first_flags & protocol::DenyListDelta::flag_full) != 0);
  CHECK(after_crash.added == std::vector<CardId>{card(1), card(2), card(3)});
  link.close();  // else the engine's drain waits for this reader to hang up
  CHECK(engine.terminate() == 0);
  std::ifstream log(dir.path / "engine.log");
  std::stringstream text;
  text << log.rdbuf();
  CHECK(text.str().find("new epoch: the engine did not stop cleanly") != std::string::npos);
}

TEST_CASE("a usage report reads the ledger while the engine decides taps, and counts every tap decided before it began") {
  TempDir dir("engine-report-running");
  issue_cards_and_readers(dir.path);
  EngineProcess engine(dir.path);
  engine.start();
  issue_readers(dir.path / "pki");
  const rules::RuleSet& rules = city_rules();
  const std::int32_t day =
      rules::LocalCalendar(rules.utc_offset_minutes, rules.business_day_start_minutes).business_day(EventTime{load_day_us()});
  // The load is a second per tap from its start: two business days hold it.
  const std::string report = "report usage --by mode --json --from " + rules::format_date_days(day) + " --to " +
                             rules::format_date_days(day + 1);
  Told told;
  std::size_t decided_before = 0;
  nlohmann::json during;
  run_load(dir.path / "pki", engine.port(), told, std::chrono::milliseconds(800), [&] {
    {
      std::lock_guard lock(told.mutex);
      decided_before = told.decisions.size();
    }
    during = nlohmann::json::parse(run_cli(dir.path, report), nullptr, false);
  });
  REQUIRE(during.is_object());
  CHECK(decided_before > 100);
  // Everything decided is durable before the reader hears it, so the report sees at least that.
  const std::uint64_t taps_during = during["total"]["taps"].get<std::uint64_t>();
  CHECK(taps_during >= decided_before);
  CHECK(engine.terminate() == 0);

  const nlohmann::json after = nlohmann::json::parse(run_cli(dir.path, report), nullptr, false);
  REQUIRE(after.is_object());
  std::uint64_t approved = 0;
  std::int64_t fares = 0;
  for (const auto& [id, decision] : told.decisions) {
    approved += decision.outcome == protocol::Outcome::approved;
    fares += decision.fare_minor;
  }
  CHECK(after["total"]["taps"] == told.decisions.size());
  CHECK(after["total"]["approved"] == approved);
  CHECK(after["total"]["fare_minor"] == fares);
  CHECK(after["total"]["taps"].get<std::uint64_t>() >= taps_during);
  REQUIRE(after["groups"].size() == 1);
  CHECK(after["groups"][0]["mode"] == "bus_board");
}

}  // namespace citycard::engine::testing
