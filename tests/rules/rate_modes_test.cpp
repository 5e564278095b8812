// One mode at a time: what each kind of tap posts, and when it is refused.
#include "rules_test_support.h"

using namespace citycard;
using namespace citycard::rules;
using namespace citycard::rules::testing;

namespace {

const Rating rate_one(const CardState& state, const Tap& tap) {
  Rating rating = rate(city_rules(), state, tap);
  check_balanced(state, rating);
  return rating;
}

bool has_posting(const Rating& rating, AccountRole debit, AccountRole credit, std::int64_t amount, TransferCode code) {
  for (const Posting& posting : rating.posting_list())
    if (posting.debit == debit && posting.credit == credit && posting.amount_minor == amount && posting.code == code)
      return true;
  return false;
}

constexpr auto wallet = AccountRole::card_wallet;
constexpr auto payable = AccountRole::operator_payable;

}  // namespace

TEST_CASE("two-segment bus: buy one, get one — the city pays the second unit") {
  const EventTime tuesday = taipei(2025, 3, 4, 8, 0);
  for (auto [category, unit] : {std::pair{RiderCategory::general, 15}, std::pair{RiderCategory::student, 12}}) {
    INFO(rider_category_name(category));
    CardState state = card(category, 100);
    Rating board = rate_one(state, make_tap(Mode::bus_board, 104, tuesday, 2001, 9));
    REQUIRE(board.approved());
    CHECK(board.fare_minor == unit);
    CHECK(city_net(board) == 15 - unit);
    CHECK(programme_net(board)[programme_index(Programme::category_fare)] == 15 - unit);
    Rating alight = rate_one(board.state, make_tap(Mode::bus_alight, 104, taipei(2025, 3, 4, 8, 40), 2013, 9));
    REQUIRE(alight.approved());
    CHECK(alight.fare_minor == 0);                                   // the rider pays one unit only
    // The city pays the second unit from the buy-one-get-one budget; a student's
    // second unit below the general fare is the student subsidy's.
    CHECK(has_posting(alight, AccountRole::budget_buy_one_get_one, payable, unit, TransferCode::subsidy_buy_one_get_one));
    CHECK(city_net(alight) == 15);  // the operator gets 30 in all
    CHECK(programme_net(alight)[programme_index(Programme::category_fare)] == 15 - unit);
    CHECK(net_for_role(board, payable, Asset::twd) + net_for_role(alight, payable, Asset::twd) == 30);
    CHECK_FALSE(alight.state.bus.open);
  }
}

TEST_CASE("two-segment bus: weekend promotion rule has priority, a missing alight keeps one unit") {
  CardState state = card(RiderCategory::general, 100);
  // Saturday: the weekend leg rule (priority 1) prices a crossing as one segment.
  Rating board = rate_one(state, make_tap(Mode::bus_board, 104, taipei(2025, 3, 8, 8, 0), 2001, 9));
  Rating alight = rate_one(board.state, make_tap(Mode::bus_alight, 104, taipei(2025, 3, 8, 8, 30), 2013, 9));
  CHECK(alight.posting_count == 0);
  CHECK(net_for_role(board, payable, Asset::twd) == 15);
  // A second boarding without alighting: the first ride stays at one unit.
  Rating first = rate_one(state, make_tap(Mode::bus_board, 104, taipei(2025, 3, 4, 8, 0), 2001, 9));
  Rating second = rate_one(first.state, make_tap(Mode::bus_board, 104, taipei(2025, 3, 4, 12, 0), 2011, 9));
  CHECK(second.fare_minor == 15);
  CHECK(second.state.bus.location == 2011);
  // Alighting with no ride open.
  Rating orphan = rate_one(state, make_tap(Mode::bus_alight, 104, taipei(2025, 3, 4, 8, 0), 2013, 9));
  CHECK(orphan.refusal == RefusalReason::no_open_journey);
}

TEST_CASE("metro: citizen discount rounding and the concession discount") {
  // 20% off, rounded half up: S01->S03 25 -> 20, S01->S02 20 -> 16; 60% off for seniors: 25 -> 10.
  struct Row { RiderCategory category; std::uint32_t exit; std::int64_t fare; };
  for (const Row& row : {Row{RiderCategory::general, 1003, 20}, Row{RiderCategory::general, 1002, 16},
                         Row{RiderCategory::senior, 1003, 10}, Row{RiderCategory::senior, 1008, 26},
                         Row{RiderCategory::employee, 1008, 52}}) {
    CardState state = card(row.category, 500);
    Rating in = rate_one(state, make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 9, 0), 1001));
    Rating out = rate_one(in.state, make_tap(Mode::metro_out, 201, taipei(2025, 3, 4, 9, 30), row.exit));
    INFO(rider_category_name(row.category) << " to " << row.exit);
    CHECK(in.fare_minor + out.fare_minor == row.fare);
    CHECK(out.balance_after_minor == 500 - row.fare);
  }
}

