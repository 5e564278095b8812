// Rule set versions (rule_book.h): which version rates a tap, what a load
// must say to be accepted, and how `rules show` names each version.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "rule_book.h"
#include "rule_set_loader.h"
#include "rules_test_support.h"

namespace citycard::rules::testing {
namespace {

std::string city_text() {
  std::ifstream in(CITYCARD_CITY_RULES);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The city's file as another version, from a day, with other header lines.
std::string variant(std::uint32_t version, const std::string& effective_from, const std::string& extra = "") {
  std::string text = city_text();
  const std::string header = "version = 4\n";
  REQUIRE(text.find(header) != std::string::npos);
  std::string replacement = "version = " + std::to_string(version) + "\n";
  if (!effective_from.empty()) replacement += "effective_from = \"" + effective_from + "\"\n";
  text.replace(text.find(header), header.size(), replacement + extra);
  return text;
}

RuleSet parse(const std::string& text) {
  RuleSetLoad load = parse_rule_set(text, "test.toml");
  INFO(problems_text(load.problems));
  REQUIRE(load.ok());
  return *load.rule_set;
}

InstalledRules installed(RuleSet rules, std::int32_t from) {
  InstalledRules version;
  version.rules = std::make_shared<const RuleSet>(std::move(rules));
  version.effective_day = from;
  return version;
}

std::int32_t day(int year, int month, int date) { return static_cast<std::int32_t>(days_from_civil(year, month, date)); }

}  // namespace

TEST_CASE("rule file: effective_from is a real date, named in the problem when it is not") {
  CHECK(parse(variant(2, "2027-01-01")).effective_from_day == day(2027, 1, 1));
  CHECK_FALSE(parse(variant(2, "")).effective_from_day.has_value());
  for (const char* bad : {"2027-02-30", "27-01-01", "2027-1-1", "tomorrow", "1969-12-31"}) {
    INFO(bad);
    RuleSetLoad load = parse_rule_set(variant(2, bad), "next.toml");
    REQUIRE_FALSE(load.ok());
    const std::string text = problems_text(load.problems);
    CHECK(text.find("effective_from") != std::string::npos);
    CHECK(text.find(bad) != std::string::npos);
  }
  CHECK(parse_date_days("2026-01-01") == day(2026, 1, 1));
  CHECK(format_date_days(day(2026, 1, 1)) == "2026-01-01");
}

TEST_CASE("rule book: a tap is rated by the version in effect on its own business day, switching at the day's start") {
  RuleBook book({installed(parse(variant(1, "")), InstalledRules::since_always),
                 installed(parse(variant(2, "2026-01-01")), day(2026, 1, 1))});
  // The business day of 2026-01-01 starts at 03:00 Taipei time.
  CHECK(book.for_time(taipei(2026, 1, 1, 2, 59)).version == 1);
  CHECK(book.for_time(taipei(2026, 1, 1, 3, 0)).version == 2);
  CHECK(book.for_time(taipei(2025, 12, 31, 23, 0)).version == 1);
  CHECK(book.for_time(taipei(2027, 6, 1, 12, 0)).version == 2);
  // Before every version: the earliest.
  CHECK(book.for_time(taipei(1999, 1, 1, 12, 0)).version == 1);
  CHECK(book.newest().rules->version == 2);
}

TEST_CASE("rule book: a load needs a newer version, the same business day and a later day than today") {
  RuleBook book({installed(parse(variant(1, "")), InstalledRules::since_always)});
  const std::int32_t today = day(2025, 12, 30);
  CHECK(book.check_load(parse(variant(2, "2026-01-01")), today).is_ok());
  CHECK(book.check_load(parse(variant(2, "2025-12-31")), today).is_ok());

  auto refused = [&](const RuleBook& in, const std::string& text, const std::string& expected) {
    Status status = in.check_load(parse(text), today);
    INFO(status.to_string());
    CHECK_FALSE(status.is_ok());
    CHECK(status.message().find(expected) != std::string::npos);
  };
  refused(book, variant(1, "2026-01-01"), "version 1 is not newer than the installed version 1");
  refused(book, variant(2, ""), "no effective_from");
  refused(book, variant(2, "2025-12-30"), "is not after the current business day 2025-12-30");
  refused(book, variant(2, "2025-11-01"), "is not after the current business day");
  // The business day the close uses cannot change under a running ledger.
  std::string other_start = variant(2, "2026-01-01");
  other_start.replace(other_start.find("business_day_start = \"03:00\""), 28, "business_day_start = \"04:00\"");
  refused(book, other_start, "differ from the installed rule sets' (+08:00, 03:00)");

  // With a next version installed, a later one may supersede it on its day
  // or follow it, never come before it.
  RuleBook two = book.with(installed(parse(variant(2, "2026-01-01")), day(2026, 1, 1)));
  refused(two, variant(3, "2025-12-31"), "is before 2026-01-01, from which version 2 rates taps");
  CHECK(two.check_load(parse(variant(3, "2026-01-01")), today).is_ok());
  CHECK(two.check_load(parse(variant(3, "2026-02-01")), today).is_ok());
}

TEST_CASE("rule book: rules show names each version in effect, next, later, superseded or past") {
  RuleBook book({installed(parse(variant(1, "")), InstalledRules::since_always),
                 installed(parse(variant(2, "2026-01-01")), day(2026, 1, 1)),
                 installed(parse(variant(3, "2026-03-01")), day(2026, 3, 1)),
                 installed(parse(variant(4, "2026-03-01")), day(2026, 3, 1)),
                 installed(parse(variant(5, "2026-06-01")), day(2026, 6, 1))});
  auto status_of = [&](std::uint32_t version, std::int32_t today) {
    for (const auto& v : book.versions())
      if (v.rules->version == version) return book.status_on(v, today);
    FAIL("no version " << version);
    return std::string();
  };
  const std::int32_t today = day(2026, 2, 10);
  CHECK(status_of(1, today) == "past");
  CHECK(status_of(2, today) == "in effect");
  CHECK(status_of(3, today) == "superseded");  // version 4 took its day before it began
  CHECK(status_of(4, today) == "next");
  CHECK(status_of(5, today) == "later");
  CHECK(book.for_time(taipei(2026, 3, 1, 12, 0)).version == 4);
  CHECK(status_of(4, day(2026, 3, 1)) == "in effect");
  CHECK(status_of(5, day(2026, 3, 1)) == "next");
}

}  // namespace citycard::rules::testing
