// A rider's day split into city programmes: exact money per programme after
// every tap, refunds to the programme that paid, and the parts summing to the
// city's share.
#include "rules_test_support.h"

using namespace citycard;
using namespace citycard::rules;
using namespace citycard::rules::testing;

namespace {

std::int64_t paid(const Rating& rating, Programme programme) { return programme_net(rating)[programme_index(programme)]; }

bool has_posting(const Rating& rating, AccountRole debit, AccountRole credit, std::int64_t amount, TransferCode code) {
  for (const Posting& posting : rating.posting_list())
    if (posting.debit == debit && posting.credit == credit && posting.amount_minor == amount && posting.code == code)
      return true;
  return false;
}

}  // namespace

TEST_CASE("a student's bus ride with buy-one-get-one and a metro trip with a transfer, per programme") {
  CardState state = card(RiderCategory::student, 200);
  // Two-segment bus: one student unit (12 of 15) at boarding, the second unit at alighting.
  Rating board = rate(city_rules(), state, make_tap(Mode::bus_board, 104, taipei(2025, 3, 4, 7, 40), 2001, 9));
  REQUIRE(board.approved());
  CHECK(paid(board, Programme::category_fare) == 3);
  CHECK(city_net(board) == 3);
  Rating alight = rate(city_rules(), board.state, make_tap(Mode::bus_alight, 104, taipei(2025, 3, 4, 8, 0), 2013, 9));
  REQUIRE(alight.approved());
  CHECK(alight.fare_minor == 0);
  CHECK(paid(alight, Programme::buy_one_get_one) == 12);
  CHECK(paid(alight, Programme::category_fare) == 3);
  CHECK(city_net(alight) == 15);

  // Metro within the transfer window: max fare 65, the metro citizen discount
  // (20% off, city-funded) 52, transfer -6: 46 held.
  Rating in = rate(city_rules(), alight.state, make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 8, 10), 1001));
  REQUIRE(in.approved());
  CHECK(in.fare_minor == 46);
  CHECK(paid(in, Programme::citizen_discount) == 13);
  CHECK(paid(in, Programme::category_fare) == 0);
  CHECK(paid(in, Programme::transfer_discount) == 6);
  CHECK(in.state.metro.programme_paid_minor[programme_index(Programme::citizen_discount)] == 13);
  // Exit S05: 35, 28 after the discount, less 6 = 22. The discount programme
  // is refunded what it overpaid at the hold (13 - 7), back to its own budget.
  Rating out = rate(city_rules(), in.state, make_tap(Mode::metro_out, 201, taipei(2025, 3, 4, 8, 35), 1005));
  REQUIRE(out.approved());
  CHECK(out.fare_minor == -24);
  CHECK(paid(out, Programme::citizen_discount) == -6);
  CHECK(paid(out, Programme::transfer_discount) == 0);
  CHECK(has_posting(out, AccountRole::operator_payable, AccountRole::budget_citizen_discount, 6,
                    TransferCode::subsidy_citizen_discount));
  CHECK(city_net(out) == -6);
  CHECK_FALSE(out.state.metro.open);
}

TEST_CASE("a journey open before programmes is settled from the budget that paid") {
  CardState state = card(RiderCategory::student, 200);
  Rating in = rate(city_rules(), state, make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 8, 10), 1001));
  REQUIRE(in.approved());
  // As read from card state v2: the whole subsidy paid by the old single budget.
  CardState legacy = in.state;
  legacy.metro.programme_paid_minor = {};
  legacy.metro.programme_paid_minor[programme_index(Programme::unattributed)] = legacy.metro.subsidy_paid_minor;
  Rating out = rate(city_rules(), legacy, make_tap(Mode::metro_out, 201, taipei(2025, 3, 4, 8, 35), 1005));
  REQUIRE(out.approved());
  CHECK(paid(out, Programme::unattributed) == -in.state.metro.subsidy_paid_minor);
  CHECK(paid(out, Programme::citizen_discount) == 7);
  CHECK(paid(out, Programme::transfer_discount) == 0);  // no bus before: no transfer
  CHECK(city_net(out) == 7 - in.state.metro.subsidy_paid_minor);
}

