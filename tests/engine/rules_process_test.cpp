// Rule set versions with citycard-engine as a process: `citycard rules load`
// through the admin API while readers tap over TLS, the switch at the
// business day's start by the taps' own event times, each role's right,
// and the versions still there after a restart and on a stopped ledger.
#include "clerk_fixture.h"
#include "edge_fixture.h"

#include <atomic>
#include <ctime>
#include <fstream>
#include <sstream>

#include "engine/groups/audit_entry.h"

namespace citycard::engine::testing {
namespace {

constexpr std::int64_t minute_us = 60LL * 1'000'000;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The city's rules with their business day starting at `start` (HH:MM,
// Taipei time), as `version`, from `effective_from`, the basic bus ride at
// `bus_fare`.
std::string city_rules_text(const std::string& start, std::uint32_t version, const std::string& effective_from,
                            std::int64_t bus_fare) {
  std::ifstream in(std::string(CITYCARD_SOURCE_DIR) + "/rules/city.toml");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  auto replace = [&](const std::string& from, const std::string& to) {
    REQUIRE(text.find(from) != std::string::npos);
    text.replace(text.find(from), from.size(), to);
  };
  replace("version = 4\n", "version = " + std::to_string(version) + "\n" +
                               (effective_from.empty() ? "" : "effective_from = \"" + effective_from + "\"\n"));
  replace("business_day_start = \"03:00\"", "business_day_start = \"" + start + "\"");
  replace("{ amount_minor = 15 },", "{ amount_minor = " + std::to_string(bus_fare) + " },");
  return text;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// "HH:MM" and "YYYY-MM-DD" of a whole minute in Taipei time (+08:00).
std::pair<std::string, std::string> taipei_minute_and_date(std::int64_t unix_us) {
  const std::time_t local = static_cast<std::time_t>(unix_us / 1'000'000 + 8 * 3600);
  std::tm parts{};
  ::gmtime_r(&local, &parts);
  char minute[8];
  char date[16];
  std::strftime(minute, sizeof minute, "%H:%M", &parts);
  std::strftime(date, sizeof date, "%Y-%m-%d", &parts);
  return {minute, date};
}

struct CliRun {
  int exit_code = -1;
  std::string output;
};

}  // namespace

TEST_CASE("citycard rules load: a version loaded into the running engine while readers tap rates the taps from its "
          "business day on") {
  TempDir dir("engine-rules-load");
  issue_cards(dir.path);
  make_pki(dir.path / "pki", pki::crl_validity(), {bus_reader, bus_reader_2});
  // The business day starts three minutes from now, so taps on both sides of
  // it are within the engine's five minutes of clock skew.
  const std::int64_t boundary_us = (now_us() / minute_us + 3) * minute_us;
  const auto [start, boundary_date] = taipei_minute_and_date(boundary_us);
  write_file(dir.path / "v1.toml", city_rules_text(start, 1, "", 15));
  write_file(dir.path / "v2.toml", city_rules_text(start, 2, boundary_date, 18));
  write_file(dir.path / "v2-changed.toml", city_rules_text(start, 2, boundary_date, 19));
  write_file(dir.path / "broken.toml", "version = 3\nutc_offset = \"+08:00\"\nbusiness_day_start = \"25:00\"\n");
  write_file(dir.path / "v3.toml", city_rules_text(start, 3, boundary_date, 20));
  EngineProcess engine(dir.path, {}, (dir.path / "v1.toml").string());
  engine.start();

  auto cli = [&](const std::string& clerk, ClerkRole role, const std::string& args) {
    CliRun run_result;
    const std::string command = std::string(CLI_BINARY) + " --db " + (dir.path / "ledger").string() + " --clerk " +
                                test_clerk(dir.path, clerk, role) + " " + args;
    run_result.output = run(command, &run_result.exit_code);
    return run_result;
  };
  auto shows = [](const CliRun& result, const std::string& part) {
    INFO(result.output);
    return result.output.find(part) != std::string::npos;
  };

  CliRun shown = cli("vic", ClerkRole::viewer, "rules show");
  CHECK(shown.exit_code == 0);
  CHECK(shows(shown, "version 1    in effect  from the start"));

  // Readers tap the minutes before the boundary while the office loads the
  // next version.
  Reader first(dir.path / "pki", ReaderId{bus_reader}, engine.port());
  Reader second(dir.path / "pki", ReaderId{bus_reader_2}, engine.port());
  REQUIRE(first.connect().is_ok());
  REQUIRE(second.connect().is_ok());
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::int64_t> tapped;  // (reader, sequence) -> event time
  std::mutex tapped_mutex;
  std::atomic<int> not_approved{0};
  auto tap_batch = [&](Reader& reader, std::uint32_t reader_id, std::int64_t event_us, int count) {
    std::vector<protocol::TapRecord> taps;
    for (int i = 0; i < count; ++i) {
      const std::uint64_t sequence = reader.next_sequence();
      taps.push_back(make_tap(reader_id, sequence, card_hex(static_cast<int>(sequence % card_count)), Mode::bus_board,
                              101, event_us + i));
      std::lock_guard lock(tapped_mutex);
      tapped[{reader_id, sequence}] = event_us + i;
    }
    auto decisions = reader.decide(std::move(taps));
    INFO(decisions.status().to_string());
    REQUIRE(decisions);
    for (const auto& decision : *decisions) not_approved += decision.outcome != protocol::Outcome::approved;
  };
  std::atomic<bool> load_done{false};
  std::thread before([&] {
    for (int batch = 0; batch < 10 || !load_done.load(); ++batch) {
      if (batch >= 40) break;  // the daily cap stays out of reach
      tap_batch(first, bus_reader, boundary_us - 2 * minute_us + batch * 1000, 2);
    }
  });
  CliRun clerk_load = cli("mei", ClerkRole::clerk, "rules load " + (dir.path / "v2.toml").string());
  CHECK(clerk_load.exit_code != 0);
  CHECK(shows(clerk_load, "clerk mei (clerk) may not install rule sets"));
  CliRun broken = cli("sue", ClerkRole::supervisor, "rules load " + (dir.path / "broken.toml").string());
  CHECK(broken.exit_code != 0);
  CHECK(shows(broken, "business_day_start"));
  CHECK(shows(broken, "nothing loaded"));
  CliRun loaded =
      cli("sue", ClerkRole::supervisor, "rules load " + (dir.path / "v2.toml").string() + " --reason 'new bus fares'");
  load_done = true;
  before.join();
  CHECK(loaded.exit_code == 0);
  CHECK(shows(loaded, "rule set version 2 installed: rates taps from the business day " + boundary_date + " (next)"));
  CliRun changed = cli("sue", ClerkRole::supervisor, "rules load " + (dir.path / "v2-changed.toml").string());
  CHECK(changed.exit_code != 0);
  CHECK(shows(changed, "version 2 is not newer than the installed version 2"));

  // Both readers on both sides of the boundary, interleaved.
  for (int round = 0; round < 5; ++round) {
    tap_batch(first, bus_reader, boundary_us - minute_us + round * 1000, 2);
    tap_batch(second, bus_reader_2, boundary_us + round * 1000, 2);
    tap_batch(second, bus_reader_2, boundary_us - 1 - round * 1000, 1);
    tap_batch(first, bus_reader, boundary_us + minute_us + round * 1000, 2);
  }
  CHECK(not_approved.load() == 0);
  first.close();
  second.close();

  shown = cli("vic", ClerkRole::viewer, "rules show");
  CHECK(shows(shown, "version 2    next       from " + boundary_date));
  CHECK(engine.terminate() == 0);

  // Stopped: the ledger's versions, and a load on it by the same rules.
  shown = cli("vic", ClerkRole::viewer, "rules show");
  CHECK(shown.exit_code == 0);
  CHECK(shows(shown, "version 2"));
  CliRun stopped_load = cli("ann", ClerkRole::supervisor, "rules load " + (dir.path / "v3.toml").string());
  CHECK(stopped_load.exit_code == 0);
  CHECK(shows(stopped_load, "rule set version 3 installed"));
  shown = cli("vic", ClerkRole::viewer, "rules show");
  CHECK(shows(shown, "version 2    superseded"));
  CHECK(shows(shown, "version 3    next"));
  CliRun audit = cli("aud", ClerkRole::auditor, "audit");
  CHECK(shows(audit, "rules load"));
  CHECK(shows(audit, "new bus fares"));

  // Every tap by the version of its own business day.
  {
    ledger::Options options;
    options.read_only = true;
    auto ledger = ledger::Ledger::open((dir.path / "ledger").string(), options);
    REQUIRE(ledger);
    CHECK((*ledger)->verify().ok());
    int after_boundary = 0;
    for (const auto& [tap, event_us] : tapped) {
      auto transfers = (*ledger)->transfers_for(IdempotencyKey::for_tap(TapId{ReaderId{tap.first}, tap.second}));
      REQUIRE(transfers);
      REQUIRE(transfers->size() == 1);
      const bool after = event_us >= boundary_us;
      after_boundary += after;
      INFO("reader " << tap.first << " sequence " << tap.second << " event " << event_us << " boundary " << boundary_us);
      CHECK(transfers->front().transfer.rule_set_version == (after ? 2u : 1u));
      CHECK(transfers->front().transfer.amount_minor == (after ? 18 : 15));
    }
    CHECK(after_boundary == 20);
  }

  // A restart with the same configured file keeps every version.
  engine.start();
  shown = cli("vic", ClerkRole::viewer, "rules show");
  CHECK(shows(shown, "version 3    next"));
  CHECK(engine.terminate() == 0);
}

}  // namespace citycard::engine::testing
