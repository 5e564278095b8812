// Rule set versions in the engine: installed in the ledger (rule_store.h),
// loaded while taps flow (rule_desk.h), switching at a business-day start
// by each tap's own event time, and still there after a restart.
#include "engine_fixture.h"

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/core/rule_desk.h"
#include "engine/groups/audit_entry.h"
#include "engine/groups/rule_store.h"

namespace citycard::engine::testing {
namespace {

constexpr std::int64_t minute_us = 60LL * 1'000'000;
constexpr std::int64_t hour_us = 60 * minute_us;
// monday_8am_us is 2026-03-02 08:00 Taipei; the business day 2026-03-03
// starts at 03:00 the next morning.
constexpr std::int64_t boundary_us = monday_8am_us + 19 * hour_us;
constexpr const char* boundary_day = "2026-03-03";

std::string city_text() {
  std::ifstream in(std::string(CITYCARD_SOURCE_DIR) + "/rules/city.toml");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The city's rules as `version`, from `effective_from`, with the basic bus
// ride at `bus_fare` (15 in the city's file).
RuleFile city_variant(std::uint32_t version, const std::string& effective_from, std::int64_t bus_fare) {
  std::string text = city_text();
  const std::string header = "version = 4\n";
  REQUIRE(text.find(header) != std::string::npos);
  std::string replacement = "version = " + std::to_string(version) + "\n";
  if (!effective_from.empty()) replacement += "effective_from = \"" + effective_from + "\"\n";
  text.replace(text.find(header), header.size(), replacement);
  const std::string fare = "{ amount_minor = 15 },";  // the first price: bus_flat, general
  REQUIRE(text.find(fare) != std::string::npos);
  text.replace(text.find(fare), fare.size(), "{ amount_minor = " + std::to_string(bus_fare) + " },");
  return RuleFile{"city-v" + std::to_string(version) + ".toml", text};
}

OfficeActor supervisor(std::int64_t now_us, std::uint64_t n) {
  OfficeActor actor;
  actor.clerk = "sue";
  actor.role = "supervisor";
  actor.reason = "fares of " + std::string(boundary_day);
  actor.time = EventTime{now_us};
  actor.key = IdempotencyKey{Origin::operator_action, 77, n};
  return actor;
}

std::shared_ptr<const rules::RuleBook> open_book(ledger::Ledger& ledger, const RuleFile& configured, std::int64_t now_us) {
  Log log(std::tmpfile());
  auto book = open_rule_book(ledger, configured, EventTime{now_us}, log);
  INFO(book.status().to_string());
  REQUIRE(book);
  return *book;
}

std::string hex_card(int i) {
  char text[16];
  std::snprintf(text, sizeof text, "05%010X", i);
  return text;
}

}  // namespace

TEST_CASE("rule store: the configured file is installed at first start, another text of a version is refused") {
  TempDir dir("engine-rule-store");
  auto ledger = make_ledger(dir.path / "ledger");
  const RuleFile v1 = city_variant(1, "", 15);
  auto book = open_book(*ledger, v1, monday_8am_us);
  REQUIRE(book->versions().size() == 1);
  CHECK(book->versions().front().effective_day == rules::InstalledRules::since_always);
  auto installed = installed_rules(*ledger);
  REQUIRE(installed);
  REQUIRE(installed->size() == 1);
  CHECK(installed->front().text == v1.text);
  // Opening again with the same file writes nothing new.
  CHECK(open_book(*ledger, v1, monday_8am_us)->versions().size() == 1);
  CHECK(ledger->verify().audit_entries == 1);

  Log log(std::tmpfile());
  auto changed = open_rule_book(*ledger, city_variant(1, "", 16), EventTime{monday_8am_us}, log);
  REQUIRE_FALSE(changed);
  CHECK(changed.status().message().find("the ledger holds another text of version 1") != std::string::npos);

  // A newer configured file at a restart joins from its effective_from
  // (from today when it names none); an older unknown one is refused.
  auto restarted = open_book(*ledger, city_variant(3, "", 17), monday_8am_us);
  REQUIRE(restarted->versions().size() == 2);
  CHECK(rules::format_date_days(restarted->versions().back().effective_day) == "2026-03-02");
  auto older = open_rule_book(*ledger, city_variant(2, "", 15), EventTime{monday_8am_us}, log);
  REQUIRE_FALSE(older);
  CHECK(older.status().message().find("which this ledger never installed") != std::string::npos);
}

TEST_CASE("rule desk: a load is checked, written with its audit entry, and a retry of the same file changes nothing") {
  TempDir dir("engine-rule-desk");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, hex_card(1), 1000);
  Pipeline pipeline(*ledger, open_book(*ledger, city_variant(1, "", 15), monday_8am_us));
  RuleDesk desk(*pipeline.engine, *ledger);

  // A file with problems names them; one for a day begun is refused.
  RuleFile broken{"broken.toml", "version = 2\nutc_offset = \"+08:00\"\nbogus = 1\n"};
  auto refused = desk.load(broken, supervisor(monday_8am_us, 1), EventTime{monday_8am_us});
  REQUIRE_FALSE(refused);
  CHECK(refused.status().message().find("broken.toml") != std::string::npos);
  auto today = desk.load(city_variant(2, "2026-03-02", 18), supervisor(monday_8am_us, 2), EventTime{monday_8am_us});
  REQUIRE_FALSE(today);
  CHECK(today.status().message().find("is not after the current business day 2026-03-02") != std::string::npos);
  CHECK(ledger->verify().audit_entries == 1);  // the configured file's, nothing for the refused

