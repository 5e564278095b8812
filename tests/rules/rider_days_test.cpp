// Whole rider days on the city's rule set, with exact charges, city payments
// and points after every tap.
#include "rules_test_support.h"

using namespace citycard;
using namespace citycard::rules;
using namespace citycard::rules::testing;

namespace {

struct Step {
  Tap tap;
  RefusalReason refusal = RefusalReason::none;
  std::int64_t fare_minor = 0;       // rider's wallet charge (refund < 0)
  std::int64_t city_minor = 0;       // city budgets (all programmes) -> operators, net
  std::int64_t points_spent = 0;
  std::int64_t balance_after_minor = 0;
  std::int64_t points_after = 0;
  bool deny_list = false;
};

void run_day(CardState start, const std::vector<Step>& steps) {
  CardState state = start;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    INFO("step " << i + 1 << ": " << mode_name(step.tap.mode));
    Rating rating = rate(city_rules(), state, step.tap);
    check_balanced(state, rating);
    CHECK(refusal_name(rating.refusal) == refusal_name(step.refusal));
    CHECK(rating.fare_minor == step.fare_minor);
    CHECK(city_net(rating) == step.city_minor);
    CHECK(rating.points_spent == step.points_spent);
    CHECK(rating.balance_after_minor == step.balance_after_minor);
    CHECK(rating.points_after == step.points_after);
    CHECK(rating.deny_list == step.deny_list);
    CHECK(rating.rule_set_version == city_rules().version);
    state = rating.state;
  }
}

}  // namespace

TEST_CASE("a student's commute: bus, metro with a transfer, and back") {
  // Bus 12 (15 general, city pays 3). Metro: max 65, 20% off = 52, transfer -6
  // = 46 held, city 19; S01->S05 35 -> 28 - 6 = 22, refund 24 and 6 to the city.
  // Evening: 52 held, 28 charged; bus after metro 12 - 6 = 6.
  run_day(card(RiderCategory::student, 200),
          {
              {make_tap(Mode::bus_board, 101, taipei(2025, 3, 4, 7, 40), 12, 307), RefusalReason::none, 12, 3, 0, 188, 0},
              {make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 8, 5), 1001), RefusalReason::none, 46, 19, 0, 142, 0},
              {make_tap(Mode::metro_out, 201, taipei(2025, 3, 4, 8, 30), 1005), RefusalReason::none, -24, -6, 0, 166, 0},
              {make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 17, 30), 1005), RefusalReason::none, 52, 13, 0, 114, 0},
              {make_tap(Mode::metro_out, 201, taipei(2025, 3, 4, 17, 55), 1001), RefusalReason::none, -24, -6, 0, 138, 0},
              {make_tap(Mode::bus_board, 101, taipei(2025, 3, 4, 18, 10), 40, 307), RefusalReason::none, 6, 9, 0, 132, 0},
          });
}

TEST_CASE("a senior at the pool and in a love taxi with points, across a month end") {
  CardState senior = card(RiderCategory::senior, 50, 30);
  senior.points_month = 2025 * 12 + 1;  // February's allotment was made
  run_day(senior,
          {
              // First tap of March: 30 points expire, 800 arrive. Pool 55 for a
              // senior, all in points; the city pays the pool 55 for the points
              // and 55 more so it receives its general price of 110.
              {make_tap(Mode::entry, 601, taipei(2025, 3, 1, 9, 0)), RefusalReason::none, 0, 110, 55, 50, 745},
              // Taxi meter 120: at most 85 points per ride, 35 from the wallet.
              {make_tap(Mode::entry, 401, taipei(2025, 3, 1, 11, 0), 0, 0, 120), RefusalReason::none, 35, 85, 85, 15, 660},
              // Meter 300: 85 points and 215 from a wallet of 15: refused, nothing moves.
              {make_tap(Mode::entry, 401, taipei(2025, 3, 1, 15, 0), 0, 0, 300), RefusalReason::insufficient_balance, 0,
               0, 0, 15, 660},
              // April: 660 points expire, 800 arrive; bus 8 for a senior, paid in points;
              // the city pays the operator the 8 points and 7 more.
              {make_tap(Mode::bus_board, 102, taipei(2025, 4, 1, 8, 0), 5, 12), RefusalReason::none, 0, 15, 8, 15, 792},
          });
}

TEST_CASE("points run short at the pool: points first, the rest from the wallet") {
  CardState senior = card(RiderCategory::senior, 100, 20);
  senior.points_month = 2025 * 12 + 2;  // March already allotted
  run_day(senior, {
                      {make_tap(Mode::entry, 602, taipei(2025, 3, 20, 10, 0)), RefusalReason::none, 35, 75, 20, 65, 0},
                  });
}

TEST_CASE("a metro trip with a missing tap-out is closed at the maximum fare") {
  run_day(card(RiderCategory::general, 300),
          {
              {make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 8, 0), 1002), RefusalReason::none, 52, 13, 0, 248, 0},
              // No tap-out; the evening entry closes the morning trip at its held
              // maximum (nothing more to take) and holds again.
              {make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 19, 0), 1003), RefusalReason::none, 52, 13, 0, 196, 0},
              {make_tap(Mode::metro_out, 201, taipei(2025, 3, 4, 19, 20), 1004), RefusalReason::none, -36, -9, 0, 232, 0},
              // Tap-out 150 minutes after entry, beyond the 120-minute limit: the maximum stays.
              {make_tap(Mode::metro_in, 201, taipei(2025, 3, 5, 10, 0), 1001), RefusalReason::none, 52, 13, 0, 180, 0},
              {make_tap(Mode::metro_out, 201, taipei(2025, 3, 5, 12, 30), 1008), RefusalReason::none, 0, 0, 0, 180, 0},
              // A tap-out with no trip open.
              {make_tap(Mode::metro_out, 201, taipei(2025, 3, 5, 13, 0), 1008), RefusalReason::no_open_journey, 0, 0, 0,
               180, 0},
          });
}

