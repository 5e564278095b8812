// Internal to rating: bonus points, a balance of their own on each card
// account (card_bonus_points), never mixed with welfare points (card_points).
//
// Earned by payments only: at a partner shop (PaymentRule::
// bonus_spend_per_point_minor) and, with the co-branded credit card, as
// cashback (BonusRule::cashback_bp), both on the part paid from the wallet;
// issued points_budget -> card_bonus_points (bonus_points_earned).
// Spent only at partner shops that take them (PaymentRule::bonus_points_pay):
// card_bonus_points -> points_redeemed (bonus_points_redeemed), and the
// bonus_points programme pays the shop their TWD (budget_bonus_points ->
// operator_payable, subsidy_bonus_points).
// Expiry: one date for the whole balance, the end of the local month
// BonusRule::expiry_months after the latest earning; the first approved tap
// of a later month (event time) expires what is left (card_bonus_points ->
// points_redeemed, bonus_points_expired). Pure: time comes from the tap.
// Not part of the public API.
#pragma once

#include "rating_builder.h"

namespace citycard::rules {

// Expires the balance when the tap's local month is past its expiry month.
// Called for every tap before its mode is rated (rate.cpp), like the
// welfare points' month.
void expire_bonus_points(RatingBuilder& builder) noexcept;

// How many bonus points pay toward `amount_minor` at a shop that takes them:
// whole points of bonus.twd_minor_per_point, at most the balance.
std::int64_t bonus_points_to_spend(const RatingBuilder& builder, const PaymentRule& rule, std::int64_t amount_minor) noexcept;

// Spends `points` at the tap's shop; the bonus_points programme pays it.
void redeem_bonus_points(RatingBuilder& builder, std::int64_t points) noexcept;

// Earns the shop's bonus and the co-branded card's cashback on `wallet_paid_minor`
// and extends the balance's expiry.
void earn_bonus_points(RatingBuilder& builder, const PaymentRule& rule, std::int64_t wallet_paid_minor) noexcept;

}  // namespace citycard::rules
