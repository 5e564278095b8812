// Taoyuan's programmes in the shipped rule set (rules/city.toml, sources in
// docs/rules.md "Sources"), in exact money from riders' days: the welfare
// points (800, 1,000 in Fuxing) on city buses, at the love taxi, a pool, the railway (70
// points a trip, 30 before 2026-01-01) and YouBike 2.0E (20 points per 30
// minutes for two hours, then 40), points first and the wallet the rest; and
// the monthly fare cap reached over a generated month of commuting.
#include <fstream>
#include <sstream>

#include "rule_book.h"
#include "rules_test_support.h"

using namespace citycard;
using namespace citycard::rules;
using namespace citycard::rules::testing;

namespace {

constexpr std::uint32_t bus_operator = 101;
constexpr std::uint32_t metro_operator = 201;
constexpr std::uint32_t railway_operator = 151;
constexpr std::uint32_t youbike_2e_operator = 302;
constexpr std::uint32_t taxi_operator = 401;
constexpr std::uint32_t pool_operator = 601;
constexpr std::uint16_t fuxing = 336;
constexpr std::uint16_t zhongli = 320;

std::int64_t paid(const Rating& rating, Programme programme) { return programme_net(rating)[programme_index(programme)]; }

bool has_code(const Rating& rating, TransferCode code, std::int64_t amount) {
  for (const Posting& posting : rating.posting_list())
    if (posting.code == code && posting.amount_minor == amount) return true;
  return false;
}

std::string city_text() {
  std::ifstream in(CITYCARD_CITY_RULES);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::int32_t month_of(EventTime time) { return LocalCalendar(480, 180).local_month(time); }

// A senior card that has already had this month's points and spent some.
CardState senior_in_march(std::int64_t wallet_minor, std::int64_t points) {
  CardState state = card(RiderCategory::senior, wallet_minor, points);
  state.points_month = month_of(taipei(2026, 3, 1, 12, 0));
  return state;
}

const BikeRule& youbike_2e() {
  const BikeRule* rule = city_rules().find_bike(OperatorId{youbike_2e_operator});
  REQUIRE(rule != nullptr);
  return *rule;
}

}  // namespace

TEST_CASE("taoyuan: a senior's day of bus, love taxi, pool, railway and YouBike 2.0E, the points running out mid-ride") {
  // 330 points left of March's 800, 500 TWD in the wallet.
  const std::vector<Rating> day = ride(city_rules(), senior_in_march(500, 330),
                                       {
                                           make_tap(Mode::bus_board, bus_operator, taipei(2026, 3, 10, 8, 0), 5, 12),
                                           make_tap(Mode::entry, taxi_operator, taipei(2026, 3, 10, 9, 0), 4000, 0, 300),
                                           make_tap(Mode::entry, pool_operator, taipei(2026, 3, 10, 10, 30), 601),
                                           make_tap(Mode::entry, railway_operator, taipei(2026, 3, 10, 12, 0), 7, 0, 120),
                                           make_tap(Mode::bike_rent, youbike_2e_operator, taipei(2026, 3, 10, 14, 0), 3001),
                                           make_tap(Mode::bike_return, youbike_2e_operator, taipei(2026, 3, 10, 16, 40), 3002),
                                       });
  for (const Rating& rating : day) REQUIRE(rating.approved());
  const Rating &bus = day[0], &taxi = day[1], &pool = day[2], &railway = day[3], &rent = day[4], &bike = day[5];

  // Bus: the senior fare 8, all in points; the city pays the operator the other 7.
  CHECK(bus.fare_minor == 0);
  CHECK(bus.points_spent == 8);
  CHECK(paid(bus, Programme::welfare_points) == 8);
  CHECK(paid(bus, Programme::category_fare) == 7);
  CHECK(bus.balance_after_minor == 500);
  // Love taxi, meter 300: 85 points (the cap per ride), 215 from the wallet.
  CHECK(taxi.points_spent == 85);
  CHECK(taxi.fare_minor == 215);
  CHECK(paid(taxi, Programme::welfare_points) == 85);
  CHECK(taxi.points_after == 237);
  // Pool: the senior price 55, all in points; the city pays the 55 below the general 110 too.
  CHECK(pool.points_spent == 55);
  CHECK(pool.fare_minor == 0);
  CHECK(paid(pool, Programme::welfare_points) == 55);
  CHECK(paid(pool, Programme::category_fare) == 55);
  // Railway, fare 120: 70 points at most per trip, paid by railway_subsidy; 50 from the wallet.
  CHECK(railway.points_spent == 70);
  CHECK(railway.fare_minor == 50);
  CHECK(paid(railway, Programme::railway_subsidy) == 70);
  CHECK(paid(railway, Programme::welfare_points) == 0);
  CHECK(railway.points_after == 112);
  CHECK(railway.balance_after_minor == 235);
  // YouBike 2.0E, 160 minutes: 4 periods at 20 (two hours), 2 at 40 = 160. 112 points are
  // left: they pay first and run out, the wallet pays the other 48.
  CHECK(rent.fare_minor == 0);
  CHECK(bike.points_spent == 112);
  CHECK(bike.fare_minor == 48);
  CHECK(paid(bike, Programme::welfare_points) == 112);
  CHECK(bike.points_after == 0);
  CHECK(bike.balance_after_minor == 187);

  Totals totals;
  for (const Rating& rating : day) totals.add(rating);
  CHECK(totals.rider_minor == 215 + 50 + 48);
  CHECK(totals.points_spent == 330);
  CHECK(totals.city_minor == 8 + 7 + 85 + 55 + 55 + 70 + 112);
  CHECK(totals.operator_minor == std::map<std::uint32_t, std::int64_t>{{bus_operator, 15},
                                                                      {railway_operator, 120},
                                                                      {youbike_2e_operator, 160},
                                                                      {taxi_operator, 300},
                                                                      {pool_operator, 110}});
}

TEST_CASE("taoyuan: welfare points pay city bus fares first, the wallet the rest, and never past the cap") {
  const Tap first = make_tap(Mode::bus_board, bus_operator, taipei(2026, 3, 10, 8, 0), 5, 12);
  // 5 points left: they pay 5 of the senior fare 8, the wallet 3.
  const Rating mixed = rate(city_rules(), senior_in_march(100, 5), first);
  REQUIRE(mixed.approved());
  CHECK(mixed.points_spent == 5);
  CHECK(mixed.fare_minor == 3);
  CHECK(mixed.points_after == 0);
  CHECK(mixed.balance_after_minor == 97);
  CHECK(paid(mixed, Programme::welfare_points) == 5);
  CHECK(paid(mixed, Programme::category_fare) == 7);
  // No points and an empty wallet: refused for the money, and nothing spent.
  const Rating broke = rate(city_rules(), senior_in_march(0, 0), first);
  CHECK_FALSE(broke.approved());
  CHECK(broke.refusal == RefusalReason::insufficient_balance);
  CHECK(broke.posting_list().empty());
  // Points alone carry a rider whose wallet is empty.
  CHECK(rate(city_rules(), senior_in_march(0, 800), first).approved());

  // A student pays from the wallet: points are for senior and disability cards.
  CardState student = card(RiderCategory::student, 100, 50);
  student.points_month = senior_in_march(0, 0).points_month;
  const Rating student_ride = rate(city_rules(), student, first);
  REQUIRE(student_ride.approved());
  CHECK(student_ride.points_spent == 0);
  CHECK(student_ride.fare_minor == 12);

  // The concession cap (60 a day) caps what is due, whoever pays it: 7 rides
  // of 8 = 56, the 8th pays 4, the 9th nothing, in points.
  std::vector<Tap> taps;
  for (int ride = 0; ride < 9; ++ride)
    taps.push_back(make_tap(Mode::bus_board, bus_operator, taipei(2026, 3, 10, 7 + ride, 0), 5, 12));
  const std::vector<Rating> day = ride(city_rules(), senior_in_march(100, 800), taps);
  std::int64_t points = 0;
  for (const Rating& rating : day) {
    REQUIRE(rating.approved());
    CHECK(rating.fare_minor == 0);
    points += rating.points_spent;
  }
  CHECK(points == 60);
  CHECK(day[7].points_spent == 4);
  CHECK(day[8].points_spent == 0);
  CHECK(day.back().points_after == 740);
  CHECK(day.back().balance_after_minor == 100);
}

TEST_CASE("taoyuan: points pay only on a network whose fare is settled once, at boarding") {
  std::string text = city_text();
  const std::string segment = "fare_collection = \"board_and_alight\"       # one unit at boarding, the rest at alighting\n";
  REQUIRE(text.find(segment) != std::string::npos);
  text.replace(text.find(segment), segment.size(), segment + "points_categories = [\"senior\"]\n");
  RuleSetLoad load = parse_rule_set(text, "segment-points.toml");
  REQUIRE_FALSE(load.ok());
  CHECK(problems_text(load.problems).find("points_categories: points pay only on an on_board network") != std::string::npos);
}

TEST_CASE("taoyuan: YouBike 2.0E costs 20 per started half hour for two hours, then 40") {
  const BikeRule& rule = youbike_2e();
  CHECK(bike_fare_minor(rule, 0) == 0);
  CHECK(bike_fare_minor(rule, 1) == 20);
  CHECK(bike_fare_minor(rule, 30) == 20);
  CHECK(bike_fare_minor(rule, 31) == 40);
  CHECK(bike_fare_minor(rule, 120) == 80);
  CHECK(bike_fare_minor(rule, 121) == 120);
  CHECK(bike_fare_minor(rule, 150) == 120);
  CHECK(bike_fare_minor(rule, 151) == 160);

  // A general rider pays it from the wallet; points are not theirs to use here.
  CardState general = card(RiderCategory::general, 100, 50);
  general.points_month = month_of(taipei(2026, 3, 1, 12, 0));
  auto rides = ride(city_rules(), general,
                    {make_tap(Mode::bike_rent, youbike_2e_operator, taipei(2026, 3, 10, 9, 0), 3001),
                     make_tap(Mode::bike_return, youbike_2e_operator, taipei(2026, 3, 10, 9, 45), 3002)});
  REQUIRE(rides[1].approved());
  CHECK(rides[1].fare_minor == 40);
  CHECK(rides[1].points_spent == 0);
  CHECK(city_net(rides[1]) == 0);

  // To rent, the stored value must not be negative (0 will do), even for a card with points.
  const Tap rent = make_tap(Mode::bike_rent, youbike_2e_operator, taipei(2026, 3, 10, 9, 0), 3001);
  const Rating in_debt = rate(city_rules(), senior_in_march(-1, 500), rent);
  CHECK(in_debt.refusal == RefusalReason::below_minimum_balance);
  CHECK(rate(city_rules(), senior_in_march(0, 500), rent).approved());
}

TEST_CASE("taoyuan: a Fuxing resident's month brings 1,000 points, elsewhere 800") {
  const Tap first_of_april = make_tap(Mode::entry, pool_operator, taipei(2026, 4, 1, 10, 0), 601);
  CardState fuxing_senior = senior_in_march(200, 40);
  fuxing_senior.district = fuxing;
  const Rating april = rate(city_rules(), fuxing_senior, first_of_april);
  REQUIRE(april.approved());
  // March's 40 expire, 1,000 arrive, the pool takes 55 of them.
  CHECK(has_code(april, TransferCode::points_expired, 40));
  CHECK(has_code(april, TransferCode::points_allotment, 1000));
  CHECK(april.points_after == 1000 - 55);

  CardState zhongli_senior = senior_in_march(200, 40);
  zhongli_senior.district = zhongli;
  CHECK(rate(city_rules(), zhongli_senior, first_of_april).points_after == 800 - 55);
  CardState no_district_senior = senior_in_march(200, 40);
  CHECK(rate(city_rules(), no_district_senior, first_of_april).points_after == 800 - 55);

  CardState fuxing_disability = card(RiderCategory::disability, 200);
  fuxing_disability.district = fuxing;
  CHECK(rate(city_rules(), fuxing_disability, first_of_april).points_after == 1000 - 55);
  // Categories the district row does not name get the city's allotment: none for a companion.
  CardState fuxing_companion = card(RiderCategory::disability_companion, 200);
  fuxing_companion.district = fuxing;
  const Rating companion = rate(city_rules(), fuxing_companion, first_of_april);
  CHECK(companion.points_after == 0);
  CHECK(companion.fare_minor == 55);
}

TEST_CASE("taoyuan: the railway takes at most 30 points a trip before 2026-01-01 and 70 from that business day") {
  // The shipped file is the 2026 version; the 2025 one differed in the railway
  // cap and in YouBike 2.0E taking no points (docs/rules.md "Sources").
  RuleSet rules_2025 = city_rules();
  rules_2025.version = 1;
  for (Venue& venue : rules_2025.venues)
    if (venue.kind == ServiceKind::railway) venue.points_max_per_use = 30;
  for (BikeRule& bike : rules_2025.bikes) bike.points_categories = 0;
  auto from_2026 = *parse_date_days("2026-01-01");
  InstalledRules version_2025, version_2026;
  version_2025.rules = std::make_shared<const RuleSet>(rules_2025);
  version_2026.rules = std::make_shared<const RuleSet>(city_rules());
  version_2026.effective_day = from_2026;
  RuleBook book({version_2025, version_2026});

  CardState senior = card(RiderCategory::senior, 500);
  senior.points_month = month_of(taipei(2025, 12, 1, 12, 0));
  senior.points = 400;
  auto trip = [&](EventTime time) {
    const Tap tap = make_tap(Mode::entry, railway_operator, time, 7, 0, 120);
    const Rating rating = rate(book.for_time(time), senior, tap);
    REQUIRE(rating.approved());
    return rating;
  };
  const Rating december = trip(taipei(2025, 12, 31, 18, 0));
  CHECK(december.rule_set_version == 1);
  CHECK(december.points_spent == 30);
  CHECK(december.fare_minor == 90);
  CHECK(paid(december, Programme::railway_subsidy) == 30);
  // 02:30 on New Year's Day still belongs to the business day of 31 December.
  const Rating night = trip(taipei(2026, 1, 1, 2, 30));
  CHECK(night.rule_set_version == 1);
  CHECK(night.points_spent == 30);
  // From 03:00 the 2026 rules: 70 points (January's first tap: 400 expire, 800 arrive).
  const Rating january = trip(taipei(2026, 1, 1, 3, 0));
  CHECK(january.rule_set_version == city_rules().version);
  CHECK(january.points_spent == 70);
  CHECK(january.fare_minor == 50);
  CHECK(paid(january, Programme::railway_subsidy) == 70);
  CHECK(january.points_after == 800 - 70);

  // YouBike 2.0E took no points in 2025: a December ride is all wallet.
  const EventTime rent_time = taipei(2025, 12, 30, 9, 0), return_time = taipei(2025, 12, 30, 9, 40);
  Rating rented = rate(book.for_time(rent_time), senior, make_tap(Mode::bike_rent, youbike_2e_operator, rent_time, 3001));
  REQUIRE(rented.approved());
  Rating returned =
      rate(book.for_time(return_time), rented.state, make_tap(Mode::bike_return, youbike_2e_operator, return_time, 3002));
  CHECK(returned.points_spent == 0);
  CHECK(returned.fare_minor == 40);
}

TEST_CASE("taoyuan: a general commuter's month reaches the monthly cap, and April starts afresh") {
  // Every weekday of March 2026: bus to the metro, metro S01 -> S08, and back.
  // Each day: bus 15; metro 65 with the 20% citizen discount = 52, less the
  // 8 bus -> metro transfer = 44; back 52; the bus after the metro 15 - 8 = 7.
  // 118 a day, under the daily cap of 150; 22 weekdays would be 2,596.
  CardState state = card(RiderCategory::general, 10'000);  // the wallet's maximum: enough for the month
  std::vector<Tap> taps;
  int weekdays = 0;
  for (int day = 1; day <= 31; ++day) {
    const std::int64_t days = days_from_civil(2026, 3, day);
    const std::int64_t weekday = (days + 3) % 7;  // 1970-01-01 was a Thursday: 0 = Monday
    if (weekday >= 5) continue;
    ++weekdays;
    taps.push_back(make_tap(Mode::bus_board, bus_operator, taipei(2026, 3, day, 7, 30), 5, 12));
    taps.push_back(make_tap(Mode::metro_in, metro_operator, taipei(2026, 3, day, 8, 0), 1001));
    taps.push_back(make_tap(Mode::metro_out, metro_operator, taipei(2026, 3, day, 8, 40), 1008));
    taps.push_back(make_tap(Mode::metro_in, metro_operator, taipei(2026, 3, day, 17, 30), 1008));
    taps.push_back(make_tap(Mode::metro_out, metro_operator, taipei(2026, 3, day, 18, 10), 1001));
    taps.push_back(make_tap(Mode::bus_board, bus_operator, taipei(2026, 3, day, 18, 30), 5, 12));
  }
  REQUIRE(weekdays == 22);
  const std::vector<Rating> month = ride(city_rules(), state, taps);

  Totals first_day;
  for (std::size_t i = 0; i < 6; ++i) first_day.add(month[i]);
  CHECK(first_day.rider_minor == 118);

  Totals totals;
  std::int64_t fare_cap = 0, transfer = 0, discount = 0;
  for (const Rating& rating : month) {
    REQUIRE(rating.approved());
    totals.add(rating);
    fare_cap += paid(rating, Programme::fare_cap);
    transfer += paid(rating, Programme::transfer_discount);
    discount += paid(rating, Programme::citizen_discount);
  }
  // The rider pays the monthly cap, 1,200, and not a dollar more; the operators
  // get their full fares; the city pays the rest, the cap's part as fare_cap.
  CHECK(totals.rider_minor == 1200);
  CHECK(totals.operator_minor.at(bus_operator) == 15 * 2 * 22);
  CHECK(totals.operator_minor.at(metro_operator) == 65 * 2 * 22);
  CHECK(totals.city_minor == 15 * 2 * 22 + 65 * 2 * 22 - 1200);
  CHECK(fare_cap == 118 * 22 - 1200);
  CHECK(fare_cap + transfer + discount == totals.city_minor);
  CHECK(month.back().balance_after_minor == 10'000 - 1200);

  // The cap is reached on the 11th weekday (10 x 118 = 1,180): from then on nothing more.
  Totals ten_days;
  for (std::size_t i = 0; i < 60; ++i) ten_days.add(month[i]);
  CHECK(ten_days.rider_minor == 1180);
  Totals after_eleven;
  for (std::size_t i = 66; i < month.size(); ++i) after_eleven.add(month[i]);
  CHECK(after_eleven.rider_minor == 0);

  // April 1st: a new month, the full fare again.
  const Rating april = rate(city_rules(), month.back().state, make_tap(Mode::bus_board, bus_operator, taipei(2026, 4, 1, 7, 30), 5, 12));
  REQUIRE(april.approved());
  CHECK(april.fare_minor == 15);
}