TEST_CASE("metro: minimum balance, auto top-up from the co-branded credit card") {
  CardState poor = card(RiderCategory::general, 19);
  CHECK(rate_one(poor, make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 9, 0), 1001)).refusal ==
        RefusalReason::below_minimum_balance);

  CardState co_branded = card(RiderCategory::general, 50);
  co_branded.media = Media::co_branded_credit;
  co_branded.auto_top_up_enabled = true;
  Rating in = rate_one(co_branded, make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 9, 0), 1001));
  REQUIRE(in.approved());
  // 50 - 52 would leave less than the 100 threshold: one 500 unit first.
  CHECK(has_posting(in, AccountRole::credit_card_clearing, wallet, 500, TransferCode::auto_top_up));
  CHECK(in.balance_after_minor == 50 + 500 - 52);

  // The same card without opting in gets no top-up.
  co_branded.auto_top_up_enabled = false;
  Rating plain = rate_one(co_branded, make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 9, 0), 1001));
  CHECK(net_for_role(plain, AccountRole::credit_card_clearing, Asset::twd) == 0);
}

TEST_CASE("public bike: free first half hour, then 10 per half hour") {
  CardState state = card(RiderCategory::general, 100);
  Rating rent = rate_one(state, make_tap(Mode::bike_rent, 301, taipei(2025, 3, 4, 8, 0), 77));
  REQUIRE(rent.approved());
  CHECK(rent.posting_count == 0);
  CHECK(rate_one(rent.state, make_tap(Mode::bike_rent, 301, taipei(2025, 3, 4, 8, 5), 77)).refusal ==
        refusal_journey_already_open);
  CHECK(rate_one(rent.state, make_tap(Mode::bike_return, 301, taipei(2025, 3, 4, 8, 25), 78)).posting_count == 0);
  Rating late = rate_one(rent.state, make_tap(Mode::bike_return, 301, taipei(2025, 3, 4, 9, 10), 78));
  CHECK(late.fare_minor == 20);  // 70 min: 40 chargeable = 2 periods
  CHECK_FALSE(late.state.bike.open);
  CHECK(rate_one(state, make_tap(Mode::bike_return, 301, taipei(2025, 3, 4, 9, 10), 78)).refusal ==
        RefusalReason::no_open_journey);
  CHECK(rate_one(card(RiderCategory::general, 0), make_tap(Mode::bike_rent, 301, taipei(2025, 3, 4, 8, 0), 77)).refusal ==
        RefusalReason::below_minimum_balance);
}

TEST_CASE("sports centre: operator-funded citizen discount rounded down, every 8th visit earns 30 points") {
  // The shipped rules give no visit rewards (they would land in the welfare
  // points, docs/rules.md "Bonus points"); a rule set that does:
  RuleSet rewarding = city_rules();
  for (Venue& venue : rewarding.venues) {
    CHECK(venue.reward_every_visits == 0);
    if (venue.kind != ServiceKind::sports_centre) continue;
    venue.reward_every_visits = 8;
    venue.reward_points = 30;
  }
  CardState state = card(RiderCategory::general, 1000);
  for (int visit = 1; visit <= 8; ++visit) {
    Rating entry = rate(rewarding, state, make_tap(Mode::entry, 701, taipei(2025, 3, visit, 18, 0)));
    REQUIRE(entry.approved());
    CHECK(entry.fare_minor == 80);
    CHECK(city_net(entry) == 0);  // the centre bears its own discount: no programme pays
    CHECK(net_for_role(entry, payable, Asset::twd, OperatorId{701}) == 80);
    CHECK(entry.points_after == (visit == 8 ? 30 : 0));
    state = entry.state;
  }
  // A new month starts the count again.
  Rating april = rate(rewarding, state, make_tap(Mode::entry, 702, taipei(2025, 4, 1, 18, 0)));
  CHECK(april.state.visits[static_cast<std::size_t>(VisitKind::sports_centre)] == 1);
}

TEST_CASE("identity taps: recorded, no money, refused for blocked cards even offline") {
  CardState state = card(RiderCategory::employee, 10);
  Rating door = rate_one(state, make_tap(Mode::identify, 511, taipei(2025, 3, 4, 9, 0), 3));
  CHECK(door.approved());
  CHECK(door.posting_count == 0);
  state.status = CardStatus::blocked;
  CHECK(rate_one(state, make_tap(Mode::identify, 501, taipei(2025, 3, 4, 9, 0))).refusal == RefusalReason::card_blocked);
  CHECK(rate_one(state, make_tap(Mode::identify, 501, taipei(2025, 3, 4, 9, 0), 0, 0, 0, true)).refusal ==
        RefusalReason::card_blocked);
  state.status = CardStatus::lost;
  CHECK(rate_one(state, make_tap(Mode::identify, 501, taipei(2025, 3, 4, 9, 0))).refusal == RefusalReason::card_lost);
}

