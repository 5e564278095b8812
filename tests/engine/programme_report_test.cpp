// `citycard report programmes` (engine/groups/programme_report.h) against the
// settlement files of the same day: taps decided by the real pipeline, the
// day closed, and per operator and programme the report's sums equal the
// files' P records -- except a late tap, which the report keeps on its own
// day and the files carry in the next close.
#include <map>
#include <utility>

#include "engine_fixture.h"
#include "points_report.h"
#include "programme_report.h"
#include "settlement/keys.h"
#include "settlement/settlement.h"
#include "usage_report.h"

namespace citycard::engine::testing {
namespace {

namespace st = citycard::settlement;

constexpr std::int64_t minute_us = 60'000'000LL;
constexpr std::int64_t hour_us = 60 * minute_us;
constexpr std::uint32_t segment_reader = 31;  // a validator of the segment bus (104)
const st::DayConfig taipei{480, 180};         // rules/city.toml: +08:00, business day from 03:00

using ByOperator = std::map<std::pair<std::uint32_t, Programme>, std::int64_t>;

// The P records of the day's files, by operator and programme.
ByOperator from_files(const st::CloseSummary& closed) {
  ByOperator sums;
  for (const auto& batch : closed.batches) {
    auto contents = st::read_batch_file(batch.path);
    INFO(contents.status().to_string());
    REQUIRE(contents);
    CHECK(contents->format_version == 2);
    for (Programme programme : all_programmes())
      if (const std::int64_t amount = contents->totals.programme_minor[programme_index(programme)]; amount != 0)
        sums[{batch.batch.operator_id.value, programme}] += amount;
  }
  return sums;
}

ByOperator from_report(const ledger::Ledger& ledger, const char* from, const char* to) {
  auto days = report_days(from, to);
  REQUIRE(days);
  auto report = read_programme_report(*ledger.snapshot(), ProgrammeQuery{*days, 480, 180});
  INFO(report.status().to_string());
  REQUIRE(report);
  ByOperator sums;
  for (const auto& [key, amount] : report->paid_minor) sums[{std::get<1>(key), std::get<2>(key)}] += amount;
  return sums;
}

// A ledger with the segment bus's validator and four cards, the real
// pipeline, and the settlement options of a close into `dir`/out.
struct PlayedDay {
  TempDir dir;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<Pipeline> pipeline;
  st::Options options;
  std::uint64_t sequence = 0;

  PlayedDay(const char* name, const std::vector<std::pair<std::string, RiderCategory>>& cards)
      : dir(name), ledger(make_ledger(dir.path / "ledger")) {
    register_reader(*ledger, segment_reader, 104, ReaderKind::bus_validator);
    for (const auto& [card, category] : cards) issue_card(*ledger, card, 500, category);
    options.day = taipei;
    options.out_dir = (dir.path / "out").string();
    options.key_dir = (dir.path / "keys").string();
    REQUIRE(st::generate_keys(options.key_dir));
    pipeline = std::make_unique<Pipeline>(*ledger);
  }

  void approved(std::uint32_t reader, const std::string& card, Mode mode, std::uint32_t op, std::int64_t when,
                std::uint32_t location) {
    INFO(card << " " << mode_name(mode) << " at operator " << op);
    CHECK(pipeline->tap(make_tap(reader, ++sequence, card, mode, op, when, location)).outcome == protocol::Outcome::approved);
  }

