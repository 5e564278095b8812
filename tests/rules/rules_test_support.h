// Helpers for the rules tests: the city rule set, taps at local times, and
// day totals.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "calendar.h"
#include "rating.h"
#include "rule_set_loader.h"

namespace citycard::rules::testing {

inline const RuleSet& city_rules() {
  static const RuleSet rules = [] {
    RuleSetLoad load = load_rule_set_file(CITYCARD_CITY_RULES);
    if (!load.ok()) FAIL(problems_text(load.problems));
    return *load.rule_set;
  }();
  return rules;
}

// A local (+08:00) time.
inline EventTime taipei(int year, int month, int day, int hour, int minute) {
  const std::int64_t seconds = days_from_civil(year, month, day) * 86'400 + hour * 3600 + minute * 60 - 8 * 3600;
  return EventTime::from_unix_seconds(seconds);
}

inline Tap make_tap(Mode mode, std::uint32_t operator_id, EventTime time, std::uint32_t location = 0,
                    std::uint32_t route = 0, std::int64_t amount_minor = 0, bool offline = false) {
  static std::uint64_t sequence = 0;
  Tap tap;
  tap.id = TapId{ReaderId{7}, ++sequence};
  tap.mode = mode;
  tap.operator_id = OperatorId{operator_id};
  tap.event_time = time;
  tap.location = location;
  tap.route = route;
  tap.amount_minor = amount_minor;
  tap.offline = offline;
  return tap;
}

inline CardState card(RiderCategory category, std::int64_t wallet_minor, std::int64_t points = 0) {
  CardState state;
  state.category = category;
  state.wallet_minor = wallet_minor;
  state.points = points;
  return state;
}

// Sums over ratings: what the rider paid (wallet, net of refunds and without
// top-ups), what the city paid operators, points, per-operator receipts.
struct Totals {
  std::int64_t rider_minor = 0;
  std::int64_t city_minor = 0;
  std::int64_t points_spent = 0;
  std::int64_t points_earned = 0;
  std::map<std::uint32_t, std::int64_t> operator_minor;

  void add(const Rating& rating) {
    for (const Posting& posting : rating.posting_list()) {
      if (posting.asset == Asset::twd) {
        const bool to_operator = posting.credit == AccountRole::operator_payable;
        const bool from_operator = posting.debit == AccountRole::operator_payable;
        if (to_operator) operator_minor[posting.operator_id.value] += posting.amount_minor;
        if (from_operator) operator_minor[posting.operator_id.value] -= posting.amount_minor;
        if (posting.debit == AccountRole::card_wallet && to_operator) rider_minor += posting.amount_minor;
        if (from_operator && posting.credit == AccountRole::card_wallet) rider_minor -= posting.amount_minor;
        if (is_city_budget_role(posting.debit)) city_minor += posting.amount_minor;
        if (is_city_budget_role(posting.credit)) city_minor -= posting.amount_minor;
      } else {
        if (posting.code == TransferCode::points_redeemed) points_spent += posting.amount_minor;
        if (posting.code == TransferCode::points_reward) points_earned += posting.amount_minor;
      }
    }
  }
  bool operator==(const Totals&) const = default;
};

// The asset an account role holds. A posting keeps every asset's sum at zero
// only if both its roles hold the posting's asset and the amount is positive.
inline Asset asset_of(AccountRole role) {
  switch (role) {
    case AccountRole::card_points:
    case AccountRole::card_bonus_points:
    case AccountRole::points_budget:
    case AccountRole::points_redeemed: return Asset::points;
    default: return Asset::twd;
  }
}

// Checks every posting of a rating and the card's mirrored balances.
inline void check_balanced(const CardState& before, const Rating& rating) {
  std::map<Asset, std::int64_t> sums;
  for (const Posting& posting : rating.posting_list()) {
    REQUIRE(posting.amount_minor > 0);
    REQUIRE(posting.debit != posting.credit);
    REQUIRE(asset_of(posting.debit) == posting.asset);
    REQUIRE(asset_of(posting.credit) == posting.asset);
    if (posting.debit == AccountRole::operator_payable || posting.credit == AccountRole::operator_payable)
      REQUIRE(posting.operator_id.value != 0);
  }
  REQUIRE(rating.state.wallet_minor - before.wallet_minor == net_for_role(rating, AccountRole::card_wallet, Asset::twd));
  REQUIRE(rating.state.points - before.points == net_for_role(rating, AccountRole::card_points, Asset::points));
  REQUIRE(rating.state.bonus_points - before.bonus_points ==
          net_for_role(rating, AccountRole::card_bonus_points, Asset::points));
  if (!rating.approved()) {
    REQUIRE(rating.posting_count == 0);
    REQUIRE(rating.state == before);
  }
}

// Rates taps in order from `start`, checking each rating; returns the ratings.
inline std::vector<Rating> ride(const RuleSet& rules, CardState start, const std::vector<Tap>& taps) {
  std::vector<Rating> ratings;
  CardState state = start;
  for (const Tap& tap : taps) {
    Rating rating = rate(rules, state, tap);
    check_balanced(state, rating);
    state = rating.state;
    ratings.push_back(rating);
  }
  return ratings;
}

}  // namespace citycard::rules::testing
