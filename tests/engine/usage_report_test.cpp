// Usage reports (engine/groups/usage_report.h): real taps through the
// pipeline, the figures counted again here from the taps the test sent and
// the answers it got -- not by the report's own fold -- on every axis, over
// one day and two; the money against the wallets; the JSON, CSV and chart
// shapes; and the requests a report refuses.
#include <map>
#include <set>

#include "engine_fixture.h"
#include "usage_chart.h"
#include "usage_report.h"
#include "usage_report_format.h"

namespace citycard::engine::testing {
namespace {

constexpr std::int64_t minute_us = 60LL * 1'000'000;
constexpr std::int64_t hour_us = 60 * minute_us;
constexpr std::int64_t day_us = 24 * hour_us;
const std::string card_general = "04E1B2C3D4E5F6";
const std::string card_senior = "04E2B2C3D4E5F6";
const std::string card_student = "04E3B2C3D4E5F6";
const std::string card_unknown = "04E4B2C3D4E5F6";

// One tap as sent, with what the engine answered and the ledger moved for it.
struct Sent {
  std::string mode;
  std::string operator_id;
  std::string location;
  std::string hour;      // local (Taipei, +08:00) hour of the event time, worked out here
  std::string category;  // of the card as issued here; "unknown" for the unknown card
  std::string card;
  std::int32_t business_day = 0;
  bool approved = false;
  std::int64_t fare_minor = 0;
  std::int64_t subsidy_minor = 0;
  std::int64_t points = 0;
};

struct Expected {
  std::int64_t taps = 0, approved = 0, refused = 0, identity = 0;
  std::set<std::string> riders;
  std::int64_t fare = 0, subsidy = 0, points = 0;
};

std::string two_digits(std::int64_t value) { return (value < 10 ? "0" : "") + std::to_string(value); }

// Taipei has no daylight saving: local = UTC + 8 h; a business day starts at 03:00 local.
std::string taipei_hour(std::int64_t event_us) { return two_digits(((event_us / hour_us) + 8) % 24); }
std::int32_t taipei_business_day(std::int64_t event_us) {
  return static_cast<std::int32_t>((event_us + 8 * hour_us - 3 * hour_us) / day_us);
}

struct Scenario {
  TempDir dir{"engine-usage-report"};
  std::unique_ptr<ledger::Ledger> ledger = make_ledger(dir.path / "ledger");
  std::map<std::string, std::string> category_of;
  std::map<std::string, std::int64_t> topped_up;
  std::vector<Sent> sent;
  std::int32_t monday = 0;