TEST_CASE("a missing tap-out with a partial hold is charged in full at the next entry") {
  run_day(card(RiderCategory::general, 60),
          {
              // Only 60 in the wallet: the hold is the full 52.
              {make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 8, 0), 1001), RefusalReason::none, 52, 13, 0, 8, 0},
              // Next entry: 8 left is below the 20 minimum: refused, nothing moves.
              {make_tap(Mode::metro_in, 201, taipei(2025, 3, 5, 8, 0), 1001), RefusalReason::below_minimum_balance, 0, 0,
               0, 8, 0},
          });
  run_day(card(RiderCategory::general, 30),
          {
              // 30 in the wallet: 30 held of the 52 maximum.
              {make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 8, 0), 1001), RefusalReason::none, 30, 13, 0, 0, 0},
              {make_tap(Mode::top_up, 201, taipei(2025, 3, 5, 7, 55), 0, 0, 100), RefusalReason::none, 0, 0, 0, 100, 0},
              // The open trip is closed at the maximum: 22 more, then a new hold of 52.
              {make_tap(Mode::metro_in, 201, taipei(2025, 3, 5, 8, 0), 1001), RefusalReason::none, 74, 13, 0, 26, 0},
          });
}

TEST_CASE("a capped day: the rider never pays more than the daily cap, the operator gets every fare") {
  std::vector<Step> steps;
  std::int64_t balance = 1000;
  for (int ride = 0; ride < 10; ++ride) {
    balance -= 15;
    steps.push_back({make_tap(Mode::bus_board, 101, taipei(2025, 3, 4, 7 + ride, 0), 3, 307), RefusalReason::none, 15, 0,
                     0, balance, 0});
  }
  // The cap (150) is reached: the city pays the whole fare.
  steps.push_back({make_tap(Mode::bus_board, 103, taipei(2025, 3, 4, 17, 0), 3, 600), RefusalReason::none, 0, 15, 0,
                   balance, 0});
  // 02:30 the next morning still belongs to the business day that began at 03:00.
  steps.push_back({make_tap(Mode::bus_board, 103, taipei(2025, 3, 5, 2, 30), 3, 600), RefusalReason::none, 0, 15, 0,
                   balance, 0});
  // A new business day.
  steps.push_back({make_tap(Mode::bus_board, 103, taipei(2025, 3, 5, 7, 0), 3, 600), RefusalReason::none, 15, 0, 0,
                   balance - 15, 0});
  run_day(card(RiderCategory::general, 1000), steps);
}

TEST_CASE("a late batch from an offline bus is rated by event time and may leave a debt") {
  const std::vector<Step> arrival_order = {
      // Online metro: only 40 in the wallet, so 40 of the 52 maximum is held.
      {make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 10, 0), 1001), RefusalReason::none, 40, 13, 0, 0, 0},
      {make_tap(Mode::metro_out, 201, taipei(2025, 3, 4, 10, 20), 1003), RefusalReason::none, -20, -8, 0, 20, 0},
      // Uploaded later: a 09:30 bus ride that led into the metro trip. It takes
      // the transfer (15 - 8 = 7) the metro leg would have had in order.
      {make_tap(Mode::bus_board, 102, taipei(2025, 3, 4, 9, 30), 5, 12, 0, true), RefusalReason::none, 7, 8, 0, 13, 0},
      // An 18:00 ride, already given: charged into debt, the card goes on the deny list.
      {make_tap(Mode::bus_board, 102, taipei(2025, 3, 4, 18, 0), 5, 12, 0, true), RefusalReason::none, 15, 0, 0, -2, 0,
       true},
  };
  run_day(card(RiderCategory::general, 40), arrival_order);

  // The same taps in event-time order cost the same in total.
  std::vector<Tap> in_order = {arrival_order[2].tap, arrival_order[0].tap, arrival_order[1].tap, arrival_order[3].tap};
  std::vector<Tap> late = {arrival_order[0].tap, arrival_order[1].tap, arrival_order[2].tap, arrival_order[3].tap};
  Totals ordered_totals, late_totals;
  for (const Rating& rating : ride(city_rules(), card(RiderCategory::general, 40), in_order)) ordered_totals.add(rating);
  for (const Rating& rating : ride(city_rules(), card(RiderCategory::general, 40), late)) late_totals.add(rating);
  CHECK(ordered_totals.rider_minor == 42);
  CHECK(ordered_totals.city_minor == 13);
  CHECK(late_totals == ordered_totals);

  // Offline postings carry the flags the ledger needs to go below the floor.
  CardState state = card(RiderCategory::general, 0);
  Rating rating = rate(city_rules(), state, arrival_order[3].tap);
  REQUIRE(rating.approved());
  REQUIRE(rating.posting_count == 1);
  CHECK(rating.postings[0].flags == (transfer_flag_service_given | transfer_flag_offline));
  CHECK(rating.deny_list);
}
