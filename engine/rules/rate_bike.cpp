// Public bike: rent opens a rental (no money, a minimum balance needed);
// return charges whole periods after the free first minutes, at a second
// price after the tier (bike_fare_minor), capped by the rental maximum;
// categories the rule names pay with points first. The ride was given, so a
// return is charged even into debt.
#include <algorithm>

#include "rate_modes.h"

namespace citycard::rules {

bool rate_bike_rent(RatingBuilder& builder) noexcept {
  const Tap& tap = builder.tap;
  const BikeRule* rule = builder.rules.find_bike(tap.operator_id);
  if (rule == nullptr) return builder.refuse(RefusalReason::no_fare_rule);
  CardState& state = builder.state;
  if (state.bike.open && !tap.offline) return builder.refuse(refusal_journey_already_open);
  if (state.wallet_minor < rule->min_balance_to_rent_minor) builder.auto_top_up(rule->min_balance_to_rent_minor);
  if (state.wallet_minor < rule->min_balance_to_rent_minor && !tap.offline) {
    builder.note(NoteCode::minimum_balance, no_index, rule->min_balance_to_rent_minor, state.wallet_minor);
    return builder.refuse(RefusalReason::below_minimum_balance);
  }
  // Offline, a rental still open lost its return; the new one replaces it.
  state.bike = OpenRental{true, tap.operator_id, tap.location, tap.event_time.unix_us};
  return true;
}

bool rate_bike_return(RatingBuilder& builder) noexcept {
  const Tap& tap = builder.tap;
  CardState& state = builder.state;
  if (!state.bike.open || state.bike.start_us > tap.event_time.unix_us)
    return builder.refuse(RefusalReason::no_open_journey);
  const BikeRule* rule = builder.rules.find_bike(state.bike.operator_id);
  if (rule == nullptr) return builder.refuse(RefusalReason::no_fare_rule);
  const std::int64_t minutes = (tap.event_time.unix_us - state.bike.start_us) / us_per_minute;
  const std::int64_t chargeable = std::max<std::int64_t>(0, minutes - rule->free_minutes);
  const std::int64_t periods = (chargeable + rule->period_minutes - 1) / rule->period_minutes;
  const std::int64_t fare = bike_fare_minor(*rule, minutes);
  builder.note(NoteCode::bike_fare, no_index, minutes, periods, fare);
  // Points first for the categories that may (YouBike 2.0E for welfare cards), the rest from the wallet.
  const std::int64_t points =
      (rule->points_categories & category_bit(state.category)) != 0 ? builder.points_to_spend(fare, 0) : 0;
  const std::int64_t wallet_part = fare - points * builder.rules.points.twd_minor_per_point;
  std::uint16_t flags = transfer_flag_none;
  builder.fund_wallet(wallet_part, WalletCheck::service_given, &flags);
  builder.redeem_points(state.bike.operator_id, points, Programme::welfare_points);
  builder.charge_wallet(state.bike.operator_id, wallet_part, TransferCode::fare, flags);
  if (points > 0 && wallet_part > 0) builder.note(NoteCode::wallet_part, no_index, wallet_part);
  state.bike = OpenRental{};
  return true;
}

}  // namespace citycard::rules