  Scenario() {
    issue(card_general, 1000, RiderCategory::general);
    issue(card_senior, 1000, RiderCategory::senior);
    issue(card_student, 1000, RiderCategory::student);
    category_of[card_unknown] = "unknown";
    Pipeline pipeline(*ledger);
    const std::int64_t t = monday_8am_us;
    monday = taipei_business_day(t);
    std::uint64_t sequence = 0;
    auto tap = [&](std::uint32_t reader, const std::string& card, Mode mode, std::uint32_t op, std::int64_t event_us,
                   std::uint32_t location) {
      const TapId id{ReaderId{reader}, ++sequence};
      auto told = pipeline.tap(make_tap(reader, id.sequence, card, mode, op, event_us, location));
      Sent s;
      s.mode = std::string(mode_name(mode));
      s.operator_id = std::to_string(op);
      s.location = std::to_string(location);
      s.hour = taipei_hour(event_us);
      s.category = category_of.at(card);
      s.card = card;
      s.business_day = taipei_business_day(event_us);
      s.approved = told.outcome == protocol::Outcome::approved;
      s.fare_minor = told.fare_minor;
      auto transfers = ledger->transfers_for(IdempotencyKey::for_tap(id));
      REQUIRE(transfers);
      for (const auto& stored : *transfers) {
        const Transfer& transfer = stored.transfer;
        s.subsidy_minor += city_paid_minor(*ledger, transfer);
        if (transfer.code == TransferCode::points_redeemed) s.points += transfer.amount_minor;
      }
      sent.push_back(s);
      return told;
    };
    // Monday's business day: buses, a metro trip, the pool, the library, an
    // unknown card, and a late bus at 01:30 on Tuesday that still belongs to Monday.
    REQUIRE(tap(bus_reader, card_general, Mode::bus_board, 101, t, 11).outcome == protocol::Outcome::approved);
    REQUIRE(tap(bus_reader_2, card_student, Mode::bus_board, 101, t + 5 * minute_us, 12).outcome ==
            protocol::Outcome::approved);
    REQUIRE(tap(metro_gate, card_general, Mode::metro_in, 201, t + 40 * minute_us, 1001).outcome ==
            protocol::Outcome::approved);
    REQUIRE(tap(metro_gate, card_general, Mode::metro_out, 201, t + 70 * minute_us, 1002).outcome ==
            protocol::Outcome::approved);
    REQUIRE(tap(pool_gate, card_senior, Mode::entry, 601, t + 2 * hour_us, 77).outcome == protocol::Outcome::approved);
    REQUIRE(tap(library_desk, card_senior, Mode::identify, 501, t + 3 * hour_us, 78).outcome ==
            protocol::Outcome::approved);
    REQUIRE(tap(library_desk, card_student, Mode::identify, 501, t + 3 * hour_us + minute_us, 78).outcome ==
            protocol::Outcome::approved);
    auto refused = tap(bus_reader, card_unknown, Mode::bus_board, 101, t + 4 * hour_us, 11);
    REQUIRE(refused.outcome == protocol::Outcome::refused);
    REQUIRE(refused.reason == RefusalReason::card_unknown);
    REQUIRE(tap(bus_reader, card_student, Mode::bus_board, 101, t + 17 * hour_us + 30 * minute_us, 11).outcome ==
            protocol::Outcome::approved);
    // Tuesday's business day: two buses and the library again.
    REQUIRE(tap(bus_reader_2, card_general, Mode::bus_board, 101, t + day_us, 12).outcome == protocol::Outcome::approved);
    REQUIRE(tap(bus_reader_2, card_senior, Mode::bus_board, 101, t + day_us + hour_us, 12).outcome ==
            protocol::Outcome::approved);
    REQUIRE(tap(library_desk, card_general, Mode::identify, 501, t + day_us + 2 * hour_us, 78).outcome ==
            protocol::Outcome::approved);
    REQUIRE(sent[8].business_day == monday);  // 01:30 on Tuesday
    REQUIRE(sent[8].hour == "01");
    REQUIRE(sent.back().business_day == monday + 1);
  }

  void issue(const std::string& card, std::int64_t balance, RiderCategory category) {
    issue_card(*ledger, card, balance, category);
    category_of[card] = std::string(rider_category_name(category));
    topped_up[card] = balance;
  }

