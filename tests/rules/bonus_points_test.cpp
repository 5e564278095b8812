// Bonus points: a balance of their own (card_bonus_points), earned at partner
// shops and as the co-branded card's cashback, spent only at partner shops
// (bonus points first, the wallet the rest; the bonus_points programme pays
// the shop), never mixed with welfare points, and expired lazily at the
// first tap after their expiry month. Exact money from the shipped rules:
// partner_shops (901, 902) give one point per 100 TWD from the wallet and
// take points at 1 TWD; cashback 1%; expiry at the end of the 12th month.
#include <algorithm>

#include "explain.h"
#include "rules_test_support.h"

using namespace citycard;
using namespace citycard::rules;
using namespace citycard::rules::testing;

namespace {

constexpr std::uint32_t shop = 901, parking = 801, pool = 601, bus = 101, library = 501;

Rating rated(const CardState& state, const Tap& tap) {
  Rating rating = rate(city_rules(), state, tap);
  check_balanced(state, rating);
  return rating;
}

Tap pay_at(std::uint32_t operator_id, std::int64_t amount, EventTime time) {
  return make_tap(Mode::pay, operator_id, time, 0, 0, amount);
}

bool has_posting(const Rating& rating, AccountRole debit, AccountRole credit, std::int64_t amount, TransferCode code) {
  for (const Posting& posting : rating.posting_list())
    if (posting.debit == debit && posting.credit == credit && posting.amount_minor == amount && posting.code == code)
      return true;
  return false;
}

std::int64_t paid(const Rating& rating, Programme programme) { return programme_net(rating)[programme_index(programme)]; }

CardState with_bonus(CardState state, std::int64_t bonus_points, std::int32_t expiry_month) {
  state.bonus_points = bonus_points;
  state.bonus_expiry_month = expiry_month;
  return state;
}

std::int32_t month_of(int year, int month) { return month_key(CivilDate{year, month, 1}); }

}  // namespace

TEST_CASE("a partner shop payment earns bonus points, not welfare points") {
  const CardState state = card(RiderCategory::general, 5000);
  Rating paid_250 = rated(state, pay_at(shop, 250, taipei(2025, 3, 4, 12, 0)));
  REQUIRE(paid_250.approved());
  CHECK(paid_250.fare_minor == 250);
  CHECK(paid_250.state.wallet_minor == 4750);
  CHECK(paid_250.state.bonus_points == 2);  // 250 / 100
  CHECK(paid_250.state.points == 0);
  CHECK(has_posting(paid_250, AccountRole::card_wallet, AccountRole::operator_payable, 250, TransferCode::payment));
  CHECK(has_posting(paid_250, AccountRole::points_budget, AccountRole::card_bonus_points, 2,
                    TransferCode::bonus_points_earned));
  CHECK(net_for_role(paid_250, AccountRole::card_points, Asset::points) == 0);
  // Valid to the end of March 2026: the 12th month after March 2025.
  CHECK(paid_250.state.bonus_expiry_month == month_of(2026, 3));
  CHECK(city_net(paid_250) == 0);
  // Less than 100 from the wallet earns nothing; a car park never earns.
  CHECK(rated(state, pay_at(shop, 99, taipei(2025, 3, 4, 12, 0))).state.bonus_points == 0);
  CHECK(rated(state, pay_at(parking, 2500, taipei(2025, 3, 4, 12, 0))).state.bonus_points == 0);
}

TEST_CASE("the co-branded credit card's cashback earns bonus points on any payment") {
  CardState state = card(RiderCategory::general, 5000);
  state.media = Media::co_branded_credit;
  // Partner shop: 2 shop points (250 / 100) and 1% cashback (2.5, rounded down: 2).
  Rating at_shop = rated(state, pay_at(shop, 250, taipei(2025, 3, 4, 12, 0)));
  REQUIRE(at_shop.approved());
  CHECK(at_shop.state.bonus_points == 4);
  CHECK(has_posting(at_shop, AccountRole::points_budget, AccountRole::card_bonus_points, 4,
                    TransferCode::bonus_points_earned));
  // A car park gives no shop points, but the card's cashback: 1% of 2,500.
  Rating at_parking = rated(at_shop.state, pay_at(parking, 2500, taipei(2025, 3, 4, 13, 0)));
  REQUIRE(at_parking.approved());
  CHECK(at_parking.state.bonus_points == 4 + 25);
  CHECK(at_parking.state.wallet_minor == 5000 - 250 - 2500);
  // A physical card of the same account earns no cashback.
  CardState physical = card(RiderCategory::general, 5000);
  CHECK(rated(physical, pay_at(parking, 2500, taipei(2025, 3, 4, 13, 0))).state.bonus_points == 0);
}