TEST_CASE("payments: device amount, single payment limit, partner-shop bonus points") {
  CardState state = card(RiderCategory::general, 5000);
  Rating shop = rate_one(state, make_tap(Mode::pay, 901, taipei(2025, 3, 4, 12, 0), 0, 0, 250));
  CHECK(has_posting(shop, wallet, payable, 250, TransferCode::payment));
  // Partner shops give bonus points (one per 100 TWD), a balance of their own, never welfare points.
  CHECK(shop.points_after == 0);
  CHECK(shop.state.bonus_points == 2);
  CHECK(has_posting(shop, AccountRole::points_budget, AccountRole::card_bonus_points, 2, TransferCode::bonus_points_earned));
  Rating parking = rate_one(state, make_tap(Mode::pay, 801, taipei(2025, 3, 4, 12, 0), 0, 0, 250));
  CHECK(parking.points_after == 0);
  CHECK(parking.state.bonus_points == 0);
  CHECK(rate_one(state, make_tap(Mode::pay, 901, taipei(2025, 3, 4, 12, 0), 0, 0, 3001)).refusal ==
        RefusalReason::amount_over_limit);
  CHECK(rate_one(state, make_tap(Mode::pay, 901, taipei(2025, 3, 4, 12, 0), 0, 0, 0)).refusal ==
        RefusalReason::amount_invalid);
  CHECK(rate_one(card(RiderCategory::general, 100), make_tap(Mode::pay, 851, taipei(2025, 3, 4, 12, 0), 0, 0, 101))
            .refusal == RefusalReason::insufficient_balance);
}

TEST_CASE("cash top-up up to the wallet maximum") {
  CardState state = card(RiderCategory::general, 9000);
  Rating top_up = rate_one(state, make_tap(Mode::top_up, 901, taipei(2025, 3, 4, 12, 0), 0, 0, 1000));
  CHECK(has_posting(top_up, AccountRole::topup_float, wallet, 1000, TransferCode::top_up));
  CHECK(top_up.fare_minor == 0);
  CHECK(rate_one(state, make_tap(Mode::top_up, 901, taipei(2025, 3, 4, 12, 0), 0, 0, 1001)).refusal ==
        RefusalReason::amount_over_limit);
  CHECK(rate_one(state, make_tap(Mode::top_up, 901, taipei(2025, 3, 4, 12, 0), 0, 0, -5)).refusal ==
        RefusalReason::amount_invalid);
}

TEST_CASE("card status, unknown readers and category limits") {
  CardState blocked = card(RiderCategory::general, 100);
  blocked.status = CardStatus::blocked;
  CHECK(rate_one(blocked, make_tap(Mode::bus_board, 101, taipei(2025, 3, 4, 8, 0), 1, 1)).refusal ==
        RefusalReason::card_blocked);
  // Offline, the ride was given: charged, and the card goes (back) on the deny list.
  Rating offline = rate_one(blocked, make_tap(Mode::bus_board, 101, taipei(2025, 3, 4, 8, 0), 1, 1, 0, true));
  CHECK(offline.approved());
  CHECK(offline.fare_minor == 15);
  CHECK(offline.deny_list);

  CardState general = card(RiderCategory::general, 100);
  CHECK(rate_one(general, make_tap(Mode::bus_board, 999, taipei(2025, 3, 4, 8, 0), 1, 1)).refusal ==
        RefusalReason::reader_not_allowed);
  CHECK(rate_one(general, make_tap(Mode::entry, 401, taipei(2025, 3, 4, 8, 0), 0, 0, 100)).refusal ==
        RefusalReason::not_allowed_for_category);
  CHECK(rate_one(general, make_tap(Mode::bus_board, 501, taipei(2025, 3, 4, 8, 0), 1, 1)).refusal ==
        RefusalReason::no_fare_rule);
  CHECK(rate_one(general, make_tap(Mode::metro_in, 201, taipei(2025, 3, 4, 8, 0), 4242)).refusal ==
        RefusalReason::no_fare_rule);
}

TEST_CASE("points: reward points expire at the month end, and late taps never move the month back") {
  CardState general = card(RiderCategory::general, 100, 5);
  general.points_month = 2025 * 12 + 1;
  Rating march = rate_one(general, make_tap(Mode::bus_board, 101, taipei(2025, 3, 1, 0, 5), 1, 1));
  CHECK(has_posting(march, AccountRole::card_points, AccountRole::points_redeemed, 5, TransferCode::points_expired));
  CHECK(march.points_after == 0);
  // 23:55 on 28 February arrives late: February is over, nothing is allotted or expired again.
  CardState senior = card(RiderCategory::senior, 100, 480);
  senior.points_month = 2025 * 12 + 2;
  Rating late = rate_one(senior, make_tap(Mode::bus_board, 101, taipei(2025, 2, 28, 23, 55), 1, 1, 0, true));
  // Only the ride's fare moves points (8, paid in points on a city bus).
  CHECK(late.points_spent == 8);
  CHECK(net_for_role(late, AccountRole::card_points, Asset::points) == -8);
  CHECK(late.state.points_month == 2025 * 12 + 2);
}