  UsageReport report(std::int32_t from, std::int32_t to, const std::string& by) const {
    auto query = usage_query(rules::format_date_days(from), rules::format_date_days(to), by, 480);
    INFO(query.status().to_string());
    REQUIRE(query);
    auto read = read_usage_report(*ledger->snapshot(), *query);
    INFO(read.status().to_string());
    REQUIRE(read);
    return std::move(*read);
  }
};

// The test's own count: label of the axis (or "a|b" for two) -> figures.
std::map<std::string, Expected> expected_by(const std::vector<Sent>& sent, std::int32_t from, std::int32_t to,
                                            const std::vector<std::string>& axes, Expected& total) {
  std::map<std::string, Expected> groups;
  auto value = [](const Sent& s, const std::string& axis) {
    if (axis == "mode") return s.mode;
    if (axis == "operator") return s.operator_id;
    if (axis == "location") return s.location;
    if (axis == "hour") return s.hour;
    return s.category;
  };
  for (const Sent& s : sent) {
    if (s.business_day < from || s.business_day > to) continue;
    std::string label = value(s, axes[0]);
    if (axes.size() == 2) label += "|" + value(s, axes[1]);
    for (Expected* e : {&groups[label], &total}) {
      ++e->taps;
      ++(s.approved ? e->approved : e->refused);
      if (s.mode == "identify") ++e->identity;
      if (s.approved) e->riders.insert(s.card);
      e->fare += s.fare_minor;
      e->subsidy += s.subsidy_minor;
      e->points += s.points;
    }
  }
  return groups;
}

void check_figures(const nlohmann::json& got, const Expected& want) {
  CHECK(got["taps"] == want.taps);
  CHECK(got["approved"] == want.approved);
  CHECK(got["refused"] == want.refused);
  CHECK(got["identity"] == want.identity);
  CHECK(got["given_offline"] == 0);
  CHECK(got["riders"] == want.riders.size());
  CHECK(got["fare_minor"] == want.fare);
  CHECK(got["subsidy_minor"] == want.subsidy);
  CHECK(got["points_redeemed"] == want.points);
}

void check_report(const Scenario& s, std::int32_t from, std::int32_t to, const std::vector<std::string>& axes) {
  const std::string by = axes.size() == 1 ? axes[0] : axes[0] + "," + axes[1];
  INFO("--by " << by << " days " << from << ".." << to);
  Expected total;
  const auto want = expected_by(s.sent, from, to, axes, total);
  const nlohmann::json got = usage_report_json(s.report(from, to, by));
  CHECK(got["from"] == rules::format_date_days(from));
  CHECK(got["to"] == rules::format_date_days(to));
  CHECK(got["by"].size() == axes.size());
  REQUIRE(got["groups"].size() == want.size());
  for (const auto& group : got["groups"]) {
    std::string label = group[axes[0]].get<std::string>();
    if (axes.size() == 2) label += "|" + group[axes[1]].get<std::string>();
    INFO("group " << label);
    REQUIRE(want.count(label) == 1);
    check_figures(group, want.at(label));
  }
  check_figures(got["total"], total);
}

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

}  // namespace

TEST_CASE("usage report: each axis counts the taps sent, a refused and an identity tap included") {
  Scenario s;
  for (const std::string axis : {"mode", "operator", "location", "hour", "category"}) {
    check_report(s, s.monday, s.monday, {axis});
  }
  // Spot checks a reader of the report would make, written out by hand.
  const nlohmann::json by_category = usage_report_json(s.report(s.monday, s.monday, "category"));
  CHECK(by_category["groups"].front()["category"] == "unknown");  // category 0 sorts first
  bool found_unknown = false;
  for (const auto& group : by_category["groups"]) {
    if (group["category"] != "unknown") continue;
    found_unknown = true;
    CHECK(group["taps"] == 1);
    CHECK(group["refused"] == 1);
    CHECK(group["riders"] == 0);
    CHECK(group["fare_minor"] == 0);
  }
  CHECK(found_unknown);
  const nlohmann::json by_mode = usage_report_json(s.report(s.monday, s.monday, "mode"));
  for (const auto& group : by_mode["groups"]) {
    if (group["mode"] != "identify") continue;
    CHECK(group["taps"] == 2);
    CHECK(group["identity"] == 2);
    CHECK(group["riders"] == 2);
    CHECK(group["fare_minor"] == 0);
  }
  CHECK(by_mode["total"]["taps"] == 9);
  CHECK(by_mode["total"]["refused"] == 1);
  CHECK(by_mode["total"]["riders"] == 3);
}

TEST_CASE("usage report: a range of two days, one day alone, and two axes") {
  Scenario s;
  check_report(s, s.monday, s.monday + 1, {"mode"});
  check_report(s, s.monday + 1, s.monday + 1, {"operator"});
  check_report(s, s.monday - 3, s.monday - 1, {"mode"});  // days without taps: no groups, zero totals
  check_report(s, s.monday, s.monday + 1, {"mode", "hour"});
  check_report(s, s.monday, s.monday + 1, {"category", "operator"});
  const nlohmann::json two_days = usage_report_json(s.report(s.monday, s.monday + 1, "mode"));
  CHECK(two_days["total"]["taps"] == 12);
  // Riders are distinct over the range: three cards rode on both days.
  CHECK(two_days["total"]["riders"] == 3);
}

TEST_CASE("usage report: the fares of the range are what the wallets lost") {
  Scenario s;
  const UsageReport both = s.report(s.monday, s.monday + 1, "operator");
  std::int64_t lost = 0;
  for (const auto& [card, balance] : s.topped_up) lost += balance - wallet_of(*s.ledger, card);
  CHECK(lost > 0);
  CHECK(both.total.fare_minor == lost);
  // One day alone: its fares are those the riders were told that day.
  const UsageReport tuesday = s.report(s.monday + 1, s.monday + 1, "mode");
  std::int64_t tuesday_fares = 0;
  for (const Sent& sent : s.sent) tuesday_fares += sent.business_day == s.monday + 1 ? sent.fare_minor : 0;
  CHECK(tuesday.total.fare_minor == tuesday_fares);
}

TEST_CASE("usage report: CSV has a header row, a row per group and the total, quoted as RFC 4180 says") {
  Scenario s;
  const UsageReport report = s.report(s.monday, s.monday, "mode,hour");
  const std::string csv = usage_report_csv(report);
  CHECK(csv.rfind("mode,hour,taps,approved,refused,identity,given_offline,riders,fare_minor,subsidy_minor,points_redeemed\r\n",
                  0) == 0);
  CHECK(count_of(csv, "\r\n") == report.groups.size() + 2);
  CHECK(count_of(csv, "\n") == count_of(csv, "\r\n"));
  CHECK(csv.find("(all),(all),9,8,1,2,0,3,") != std::string::npos);
  CHECK(csv.find("\r\nbus_board,08,2,2,0,0,0,2,") != std::string::npos);  // general and student at 08:00 and 08:05
  CHECK(csv_field("plain") == "plain");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_field("two\r\nlines") == "\"two\r\nlines\"");