TEST_CASE("bonus points pay first at a partner shop, the wallet the rest, the bonus programme pays the shop") {
  const CardState state = with_bonus(card(RiderCategory::general, 500), 120, month_of(2026, 1));
  Rating paid_250 = rated(state, pay_at(shop, 250, taipei(2025, 3, 4, 12, 0)));
  REQUIRE(paid_250.approved());
  CHECK(paid_250.bonus_points_spent == 120);
  CHECK(paid_250.fare_minor == 130);
  CHECK(paid_250.state.wallet_minor == 370);
  CHECK(has_posting(paid_250, AccountRole::card_bonus_points, AccountRole::points_redeemed, 120,
                    TransferCode::bonus_points_redeemed));
  CHECK(has_posting(paid_250, AccountRole::budget_bonus_points, AccountRole::operator_payable, 120,
                    TransferCode::subsidy_bonus_points));
  CHECK(has_posting(paid_250, AccountRole::card_wallet, AccountRole::operator_payable, 130, TransferCode::payment));
  CHECK(paid(paid_250, Programme::bonus_points) == 120);
  CHECK(city_net(paid_250) == 120);
  CHECK(net_for_role(paid_250, AccountRole::operator_payable, Asset::twd, OperatorId{shop}) == 250);
  // The wallet's 130 earns one new point: 120 spent, 1 earned.
  CHECK(paid_250.state.bonus_points == 1);
  CHECK(paid_250.state.bonus_expiry_month == month_of(2026, 3));

  // More points than the price: points pay it all, nothing from the wallet, nothing earned.
  Rating all_points = rated(with_bonus(card(RiderCategory::general, 0), 300, month_of(2026, 1)),
                            pay_at(902, 250, taipei(2025, 3, 4, 12, 0)));
  REQUIRE(all_points.approved());
  CHECK(all_points.fare_minor == 0);
  CHECK(all_points.state.wallet_minor == 0);
  CHECK(all_points.state.bonus_points == 50);
  CHECK(paid(all_points, Programme::bonus_points) == 250);
  CHECK(has_posting(all_points, AccountRole::budget_bonus_points, AccountRole::operator_payable, 250,
                    TransferCode::subsidy_bonus_points));

  // Too little in the wallet for the rest: refused, nothing spent.
  Rating short_wallet = rated(with_bonus(card(RiderCategory::general, 100), 120, month_of(2026, 1)),
                              pay_at(shop, 250, taipei(2025, 3, 4, 12, 0)));
  CHECK(short_wallet.refusal == RefusalReason::insufficient_balance);
  CHECK(short_wallet.state.bonus_points == 120);
}

TEST_CASE("bonus points are never spent on a bus, at a venue or a car park") {
  // A senior with bonus points and no welfare points left this month.
  CardState state = with_bonus(card(RiderCategory::senior, 1000), 500, month_of(2026, 1));
  state.points_month = month_of(2025, 3);
  Rating ride = rated(state, make_tap(Mode::bus_board, bus, taipei(2025, 3, 4, 8, 0), 3, 307));
  REQUIRE(ride.approved());
  CHECK(ride.state.bonus_points == 500);
  CHECK(net_for_role(ride, AccountRole::card_bonus_points, Asset::points) == 0);
  CHECK(paid(ride, Programme::bonus_points) == 0);
  Rating swim = rated(ride.state, make_tap(Mode::entry, pool, taipei(2025, 3, 4, 10, 0)));
  REQUIRE(swim.approved());
  CHECK(swim.state.bonus_points == 500);
  CHECK(swim.fare_minor > 0);  // the wallet paid
  CHECK(paid(swim, Programme::bonus_points) == 0);
  Rating park = rated(swim.state, pay_at(parking, 200, taipei(2025, 3, 4, 11, 0)));
  REQUIRE(park.approved());
  CHECK(park.state.bonus_points == 500);
  CHECK(park.fare_minor == 200);
}

TEST_CASE("welfare points are never spent at a partner shop") {
  // A senior with this month's 800 welfare points and no bonus points.
  CardState state = card(RiderCategory::senior, 1000, 800);
  state.points_month = month_of(2025, 3);
  Rating paid_250 = rated(state, pay_at(shop, 250, taipei(2025, 3, 4, 12, 0)));
  REQUIRE(paid_250.approved());
  CHECK(paid_250.state.points == 800);
  CHECK(paid_250.points_spent == 0);
  CHECK(paid_250.fare_minor == 250);
  CHECK(paid(paid_250, Programme::welfare_points) == 0);
  CHECK(paid_250.state.bonus_points == 2);
}

