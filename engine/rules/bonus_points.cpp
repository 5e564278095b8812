// Bonus points: earning, spending and expiry (bonus_points.h).
#include "bonus_points.h"

#include <algorithm>

namespace citycard::rules {

void expire_bonus_points(RatingBuilder& builder) noexcept {
  CardState& state = builder.state;
  if (state.bonus_expiry_month == 0) return;
  const std::int32_t month = builder.calendar.local_month(builder.tap.event_time);
  // A late tap of a month still valid changes nothing.
  if (month <= state.bonus_expiry_month) return;
  if (state.bonus_points > 0) {
    builder.note(NoteCode::bonus_points_expired, no_index, state.bonus_points, state.bonus_expiry_month);
    builder.post(AccountRole::card_bonus_points, AccountRole::points_redeemed, OperatorId{}, Asset::points,
                 state.bonus_points, TransferCode::bonus_points_expired);
  }
  state.bonus_expiry_month = 0;
}

std::int64_t bonus_points_to_spend(const RatingBuilder& builder, const PaymentRule& rule, std::int64_t amount_minor) noexcept {
  const CardState& state = builder.state;
  const std::int64_t point_value = builder.rules.bonus.twd_minor_per_point;
  if (!rule.bonus_points_pay || !state.bonus_account || state.bonus_points <= 0 || point_value <= 0 || amount_minor <= 0)
    return 0;
  return std::min(state.bonus_points, amount_minor / point_value);
}

void redeem_bonus_points(RatingBuilder& builder, std::int64_t points) noexcept {
  if (points <= 0) return;
  const std::int64_t value_minor = points * builder.rules.bonus.twd_minor_per_point;
  builder.post(AccountRole::card_bonus_points, AccountRole::points_redeemed, OperatorId{}, Asset::points, points,
               TransferCode::bonus_points_redeemed);
  builder.pay_programme(builder.tap.operator_id, Programme::bonus_points, value_minor);
  builder.out.bonus_points_spent += points;
  builder.note(NoteCode::bonus_points_used, no_index, points, value_minor);
}

void earn_bonus_points(RatingBuilder& builder, const PaymentRule& rule, std::int64_t wallet_paid_minor) noexcept {
  CardState& state = builder.state;
  if (!state.bonus_account || wallet_paid_minor <= 0) return;
  const Index rule_index = static_cast<Index>(&rule - builder.rules.payments.data());
  const std::int64_t shop_points =
      rule.bonus_spend_per_point_minor > 0 ? wallet_paid_minor / rule.bonus_spend_per_point_minor : 0;
  const BonusRule& bonus = builder.rules.bonus;
  const std::int64_t cashback_points =
      state.media == Media::co_branded_credit && bonus.cashback_bp > 0 ? wallet_paid_minor * bonus.cashback_bp / 10'000 : 0;
  if (shop_points > 0) builder.note(NoteCode::bonus_points, rule_index, shop_points, wallet_paid_minor);
  if (cashback_points > 0) builder.note(NoteCode::bonus_cashback, no_index, cashback_points, wallet_paid_minor, bonus.cashback_bp);
  const std::int64_t earned = shop_points + cashback_points;
  if (earned == 0) return;
  builder.post(AccountRole::points_budget, AccountRole::card_bonus_points, OperatorId{}, Asset::points, earned,
               TransferCode::bonus_points_earned);
  if (bonus.expiry_months > 0) {
    // The whole balance is valid to the end of the expiry_months-th month
    // after this earning's; a late earning never shortens it.
    const std::int32_t month = builder.calendar.local_month(builder.tap.event_time);
    state.bonus_expiry_month = std::max(state.bonus_expiry_month, month + bonus.expiry_months);
  }
}

}  // namespace citycard::rules
