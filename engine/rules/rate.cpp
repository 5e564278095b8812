// rate(): card checks, the lazy monthly points, then one handler per mode.
#include <algorithm>

#include "bonus_points.h"
#include "rate_modes.h"

namespace citycard::rules {

std::string_view refusal_name(RefusalReason reason) noexcept {
  if (reason == refusal_journey_already_open) return "journey_already_open";
  return refusal_reason_name(reason);
}

namespace {

// The card's own auto top-up amount and daily limit, else the rule set's.
std::int64_t auto_top_up_unit(const CardState& state, const WalletRule& wallet) noexcept {
  return state.auto_top_up_amount_minor > 0 ? state.auto_top_up_amount_minor : wallet.auto_top_up_amount_minor;
}
std::int64_t auto_top_up_daily_max(const CardState& state, const WalletRule& wallet) noexcept {
  return state.auto_top_up_daily_max_minor > 0 ? state.auto_top_up_daily_max_minor : wallet.auto_top_up_daily_max_minor;
}

}  // namespace

void RatingBuilder::auto_top_up(std::int64_t needed_minor) noexcept {
  const WalletRule& wallet = rules.wallet;
  const std::int64_t threshold = state.auto_top_up_threshold_minor >= 0 ? state.auto_top_up_threshold_minor
                                                                        : wallet.auto_top_up_threshold_minor;
  if (!auto_top_up_eligible() || state.wallet_minor - needed_minor >= threshold) return;
  const std::int64_t unit = auto_top_up_unit(state, wallet);
  if (unit <= 0) return;
  // Enough whole units to end at or above the threshold, never above the wallet's maximum.
  const std::int64_t shortfall = threshold + needed_minor - state.wallet_minor;
  std::int64_t units = std::max<std::int64_t>(1, (shortfall + unit - 1) / unit);
  while (units > 0 && state.wallet_minor + units * unit > wallet.wallet_max_minor) --units;
  if (units == 0) return;
  const std::int64_t daily_max = auto_top_up_daily_max(state, wallet);
  if (daily_max > 0) {
    // Counted per business day of the tap's event time. A late tap of a day
    // before the one counted cannot know that day's total any more: no top-up.
    const std::int32_t day = calendar.business_day(tap.event_time);
    if (day < state.wallet_day.business_day) {
      note(NoteCode::auto_top_up_limited, no_index, units * unit, 0, daily_max);
      return;
    }
    const std::int64_t given_today = day == state.wallet_day.business_day ? state.wallet_day.auto_top_up_minor : 0;
    const std::int64_t wanted = units * unit;
    while (units > 0 && given_today + units * unit > daily_max) --units;
    if (units * unit < wanted) note(NoteCode::auto_top_up_limited, no_index, wanted, units * unit, daily_max);
    if (units == 0) return;
    start_wallet_day(day);
    state.wallet_day.auto_top_up_minor += units * unit;
  }
  post(AccountRole::credit_card_clearing, AccountRole::card_wallet, OperatorId{}, Asset::twd, units * unit,
       TransferCode::auto_top_up);
  note(NoteCode::auto_top_up, no_index, units * unit);
}

std::int64_t RatingBuilder::auto_top_up_room() const noexcept {
  if (!auto_top_up_eligible()) return 0;
  const WalletRule& wallet = rules.wallet;
  const std::int64_t unit = auto_top_up_unit(state, wallet);
  if (unit <= 0) return 0;
  std::int64_t units = std::max<std::int64_t>(0, (wallet.wallet_max_minor - state.wallet_minor) / unit);
  if (const std::int64_t daily_max = auto_top_up_daily_max(state, wallet); daily_max > 0) {
    const std::int32_t day = calendar.business_day(tap.event_time);
    if (day < state.wallet_day.business_day) return 0;
    const std::int64_t given_today = day == state.wallet_day.business_day ? state.wallet_day.auto_top_up_minor : 0;
    units = std::min(units, std::max<std::int64_t>(0, (daily_max - given_today) / unit));
  }
  return units * unit;
}

void RatingBuilder::start_wallet_day(std::int32_t day) noexcept {
  if (day <= state.wallet_day.business_day) return;
  state.wallet_day = WalletDay{};
  state.wallet_day.business_day = day;
}

std::int64_t RatingBuilder::points_to_spend(std::int64_t price_minor, std::int64_t points_max) const noexcept {
  const std::int64_t point_value = rules.points.twd_minor_per_point;
  if (state.points <= 0 || point_value <= 0 || price_minor <= 0) return 0;
  std::int64_t points = std::min(state.points, price_minor / point_value);
  if (points_max > 0) points = std::min(points, points_max);
  return points;
}

void RatingBuilder::redeem_points(OperatorId operator_id, std::int64_t points, Programme programme) noexcept {
  if (points <= 0) return;
  const std::int64_t value_minor = points * rules.points.twd_minor_per_point;
  post(AccountRole::card_points, AccountRole::points_redeemed, OperatorId{}, Asset::points, points,
       TransferCode::points_redeemed);
  pay_programme(operator_id, programme, value_minor);
  out.points_spent += points;
  note(NoteCode::points_used, no_index, points, value_minor);
}

bool RatingBuilder::auto_top_up_eligible() const noexcept {
  return state.auto_top_up_enabled && (rules.wallet.auto_top_up_media & media_bit(state.media)) != 0;
}

bool RatingBuilder::fund_wallet(std::int64_t needed_minor, WalletCheck check, std::uint16_t* flags) noexcept {
  *flags = transfer_flag_none;
  if (needed_minor <= 0) return true;
  auto_top_up(needed_minor);
  if (tap.offline && state.wallet_minor - needed_minor < -rules.wallet.offline_debt_max_minor) {
    // The reader admitted the rider on its own word; past this much debt the
    // operator carries the risk it took, not the card.
    return refuse(RefusalReason::offline_limit_exceeded);
  }
  if (tap.offline || check == WalletCheck::service_given) {
    *flags = transfer_flag_service_given;
    if (state.wallet_minor < needed_minor) note(NoteCode::service_given, no_index, needed_minor, state.wallet_minor);
    return true;
  }
  if (state.wallet_minor >= needed_minor) return true;
  return refuse(RefusalReason::insufficient_balance);
}

namespace {

bool check_card(RatingBuilder& builder) noexcept {
  RefusalReason reason = RefusalReason::none;
  switch (builder.state.status) {
    case CardStatus::active: return true;
    case CardStatus::blocked: reason = RefusalReason::card_blocked; break;
    case CardStatus::lost: reason = RefusalReason::card_lost; break;
    case CardStatus::replaced: reason = RefusalReason::card_replaced; break;
  }
  if (builder.tap.offline && builder.tap.mode != Mode::identify) {
    // The reader let the rider on before it knew; the ride is charged.
    builder.note(NoteCode::service_given, no_index, 0, builder.state.wallet_minor);
    return true;
  }
  return builder.refuse(reason);
}

// First approved tap of a new local month: last month's points expire and
// this month's allotment arrives. Late taps of an earlier month change nothing.
void roll_points_month(RatingBuilder& builder) noexcept {
  const std::int32_t month = builder.calendar.local_month(builder.tap.event_time);
  CardState& state = builder.state;
  if (month <= state.points_month) return;
  const std::int64_t allotment = builder.rules.points.allotment(state.category, state.district);
  if (state.points_month != 0 && state.points > 0) {
    builder.note(NoteCode::points_expired, no_index, state.points);
    builder.post(AccountRole::card_points, AccountRole::points_redeemed, OperatorId{}, Asset::points, state.points,
                 TransferCode::points_expired);
  }
  if (allotment > 0) {
    builder.post(AccountRole::points_budget, AccountRole::card_points, OperatorId{}, Asset::points, allotment,
                 TransferCode::points_allotment);
    builder.note(NoteCode::points_allotted, no_index, allotment, month);
  }
  state.points_month = month;
}

bool dispatch(RatingBuilder& builder) noexcept {
  switch (builder.tap.mode) {
    case Mode::bus_board: return rate_bus_board(builder);
    case Mode::bus_alight: return rate_bus_alight(builder);
    case Mode::metro_in: return rate_metro_in(builder);
    case Mode::metro_out: return rate_metro_out(builder);
    case Mode::bike_rent: return rate_bike_rent(builder);
    case Mode::bike_return: return rate_bike_return(builder);
    case Mode::entry: return rate_entry(builder);
    case Mode::pay: return rate_pay(builder);
    case Mode::identify: return rate_identify(builder);
    case Mode::top_up: return rate_top_up(builder);
  }
  return builder.refuse(RefusalReason::no_fare_rule);
}

// Checks on every rating: positive amounts, distinct roles, the card's
// mirrored balances moved by exactly its postings, nothing posted on refusal.
void check_invariants(const Rating& rating, const CardState& input) noexcept {
  for (const Posting& posting : rating.posting_list()) {
    CITYCARD_RULES_CHECK(posting.amount_minor > 0);
    CITYCARD_RULES_CHECK(posting.debit != posting.credit);
    CITYCARD_RULES_CHECK(posting.asset == Asset::twd || posting.asset == Asset::points);
  }
  CITYCARD_RULES_CHECK(rating.state.wallet_minor == input.wallet_minor + net_for_role(rating, AccountRole::card_wallet, Asset::twd));
  CITYCARD_RULES_CHECK(rating.state.points == input.points + net_for_role(rating, AccountRole::card_points, Asset::points));
  CITYCARD_RULES_CHECK(rating.state.bonus_points ==
                       input.bonus_points + net_for_role(rating, AccountRole::card_bonus_points, Asset::points));
  CITYCARD_RULES_CHECK(rating.state.bonus_points >= 0);
  CITYCARD_RULES_CHECK(rating.approved() || rating.posting_count == 0);
}

}  // namespace

Rating rate(const RuleSet& rule_set, const CardState& input, const Tap& tap, const AccessBook* access) noexcept {
  Rating rating;
  rating.rule_set_version = rule_set.version;
  rating.state = input;
  RatingBuilder builder(rule_set, input, tap, rating);
  // Without lists anywhere, identity taps never look (a door without a list costs nothing more).
  if (access != nullptr && !access->applies_nowhere()) builder.access = access;
  if (builder.rules.find_operator(tap.operator_id) == nullptr) {
    builder.refuse(RefusalReason::reader_not_allowed);
  } else if (check_card(builder)) {
    roll_points_month(builder);
    expire_bonus_points(builder);
    dispatch(builder);
  }
  if (!rating.approved()) {
    rating.posting_count = 0;
    rating.state = input;
    rating.fare_minor = 0;
    rating.points_spent = 0;
    rating.bonus_points_spent = 0;
  } else if (tap.offline && (rating.state.wallet_minor < 0 || input.status != CardStatus::active)) {
    rating.deny_list = true;
  }
  rating.balance_after_minor = rating.state.wallet_minor;
  rating.points_after = rating.state.points;
  check_invariants(rating, input);
  return rating;
}

std::int64_t net_for_role(const Rating& rating, AccountRole role, Asset asset, OperatorId operator_id) noexcept {
  const bool per_operator = role == AccountRole::operator_payable && operator_id.value != 0;
  std::int64_t net = 0;
  for (const Posting& posting : rating.posting_list()) {
    if (posting.asset != asset) continue;
    if (posting.credit == role && (!per_operator || posting.operator_id == operator_id)) net += posting.amount_minor;
    if (posting.debit == role && (!per_operator || posting.operator_id == operator_id)) net -= posting.amount_minor;
  }
  return net;
}

ProgrammeAmounts programme_net(const Rating& rating) noexcept {
  ProgrammeAmounts net{};
  for (Programme programme : all_programmes())
    net[programme_index(programme)] = -net_for_role(rating, programme_budget_role(programme), Asset::twd);
  return net;
}

std::int64_t city_net(const Rating& rating) noexcept {
  std::int64_t sum = 0;
  for (std::int64_t amount : programme_net(rating)) sum += amount;
  return sum;
}

}  // namespace citycard::rules