TEST_CASE("bonus points expire at the first tap after their expiry month, late taps change nothing") {
  const CardState state = with_bonus(card(RiderCategory::general, 1000), 50, month_of(2025, 3));
  // The last evening of March: still valid.
  Rating march = rated(state, make_tap(Mode::identify, library, taipei(2025, 3, 31, 23, 0)));
  REQUIRE(march.approved());
  CHECK(march.state.bonus_points == 50);
  CHECK(march.posting_count == 0);
  // The first tap of April, whatever it is, expires the 50 points.
  Rating april = rated(march.state, make_tap(Mode::identify, library, taipei(2025, 4, 1, 9, 0)));
  REQUIRE(april.approved());
  CHECK(april.state.bonus_points == 0);
  CHECK(april.state.bonus_expiry_month == 0);
  CHECK(has_posting(april, AccountRole::card_bonus_points, AccountRole::points_redeemed, 50,
                    TransferCode::bonus_points_expired));
  CHECK(paid(april, Programme::bonus_points) == 0);  // the city paid nothing for points nobody spent
  // Expired before a shop could take them: the wallet pays it all.
  Rating shop_in_april = rated(state, pay_at(shop, 250, taipei(2025, 4, 2, 12, 0)));
  REQUIRE(shop_in_april.approved());
  CHECK(shop_in_april.fare_minor == 250);
  CHECK(shop_in_april.bonus_points_spent == 0);
  CHECK(shop_in_april.state.bonus_points == 2);  // newly earned, valid to the end of April 2026
  CHECK(shop_in_april.state.bonus_expiry_month == month_of(2026, 4));
  // A late offline tap from March, after April's: nothing more expires or comes back.
  Rating late = rated(april.state, make_tap(Mode::identify, library, taipei(2025, 3, 30, 9, 0), 0, 0, 0, true));
  REQUIRE(late.approved());
  CHECK(late.posting_count == 0);
  // Each earning extends the whole balance; a late earning never shortens it
  // (the 50 points pay first, the wallet's 250 earns 2).
  Rating earned = rated(with_bonus(card(RiderCategory::general, 1000), 50, month_of(2026, 6)),
                        pay_at(shop, 300, taipei(2025, 3, 4, 12, 0)));
  CHECK(earned.state.bonus_points == 2);
  CHECK(earned.state.bonus_expiry_month == month_of(2026, 6));
  Rating extended = rated(with_bonus(card(RiderCategory::general, 1000), 50, month_of(2025, 5)),
                          pay_at(parking, 300, taipei(2025, 4, 4, 12, 0)));
  CHECK(extended.state.bonus_points == 50);  // a car park gives none: the date stays
  CHECK(extended.state.bonus_expiry_month == month_of(2025, 5));
}

TEST_CASE("a card without a bonus points account neither earns nor spends them") {
  CardState state = with_bonus(card(RiderCategory::general, 1000), 0, 0);
  state.bonus_account = false;
  state.media = Media::co_branded_credit;
  Rating paid_250 = rated(state, pay_at(shop, 250, taipei(2025, 3, 4, 12, 0)));
  REQUIRE(paid_250.approved());
  CHECK(paid_250.fare_minor == 250);
  CHECK(paid_250.state.bonus_points == 0);
  CHECK(net_for_role(paid_250, AccountRole::card_bonus_points, Asset::points) == 0);
}

TEST_CASE("explain names the bonus steps") {
  CardState state = with_bonus(card(RiderCategory::general, 500), 120, month_of(2026, 1));
  state.media = Media::co_branded_credit;
  Rating rating = rated(state, pay_at(shop, 250, taipei(2025, 3, 4, 12, 0)));
  REQUIRE(rating.approved());
  const std::vector<std::string> lines = explain_notes(city_rules(), state, rating);
  auto has_line = [&](const std::string& text) { return std::find(lines.begin(), lines.end(), text) != lines.end(); };
  CHECK(has_line("120 bonus points spent; the bonus_points programme pays the shop 120 TWD"));
  CHECK(has_line("partner shop bonus: 1 bonus points for 130 TWD paid from the wallet (one per 100 TWD)"));
  CHECK(has_line("co-branded card cashback: 1% of 130 TWD = 1 bonus points"));
  Rating expired = rated(with_bonus(card(RiderCategory::general, 500), 7, month_of(2025, 3)),
                         make_tap(Mode::identify, library, taipei(2025, 4, 1, 9, 0)));
  const std::vector<std::string> expiry = explain_notes(city_rules(), state, expired);
  CHECK(std::find(expiry.begin(), expiry.end(), "7 bonus points expired (valid to the end of 2025-03)") != expiry.end());
}
