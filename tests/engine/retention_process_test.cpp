// `citycard records retain` and `records token-key` on a stopped ledger: the
// same retention as the engine's admin op (engine/groups/tap_retention.h),
// the policy from the command line, and the day's listing naming no card
// afterwards.
#include "clerk_fixture.h"
#include "edge_fixture.h"
#include "engine_process.h"
#include "retention_fixture.h"
#include "rule_set_loader.h"

namespace citycard::engine::testing {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string output;
};

}  // namespace

TEST_CASE("citycard records retain: on a stopped ledger it anonymises and deletes by day, and again changes nothing") {
  TempDir dir("engine-retention-cli");
  const std::int32_t today = 20'500;
  {
    auto ledger = make_ledger(dir.path / "ledger");
    write_day_records(*ledger, today - 10, today);
  }
  auto cli = [&](const std::string& args, ClerkRole role = ClerkRole::supervisor) {
    CliRun result;
    const std::string clerk = test_clerk(dir.path, std::string(clerk_role_name(role)), role);
    result.output = run(std::string(CLI_BINARY) + " --db " + (dir.path / "ledger").string() + " --clerk " + clerk + " " + args,
                        &result.exit_code);
    INFO(result.output);
    return result;
  };
  auto shows = [](const CliRun& result, const std::string& part) {
    INFO(result.output);
    return result.output.find(part) != std::string::npos;
  };
  const std::string key = (dir.path / "records-token.key").string();
  const std::string policy = " --keep-days 7 --anonymise-after-days 3 --token-key " + key + " --as-of " +
                             rules::format_date_days(today);

  CliRun no_key = cli("records retain" + policy);
  CHECK(no_key.exit_code == 1);
  CHECK(shows(no_key, "citycard records token-key --create"));
  CliRun made = cli("records token-key --create --file " + key);
  CHECK(made.exit_code == 0);
  CliRun made_again = cli("records token-key --create --file " + key);
  CHECK(made_again.exit_code == 1);
  CHECK(shows(made_again, "never replaced"));

  CliRun bad = cli("records retain --keep-days 3 --anonymise-after-days 3 --token-key " + key);
  CHECK(bad.exit_code == 2);
  CHECK(shows(bad, "records.anonymise_after_days (3) must be less than records.keep_days (3)"));
  CliRun viewer = cli("records retain" + policy, ClerkRole::viewer);
  CHECK(viewer.exit_code != 0);
  CHECK(shows(viewer, "may not apply the tap records' retention"));

  CliRun first = cli("records retain" + policy);
  CHECK(first.exit_code == 0);
  CHECK(shows(first, "tap records as of " + rules::format_date_days(today) + ": 12 anonymised (days before " +
                         rules::format_date_days(today - 3) + "), 9 deleted (days before " +
                         rules::format_date_days(today - 7) + "), 0 already anonymised"));
  CliRun second = cli("records retain" + policy);
  CHECK(second.exit_code == 0);
  CHECK(shows(second, ": 0 anonymised"));
  CHECK(shows(second, "0 deleted"));
  CHECK(shows(second, "12 already anonymised"));

  // The listing of an anonymised day names no card; a card filter finds nothing there.
  CliRun listed = cli("--json taps --day " + rules::format_date_days(today - 5), ClerkRole::viewer);
  CHECK(listed.exit_code == 0);
  CHECK(shows(listed, "\"token\""));
  CHECK_FALSE(shows(listed, retention_card_a));
  CHECK_FALSE(shows(listed, retention_card_b));
  CliRun by_card = cli("--json taps --day " + rules::format_date_days(today - 5) + " --card " + retention_card_a, ClerkRole::viewer);
  CHECK(by_card.exit_code == 0);
  CHECK(shows(by_card, "\"entries\":[]"));
  CliRun recent = cli("--json taps --day " + rules::format_date_days(today - 1), ClerkRole::viewer);
  CHECK(shows(recent, retention_card_a));
  CliRun gone = cli("--json taps --day " + rules::format_date_days(today - 9), ClerkRole::viewer);
  CHECK(shows(gone, "\"entries\":[]"));
  CliRun audit = cli("audit", ClerkRole::auditor);
  CHECK(shows(audit, "records retain"));
}

TEST_CASE("citycard records retain: through the running engine with its [records] policy, and a bad policy stops the start") {
  TempDir dir("engine-retention-running");
  // A day the engine's business day has reached whatever the hour: the UTC
  // date's day before (the city's business day runs 5 hours ahead of UTC).
  const std::int32_t as_of = static_cast<std::int32_t>(an_hour_ago_us() / 86'400'000'000LL) - 1;
  {
    auto ledger = make_ledger(dir.path / "ledger");
    write_day_records(*ledger, as_of - 10, as_of);
  }
  make_pki(dir.path / "pki", pki::crl_validity(), {});
  const std::string key = (dir.path / "records-token.key").string();
  auto cli = [&](const std::string& args) {
    CliRun result;
    result.output = run(std::string(CLI_BINARY) + " --db " + (dir.path / "ledger").string() + " --clerk " +
                            test_clerk(dir.path, "sam", ClerkRole::settlement) + " " + args,
                        &result.exit_code);
    return result;
  };
  {
    EngineProcess wrong(dir.path, "[records]\nkeep_days = 3\nanonymise_after_days = 3\n");
    CHECK(wrong.start_expecting_exit() != 0);
    CHECK(wrong.log_text().find("records.anonymise_after_days (3) must be less than records.keep_days (3)") != std::string::npos);
  }
  EngineProcess engine(dir.path, "[records]\nkeep_days = 7\nanonymise_after_days = 3\ntoken_key_file = \"" + key + "\"\n");
  engine.start();
  CliRun no_key = cli("records retain --as-of " + rules::format_date_days(as_of));
  CHECK(no_key.exit_code == 1);
  CHECK(no_key.output.find("citycard records token-key --create --file " + key) != std::string::npos);
  REQUIRE(cli("records token-key --create --file " + key).exit_code == 0);
  CliRun flags = cli("records retain --keep-days 1");
  CHECK(flags.exit_code == 2);
  CHECK(flags.output.find("applies its own [records] policy") != std::string::npos);
  CliRun done = cli("--json records retain --as-of " + rules::format_date_days(as_of));
  INFO(done.output);
  REQUIRE(done.exit_code == 0);
  auto report = nlohmann::json::parse(done.output);
  CHECK(report["anonymised"] == 12);
  CHECK(report["deleted"] == 9);
  CHECK(report["anonymise_before"] == rules::format_date_days(as_of - 3));
  CliRun again = cli("--json records retain --as-of " + rules::format_date_days(as_of));
  auto second = nlohmann::json::parse(again.output);
  CHECK(second["anonymised"] == 0);
  CHECK(second["deleted"] == 0);
  CHECK(second["already_anonymised"] == 12);
  CliRun listed = cli("--json taps --day " + rules::format_date_days(as_of - 4));
  CHECK(listed.output.find("\"token\"") != std::string::npos);
  CHECK(listed.output.find(retention_card_a) == std::string::npos);
  CHECK(engine.terminate() == 0);
}

}  // namespace citycard::engine::testing
