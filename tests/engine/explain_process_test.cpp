// `citycard explain --tap READER:SEQUENCE` through the real binary on a
// ledger the pipeline filled (engine/cli/ledger_explain.h): a bus-to-metro
// transfer explained step by step and agreeing with the ledger, JSON, the
// way from a history line, and each bad request's exit code and line.
#include <atomic>

#include <nlohmann/json.hpp>

#include "clerk_fixture.h"
#include "edge_fixture.h"
#include "engine_fixture.h"
#include "rule_store.h"

namespace citycard::engine::testing {

TEST_CASE("citycard explain --tap: a real tap explained step by step, as JSON, from history, and bad requests") {
  TempDir dir("engine-explain-cli");
  const std::string student_card = "0CE20002";
  {
    auto ledger = make_ledger(dir.path / "ledger");
    issue_card(*ledger, student_card, 500, RiderCategory::student);
    // The rule set the CLI finds in the ledger, as the engine's start installs it.
    auto file = read_rule_file(std::string(CITYCARD_SOURCE_DIR) + "/rules/city.toml");
    REQUIRE(file);
    Log log(std::tmpfile());
    auto book = open_rule_book(*ledger, *file, EventTime{monday_8am_us}, log);
    INFO(book.status().to_string());
    REQUIRE(book);
    EngineOptions options = Pipeline::quick_options();
    auto tick = std::make_shared<std::atomic<std::int64_t>>(0);
    options.clock = [tick] { return EventTime{Pipeline::engine_now_us + tick->fetch_add(1)}; };
    Pipeline pipeline(*ledger, *book, options);
    const std::int64_t minute = 60'000'000LL;
    REQUIRE(pipeline.tap(make_tap(bus_reader, 1, student_card, Mode::bus_board, 101, monday_8am_us, 10)).outcome ==
            protocol::Outcome::approved);
    REQUIRE(pipeline.tap(make_tap(metro_gate, 1, student_card, Mode::metro_in, 201, monday_8am_us + 20 * minute, 1001))
                .outcome == protocol::Outcome::approved);
    REQUIRE(pipeline.tap(make_tap(metro_gate, 2, student_card, Mode::metro_out, 201, monday_8am_us + 45 * minute, 1005))
                .outcome == protocol::Outcome::approved);
    REQUIRE(pipeline.tap(make_tap(bus_reader, 2, "0CE2FFFF", Mode::bus_board, 101, monday_8am_us + 50 * minute, 10))
                .outcome == protocol::Outcome::refused);
  }
  struct CliRun {
    int exit_code = -1;
    std::string output;
  };
  auto cli = [&](const std::string& args) {
    CliRun result;
    result.output = run(std::string(CLI_BINARY) + " --db " + (dir.path / "ledger").string() + " --clerk " +
                            test_clerk(dir.path, "vic", ClerkRole::viewer) + " " + args,
                        &result.exit_code);
    return result;
  };
  auto shows = [](const CliRun& result, const std::string& part) {
    INFO(result.output);
    return result.output.find(part) != std::string::npos;
  };

  CliRun entry = cli("explain --tap tap:18:1");
  CHECK(entry.exit_code == 0);
  CHECK(shows(entry, "tap:18:1 card " + student_card + ": metro_in at 2026-03-02 08:20:00"));
  CHECK(shows(entry, "replayed in arrival order with rule set version"));
  CHECK(shows(entry, "after 1 earlier tap"));
  CHECK(shows(entry, "  - transfer from leg group \"city_bus\" to \"metro\""));
  CHECK(shows(entry, "the ledger agrees"));
  CHECK(shows(entry, "is not closed yet"));

  CliRun json = cli("explain --tap 18:2 --json");
  REQUIRE(json.exit_code == 0);
  auto out = nlohmann::json::parse(json.output);
  CHECK(out["tap"] == "tap:18:2");
  CHECK(out["agrees"] == true);
  CHECK(out["replay"]["order"] == "arrival");
  CHECK(out["replay"]["fare_minor"] == out["ledger"]["fare_minor"]);
  CHECK(out["replay"]["taps_before"] == 2);
  CliRun global_json = cli("--json explain --tap 17:1");
  REQUIRE(global_json.exit_code == 0);
  CHECK(nlohmann::json::parse(global_json.output)["ledger"]["fare_minor"] == nlohmann::json::parse(global_json.output)["replay"]["fare_minor"]);

  CliRun history = cli("history " + student_card);
  CHECK(history.exit_code == 0);
  CHECK(shows(history, "why a tap cost what it cost: citycard explain --tap tap:18:2"));

  CliRun refused = cli("explain --tap 17:2");
  CHECK(refused.exit_code == 0);
  CHECK(shows(refused, "refused: card_unknown; no money moved"));

  CliRun malformed = cli("explain --tap 18");
  CHECK(malformed.exit_code == 2);
  CHECK(shows(malformed, "--tap '18' is not a tap (READER:SEQUENCE, or as history shows it: tap:17:5)"));
  CliRun unknown = cli("explain --tap 18:99");
  CHECK(unknown.exit_code == 1);
  CHECK(shows(unknown, "no tap record of 18:99"));
  CliRun no_tap = cli("explain");
  CHECK(no_tap.exit_code != 0);
  CHECK(shows(no_tap, "--tap is required"));
}

}  // namespace citycard::engine::testing
