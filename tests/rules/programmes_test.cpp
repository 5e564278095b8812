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