TEST_CASE("a student's capped day: the cap programme pays what the rider no longer does") {
  // City bus: 12 for a student (15 general, category_fare 3); daily cap 100.
  CardState state = card(RiderCategory::student, 500);
  for (int ride = 0; ride < 8; ++ride) {
    Rating bus = rate(city_rules(), state, make_tap(Mode::bus_board, 101, taipei(2025, 3, 4, 6 + ride, 0), 3, 307));
    REQUIRE(bus.approved());
    CHECK(bus.fare_minor == 12);
    CHECK(paid(bus, Programme::category_fare) == 3);
    CHECK(paid(bus, Programme::fare_cap) == 0);
    state = bus.state;
  }
  // 96 paid: the ninth ride costs the rider 4, the cap programme the other 8.
  Rating ninth = rate(city_rules(), state, make_tap(Mode::bus_board, 101, taipei(2025, 3, 4, 14, 0), 3, 307));
  REQUIRE(ninth.approved());
  CHECK(ninth.fare_minor == 4);
  CHECK(paid(ninth, Programme::category_fare) == 3);
  CHECK(paid(ninth, Programme::fare_cap) == 8);
  CHECK(has_posting(ninth, AccountRole::budget_fare_cap, AccountRole::operator_payable, 8, TransferCode::subsidy_fare_cap));
  CHECK(city_net(ninth) == 11);
  // At the cap: the city pays the whole general fare, in two programmes.
  Rating tenth = rate(city_rules(), ninth.state, make_tap(Mode::bus_board, 102, taipei(2025, 3, 4, 15, 0), 3, 12));
  REQUIRE(tenth.approved());
  CHECK(tenth.fare_minor == 0);
  CHECK(paid(tenth, Programme::category_fare) == 3);
  CHECK(paid(tenth, Programme::fare_cap) == 12);
  CHECK(city_net(tenth) == 15);
  // A metro trip at the cap: 52 held after the citizen discount (13), all of it
  // the cap's. The exit at 28 refunds each programme its own overpayment: the
  // cap 24, the discount 6; the rider, who paid nothing, gets nothing back.
  Rating in = rate(city_rules(), tenth.state, make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 16, 30), 1001));
  REQUIRE(in.approved());
  CHECK(in.fare_minor == 0);
  CHECK(paid(in, Programme::citizen_discount) == 13);
  CHECK(paid(in, Programme::fare_cap) == 52);
  Rating out = rate(city_rules(), in.state, make_tap(Mode::metro_out, 201, taipei(2025, 3, 4, 16, 55), 1005));
  REQUIRE(out.approved());
  CHECK(out.fare_minor == 0);
  CHECK(paid(out, Programme::fare_cap) == -24);
  CHECK(paid(out, Programme::citizen_discount) == -6);
  CHECK(has_posting(out, AccountRole::operator_payable, AccountRole::budget_fare_cap, 24, TransferCode::subsidy_fare_cap));
  CHECK(city_net(out) == -30);
}

TEST_CASE("points at a pool and a sports centre, per programme") {
  // A senior with 20 points at the pool: 55 for a senior (110 general), the
  // points first. The city pays welfare_points for the points and
  // category_fare for the senior price below the general one.
  CardState senior = card(RiderCategory::senior, 100, 20);
  senior.points_month = 2025 * 12 + 2;  // March already allotted
  Rating pool = rate(city_rules(), senior, make_tap(Mode::entry, 602, taipei(2025, 3, 20, 10, 0)));
  REQUIRE(pool.approved());
  CHECK(pool.fare_minor == 35);
  CHECK(paid(pool, Programme::welfare_points) == 20);
  CHECK(paid(pool, Programme::category_fare) == 55);
  CHECK(paid(pool, Programme::citizen_discount) == 0);
  CHECK(has_posting(pool, AccountRole::budget_welfare_points, AccountRole::operator_payable, 20,
                    TransferCode::points_subsidy));
  CHECK(city_net(pool) == 75);

  // A general rider with 10 reward points: the pool's citizen discount (20%,
  // city-funded) takes 110 to 88; 10 in points, 78 from the wallet.
  CardState general = card(RiderCategory::general, 100, 10);
  general.points_month = 2025 * 12 + 2;
  Rating swim = rate(city_rules(), general, make_tap(Mode::entry, 601, taipei(2025, 3, 20, 10, 0)));
  REQUIRE(swim.approved());
  CHECK(swim.fare_minor == 78);
  CHECK(paid(swim, Programme::welfare_points) == 10);
  CHECK(paid(swim, Programme::citizen_discount) == 22);
  CHECK(paid(swim, Programme::category_fare) == 0);
  CHECK(city_net(swim) == 32);

  // The sports centres fund their own 20% discount: no programme pays it.
  Rating sport = rate(city_rules(), card(RiderCategory::general, 100), make_tap(Mode::entry, 701, taipei(2025, 3, 20, 11, 0)));
  REQUIRE(sport.approved());
  CHECK(sport.fare_minor == 80);
  CHECK(city_net(sport) == 0);
}