  const std::string table = usage_report_table(report);
  CHECK(table.find("usage " + rules::format_date_days(s.monday) + " by mode and hour: 9 taps") == 0);
  CHECK(count_of(table, "\n") == report.groups.size() + 3);  // title, header, groups, total
}

TEST_CASE("usage report: the chart has an svg, one bar per group and the totals of the report") {
  Scenario s;
  SECTION("taps per operator") {
    const UsageReport report = s.report(s.monday, s.monday + 1, "operator");
    const std::string page = usage_chart_html(report, "2026-12-03T15:00:00Z");
    CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(count_of(page, "<svg ") == 1);
    CHECK(count_of(page, "</svg>") == 1);
    CHECK(page.find("<script") == std::string::npos);
    CHECK(page.find("http://") == page.find("http://www.w3.org/2000/svg"));  // the namespace, nothing fetched
    CHECK(page.find("https://") == std::string::npos);
    CHECK(count_of(page, "class=\"bar\"") == report.groups.size());
    for (const auto& [key, figures] : report.groups) {
      CHECK(page.find("data-group=\"" + std::to_string(key[0]) + "\" data-taps=\"" + std::to_string(figures.taps) + "\"") !=
            std::string::npos);
    }
    CHECK(page.find("total taps: 12<") != std::string::npos);
    CHECK(page.find("<title>Taps by operator, " + rules::format_date_days(s.monday) + " to " +
                    rules::format_date_days(s.monday + 1) + " (generated 2026-12-03T15:00:00Z)</title>") != std::string::npos);
    CHECK(page.find(">taps</text>") != std::string::npos);
    CHECK(page.find(">operator</text>") != std::string::npos);
  }
  SECTION("taps per hour by mode, stacked") {
    const UsageReport report = s.report(s.monday, s.monday, "hour,mode");
    CHECK(usage_chart_stacks_modes(report.query));
    const std::string page = usage_chart_html(report, "now");
    std::set<std::string> hours;
    for (const Sent& sent : s.sent) {
      if (sent.business_day == s.monday) hours.insert(sent.hour);
    }
    CHECK(count_of(page, "class=\"bar\"") == hours.size());
    CHECK(page.find("Taps per hour by mode") != std::string::npos);
    // 08:00-08:59: two buses (general and student) and a metro entry.
    CHECK(page.find("data-group=\"08\" data-taps=\"3\"") != std::string::npos);
    CHECK(page.find("data-group=\"01\" data-taps=\"1\"") != std::string::npos);
    CHECK(page.find(">identify</text>") != std::string::npos);  // in the legend
    CHECK(page.find("total taps: 9<") != std::string::npos);
  }
}

TEST_CASE("usage report: a request it cannot answer names the problem") {
  auto refused = [](const std::string& from, const std::string& to, const std::string& by, const std::string& words) {
    auto query = usage_query(from, to, by, 480);
    REQUIRE_FALSE(query);
    CHECK(query.status().code() == StatusCode::invalid_argument);
    INFO(query.status().message());
    CHECK(query.status().message().find(words) != std::string::npos);
  };
  refused("2026-02-30", "2026-03-02", "mode", "--from 2026-02-30 is not a date");
  refused("2026-03-01", "yesterday", "mode", "--to yesterday is not a date");
  refused("2026-03-05", "2026-03-01", "mode", "--from 2026-03-05 is after --to 2026-03-01");
  refused("2026-01-01", "2026-04-03", "mode", "is 93 days; a report covers at most 92");
  refused("2026-03-01", "2026-03-02", "route", "unknown axis 'route'");
  refused("2026-03-01", "2026-03-02", "mode,", "unknown axis ''");
  refused("2026-03-01", "2026-03-02", "mode,mode", "axis mode twice");
  refused("2026-03-01", "2026-03-02", "mode,hour,operator", "at most two axes");
  auto quarter = usage_query("2026-01-01", "2026-04-02", "hour,mode", 480);
  REQUIRE(quarter);
  CHECK(quarter->to_day - quarter->from_day + 1 == 92);
  CHECK(quarter->axes == std::vector<UsageAxis>{UsageAxis::hour, UsageAxis::mode});
}

}  // namespace citycard::engine::testing