  // A student's city bus (12 of 15) and a two-segment bus (one unit at
  // boarding, the second the city's: buy-one-get-one); a general card's
  // metro trip with the citizen discount (13 held, 6 refunded at the exit).
  void student_and_metro_rides(const std::string& student, const std::string& general, std::int64_t t) {
    approved(bus_reader, student, Mode::bus_board, 101, t, 11);
    approved(segment_reader, student, Mode::bus_board, 104, t + hour_us, 2001);
    approved(segment_reader, student, Mode::bus_alight, 104, t + hour_us + 20 * minute_us, 2013);
    approved(metro_gate, general, Mode::metro_in, 201, t, 1001);
    approved(metro_gate, general, Mode::metro_out, 201, t + 30 * minute_us, 1005);
  }
};

}  // namespace

TEST_CASE("report programmes agrees with the day's settlement files per operator and programme") {
  const std::string student = "0CE00001", general = "0CE00002", senior = "0CE00003", late_rider = "0CE00004";
  PlayedDay played("programme-report", {{student, RiderCategory::student},
                                        {general, RiderCategory::general},
                                        {senior, RiderCategory::senior},
                                        {late_rider, RiderCategory::student}});
  auto& ledger = played.ledger;
  const std::int64_t t = monday_8am_us;  // business day 2026-03-02
  auto approved = [&](auto... args) { played.approved(args...); };
  played.student_and_metro_rides(student, general, t);
  // A senior at the pool, in points (the month's allotment arrives with the tap).
  approved(pool_gate, senior, Mode::entry, 601, t + 2 * hour_us, 77);

  st::Settlement settlement(*ledger, played.options);
  const st::BusinessDay day = st::business_day_of(EventTime{t}, taipei);
  auto closed = settlement.close(day, EventTime{Pipeline::engine_now_us});
  INFO(closed.status().to_string());
  REQUIRE(closed);

  const ByOperator expected = {
      {{101, Programme::category_fare}, 3},
      {{104, Programme::category_fare}, 6},
      {{104, Programme::buy_one_get_one}, 12},
      {{201, Programme::citizen_discount}, 7},
      {{601, Programme::category_fare}, 55},
      {{601, Programme::welfare_points}, 55},
  };
  CHECK(from_files(*closed) == expected);
  CHECK(from_report(*ledger, "2026-03-02", "2026-03-02") == expected);

  // A tap of the closed day that arrives after its close: the report keeps it
  // on its day, the files put it in the next day's batch (flagged late); over
  // both days they agree again.
  approved(bus_reader_2, late_rider, Mode::bus_board, 101, t + 10 * hour_us, 12);
  ByOperator report_day = expected;
  report_day[{101, Programme::category_fare}] += 3;
  CHECK(from_report(*ledger, "2026-03-02", "2026-03-02") == report_day);
  auto next = settlement.close(day.next(), EventTime{Pipeline::engine_now_us});
  REQUIRE(next);
  CHECK(next->total.late_lines == 1);
  const ByOperator next_files = from_files(*next);
  CHECK(next_files == ByOperator{{{101, Programme::category_fare}, 3}});
  CHECK(from_report(*ledger, "2026-03-03", "2026-03-03").empty());
  ByOperator both_files = from_files(*closed);
  for (const auto& [key, amount] : next_files) both_files[key] += amount;
  CHECK(from_report(*ledger, "2026-03-02", "2026-03-03") == both_files);
  auto verified = settlement.verify(day);
  REQUIRE(verified);
  CHECK(verified->ok());
}

// The usage and points reports against the files of the same day: per
// operator, the riders' fares, the welfare points spent and the city's
// payments the records hold are what the files settle; the month's points
// used are the points the files paid operators for.
TEST_CASE("reports usage and points agree with the day's settlement files per operator") {
  const std::string student = "0CE00011", general = "0CE00012", senior = "0CE00013", disabled = "0CE00014";
  PlayedDay played("usage-points-vs-files", {{student, RiderCategory::student},
                                             {general, RiderCategory::general},
                                             {senior, RiderCategory::senior},
                                             {disabled, RiderCategory::disability}});
  auto& ledger = played.ledger;
  const std::int64_t t = monday_8am_us;
  auto approved = [&](auto... args) { played.approved(args...); };
  played.student_and_metro_rides(student, general, t);
  approved(bus_reader, general, Mode::bus_board, 101, t + 3 * hour_us, 14);
  // Welfare points at the pool and on city buses (senior and disability cards).
  approved(pool_gate, senior, Mode::entry, 601, t + 2 * hour_us, 77);
  approved(bus_reader_2, senior, Mode::bus_board, 101, t + 4 * hour_us, 15);
  approved(bus_reader, disabled, Mode::bus_board, 101, t + 5 * hour_us, 16);
  approved(metro_gate, disabled, Mode::metro_in, 201, t + 6 * hour_us, 1001);
  approved(metro_gate, disabled, Mode::metro_out, 201, t + 6 * hour_us + 25 * minute_us, 1005);

  const st::BusinessDay day = st::business_day_of(EventTime{t}, taipei);
  auto closed = st::Settlement(*ledger, played.options).close(day, EventTime{Pipeline::engine_now_us});
  INFO(closed.status().to_string());
  REQUIRE(closed);

  struct Money {
    std::int64_t fare = 0, points = 0, city = 0;
    bool operator==(const Money&) const = default;
  };
  std::map<std::uint32_t, Money> files;
  Money files_total;
  for (const auto& batch : closed->batches) {
    auto contents = st::read_batch_file(batch.path);
    REQUIRE(contents);
    if (contents->totals.lines == 0) continue;  // every operator gets a file, most empty here
    Money& money = files[batch.batch.operator_id.value];
    money.fare += contents->totals.rider_fare_minor;
    money.points += contents->totals.points_redeemed;
    money.city += contents->totals.city_subsidy_minor + contents->totals.points_subsidy_minor;
    files_total.fare += contents->totals.rider_fare_minor;
    files_total.points += contents->totals.points_redeemed;
  }
  REQUIRE(files.size() == 4);  // 101, 104, 201, 601
  REQUIRE(files_total.points > 0);

  auto query = usage_query("2026-03-02", "2026-03-02", "operator", 480);
  REQUIRE(query);
  auto usage = read_usage_report(*ledger->snapshot(), *query);
  INFO(usage.status().to_string());
  REQUIRE(usage);
  std::map<std::uint32_t, Money> from_usage;
  for (const auto& [key, figures] : usage->groups)
    from_usage[static_cast<std::uint32_t>(key[0])] = {figures.fare_minor, figures.points_redeemed, figures.subsidy_minor};
  CHECK(from_usage == files);

  auto months = report_months("2026-03", "2026-03");
  REQUIRE(months);
  auto points = read_points_report(*ledger->snapshot(), PointsQuery{*months, 480, 180});
  INFO(points.status().to_string());
  REQUIRE(points);
  CHECK(points->total.used == files_total.points);
  CHECK(points->total.allotted == 800 + 800);  // the senior's and the disability card's month
  CHECK(points->total.allotted_cards == 2);
}

}  // namespace citycard::engine::testing