  const RuleFile v2 = city_variant(2, boundary_day, 18);
  auto loaded = desk.load(v2, supervisor(monday_8am_us, 3), EventTime{monday_8am_us});
  INFO(loaded.status().to_string());
  REQUIRE(loaded);
  CHECK_FALSE(loaded->already_installed);
  auto again = desk.load(v2, supervisor(monday_8am_us, 4), EventTime{monday_8am_us});
  REQUIRE(again);
  CHECK(again->already_installed);
  const auto report = ledger->verify();
  CHECK(report.ok());
  CHECK(report.audit_entries == 2);
  auto body = ledger->record(ledger::RecordSpace::audit, supervisor(0, 3).key.to_string());
  REQUIRE(body);
  AuditEntry entry = audit_entry_from_body(supervisor(0, 3).key.to_string(), *body);
  CHECK(entry.clerk == "sue");
  CHECK(entry.action == "rules load");
  CHECK(entry.detail.find("rule set version 2") != std::string::npos);
  CHECK(entry.detail.find("rates taps from 2026-03-03") != std::string::npos);

  auto shown = desk.show(EventTime{monday_8am_us});
  REQUIRE(shown["versions"].size() == 2);
  CHECK(shown["versions"][0]["status"] == "in effect");
  CHECK(shown["versions"][1]["status"] == "next");
  CHECK(shown["versions"][1]["effective_from"] == boundary_day);
}

TEST_CASE("rule versions: loaded while taps flow, the next version rates exactly the taps from its business day on") {
  TempDir dir("engine-rule-switch");
  auto ledger = make_ledger(dir.path / "ledger");
  constexpr int cards = 256;
  for (int i = 0; i < cards; ++i) issue_card(*ledger, hex_card(i), 1000);
  Pipeline pipeline(*ledger, open_book(*ledger, city_variant(1, "", 15), monday_8am_us));
  RuleDesk desk(*pipeline.engine, *ledger);

  // Two readers tap from an hour before the boundary to an hour after it,
  // in batches; the load happens while they tap the hour before, and they
  // go past the boundary only once it is done (as wall time would).
  constexpr int taps_per_reader = 1200;
  std::atomic<bool> loaded{false};
  std::atomic<int> before_boundary{0};
  std::atomic<int> not_approved{0};
  auto reader_loop = [&](std::uint32_t reader, int offset) {
    std::vector<protocol::TapRecord> batch;
    for (int i = 0; i < taps_per_reader; ++i) {
      const std::int64_t event_us = boundary_us - hour_us + (2 * hour_us) * i / taps_per_reader + offset;
      if (event_us >= boundary_us) {
        while (!loaded.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      } else {
        before_boundary.fetch_add(1);
      }
      // Each card rides about five times a business day: under the daily cap (150).
      batch.push_back(make_tap(reader, static_cast<std::uint64_t>(i + 1), hex_card((i * 2 + offset) % cards),
                               Mode::bus_board, 101, event_us));
      if (batch.size() == 16 || i + 1 == taps_per_reader) {
        for (const auto& decision : pipeline.submit(std::move(batch)))
          if (decision.outcome != protocol::Outcome::approved) not_approved.fetch_add(1);
        batch.clear();
      }
    }
  };
  std::thread first(reader_loop, bus_reader, 0);
  std::thread second(reader_loop, bus_reader_2, 1);
  while (before_boundary.load() < taps_per_reader / 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto plan = desk.load(city_variant(2, boundary_day, 18), supervisor(monday_8am_us, 1), EventTime{monday_8am_us});
  INFO(plan.status().to_string());
  REQUIRE(plan);
  loaded = true;
  first.join();
  second.join();
  CHECK(not_approved.load() == 0);

  // Every tap: version 1 and 15 before the boundary, version 2 and 18 from it.
  int rated_by[3] = {0, 0, 0};
  for (std::uint32_t reader : {bus_reader, bus_reader_2}) {
    for (int i = 0; i < taps_per_reader; ++i) {
      auto transfers = ledger->transfers_for(IdempotencyKey::for_tap(TapId{ReaderId{reader}, static_cast<std::uint64_t>(i + 1)}));
      REQUIRE(transfers);
      REQUIRE(transfers->size() == 1);
      const Transfer& t = transfers->front().transfer;
      const bool after = t.event_time.unix_us >= boundary_us;
      INFO("reader " << reader << " tap " << i + 1 << " at " << t.event_time.unix_us);
      CHECK(t.rule_set_version == (after ? 2u : 1u));
      CHECK(t.amount_minor == (after ? 18 : 15));
      ++rated_by[t.rule_set_version <= 2 ? t.rule_set_version : 0];
    }
  }
  CHECK(rated_by[1] == taps_per_reader);  // half of each reader's taps on each side
  CHECK(rated_by[2] == taps_per_reader);
  CHECK(rated_by[0] == 0);

  // After a restart the ledger's versions are back: a late offline upload
  // from before the boundary is rated by version 1, one after by version 2.
  pipeline.engine->stop();
  issue_card(*ledger, hex_card(1000), 1000);
  issue_card(*ledger, hex_card(1001), 1000);
  Pipeline again(*ledger, open_book(*ledger, city_variant(1, "", 15), monday_8am_us + 24 * hour_us));
  auto late = make_tap(bus_reader, 5000, hex_card(1000), Mode::bus_board, 101, boundary_us - 5 * minute_us);
  late.tap.offline = true;
  auto later = make_tap(bus_reader, 5001, hex_card(1001), Mode::bus_board, 101, boundary_us + 5 * hour_us);
  later.tap.offline = true;
  auto decisions = again.submit({late, later});
  REQUIRE(decisions.size() == 2);
  CHECK(decisions[0].fare_minor == 15);
  CHECK(decisions[1].fare_minor == 18);
  CHECK(ledger->verify().ok());
}

}  // namespace citycard::engine::testing
