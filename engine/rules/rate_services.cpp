// Venues (taxi, pool, sports centre, railway), device-amount payments
// (with bonus points at partner shops), identity taps and cash top-ups.
//
// Venues: the price is a product (category price, citizen discount) or the
// device's amount (taxi meter, railway fare). Points are spent first where
// accepted, one point worth points.twd_minor_per_point, up to the venue's
// per-use limit (a railway's per-trip subsidy); the rest comes from the
// wallet. The city pays the operator for the points (welfare_points; at a
// railway, railway_subsidy) and for the rider's price below the general one
// (category_fare, citizen_discount: programme_split.h). Every Nth visit
// of a kind in a local month earns reward points.
#include <algorithm>

#include "bonus_points.h"
#include "pricing.h"
#include "rate_modes.h"

namespace citycard::rules {
namespace {

bool visit_kind_of(ServiceKind kind, VisitKind* visit) noexcept {
  switch (kind) {
    case ServiceKind::taxi: *visit = VisitKind::taxi; return true;
    case ServiceKind::pool: *visit = VisitKind::pool; return true;
    case ServiceKind::sports_centre: *visit = VisitKind::sports_centre; return true;
    default: return false;
  }
}

void count_visit(RatingBuilder& builder, const Venue& venue) noexcept {
  VisitKind kind;
  if (!visit_kind_of(venue.kind, &kind)) return;
  CardState& state = builder.state;
  const std::int32_t month = builder.calendar.local_month(builder.tap.event_time);
  if (month > state.visits_month) {
    state.visits_month = month;
    state.visits = {};
  } else if (month < state.visits_month) {
    return;  // a late visit from a month already closed: rewards there are settled
  }
  auto& visits = state.visits[static_cast<std::size_t>(kind)];
  if (visits < UINT16_MAX) ++visits;
  if (venue.reward_every_visits > 0 && venue.reward_points > 0 && visits % venue.reward_every_visits == 0) {
    builder.post(AccountRole::points_budget, AccountRole::card_points, OperatorId{}, Asset::points, venue.reward_points,
                 TransferCode::points_reward);
    builder.note(NoteCode::visit_reward, no_index, venue.reward_points, visits);
  }
}

}  // namespace

bool rate_entry(RatingBuilder& builder) noexcept {
  const Tap& tap = builder.tap;
  const Venue* venue = builder.rules.find_venue(tap.operator_id);
  if (venue == nullptr) return builder.refuse(RefusalReason::no_fare_rule);
  CardState& state = builder.state;
  if (!(venue->categories & category_bit(state.category))) return builder.refuse(RefusalReason::not_allowed_for_category);
  const Index venue_index = static_cast<Index>(venue - builder.rules.venues.data());

  Quote quote;
  if (venue->product != no_index) {
    quote = quote_product(builder, venue->product, no_index, venue_index);
    if (!quote.found) return builder.refuse(RefusalReason::no_fare_rule);
  } else {
    if (tap.amount_minor <= 0) return builder.refuse(RefusalReason::amount_invalid);
    if (venue->amount_max_minor > 0 && tap.amount_minor > venue->amount_max_minor)
      return builder.refuse(RefusalReason::amount_over_limit);
    quote = Quote{true, tap.amount_minor, tap.amount_minor, tap.amount_minor};
  }
  builder.note(NoteCode::venue_price, venue_index, quote.rider_minor);

  const std::int64_t points =
      venue->points_accepted ? builder.points_to_spend(quote.rider_minor, venue->points_max_per_use) : 0;
  const std::int64_t wallet_part = quote.rider_minor - points * builder.rules.points.twd_minor_per_point;
  std::uint16_t flags = transfer_flag_none;
  if (!builder.fund_wallet(wallet_part, WalletCheck::must_cover, &flags)) return false;

  // A railway's per-trip subsidy is its own programme; every other venue's points are welfare points.
  const Programme points_programme = venue->kind == ServiceKind::railway ? Programme::railway_subsidy : Programme::welfare_points;
  builder.redeem_points(tap.operator_id, points, points_programme);
  if (wallet_part > 0) {
    builder.charge_wallet(tap.operator_id, wallet_part, TransferCode::fare, flags);
    if (points > 0) builder.note(NoteCode::wallet_part, no_index, wallet_part);
  }
  const std::int64_t discount_subsidy = std::max<std::int64_t>(0, quote.operator_minor - quote.rider_minor);
  if (discount_subsidy > 0) {
    const ProgrammeAmounts parts = split_city_share(quote.steps(quote.rider_minor, quote.rider_minor), quote.rider_minor);
    CITYCARD_RULES_CHECK(sum_of(parts) == discount_subsidy);
    for (Programme programme : all_programmes())
      builder.pay_programme(tap.operator_id, programme, parts[programme_index(programme)]);
    builder.note(NoteCode::subsidy, no_index, discount_subsidy);
  }
  count_visit(builder, *venue);
  return true;
}

// The category's daily payment limit (wallet.payment_daily_max_minor):
// counts the wallet's part of a payment into the wallet's day, or refuses
// the payment when the day's would go over (bonus points are no e-wallet
// money: they do not count). Offline too: the reader took the payment on its
// own word, and past the limit the operator carries it, as past the offline
// debt. A late tap of a day before the one counted is not counted (that
// day's total is gone); the close's repricing replays the day in order.
static bool count_daily_payment(RatingBuilder& builder, std::int64_t wallet_part_minor) noexcept {
  CardState& state = builder.state;
  const std::int64_t limit = builder.rules.wallet.payment_daily_max_minor[static_cast<std::size_t>(state.category)];
  if (limit <= 0 || wallet_part_minor <= 0) return true;
  const std::int32_t day = builder.calendar.business_day(builder.tap.event_time);
  if (day < state.wallet_day.business_day) return true;
  const std::int64_t paid_today = day == state.wallet_day.business_day ? state.wallet_day.paid_minor : 0;
  if (paid_today + wallet_part_minor > limit) {
    builder.note(NoteCode::payment_limit, no_index, wallet_part_minor, paid_today, limit);
    return builder.refuse(RefusalReason::payment_daily_limit);
  }
  builder.start_wallet_day(day);
  state.wallet_day.paid_minor += wallet_part_minor;
  return true;
}

// A payment: at a partner shop that takes them, bonus points pay first and
// the wallet the rest (bonus_points.h); the wallet's part earns the shop's
// bonus points and the co-branded card's cashback. Welfare points never pay.
bool rate_pay(RatingBuilder& builder) noexcept {
  const Tap& tap = builder.tap;
  const PaymentRule* rule = builder.rules.find_payment(tap.operator_id);
  if (rule == nullptr) return builder.refuse(RefusalReason::no_fare_rule);
  if (tap.amount_minor <= 0) return builder.refuse(RefusalReason::amount_invalid);
  if (tap.amount_minor > rule->payment_max_minor) return builder.refuse(RefusalReason::amount_over_limit);
  const std::int64_t bonus = bonus_points_to_spend(builder, *rule, tap.amount_minor);
  const std::int64_t wallet_part = tap.amount_minor - bonus * builder.rules.bonus.twd_minor_per_point;
  if (!count_daily_payment(builder, wallet_part)) return false;
  std::uint16_t flags = transfer_flag_none;
  if (!builder.fund_wallet(wallet_part, WalletCheck::must_cover, &flags)) return false;
  builder.note(NoteCode::payment, static_cast<Index>(rule - builder.rules.payments.data()), tap.amount_minor);
  redeem_bonus_points(builder, bonus);
  if (wallet_part > 0) {
    builder.charge_wallet(tap.operator_id, wallet_part, TransferCode::payment, flags);
    if (bonus > 0) builder.note(NoteCode::wallet_part, no_index, wallet_part);
  }
  earn_bonus_points(builder, *rule, wallet_part);
  return true;
}

bool rate_identify(RatingBuilder& builder) noexcept {
  // Card status was checked before (identity taps are refused for blocked
  // cards even offline); nothing moves, the engine records the tap. At a
  // door or meeting room with access lists, the lists decide too (also
  // offline: the record says the card was not admitted).
  if (builder.access != nullptr) {
    const OperatorRule* rule = builder.rules.find_operator(builder.tap.operator_id);
    if (rule != nullptr && (rule->kind == ServiceKind::door || rule->kind == ServiceKind::meeting)) {
      const AccessPlace place = rule->kind == ServiceKind::door ? AccessPlace::door : AccessPlace::meeting;
      const RefusalReason reason =
          access_refusal(*builder.access, place, builder.tap, builder.state.category, builder.calendar);
      if (reason != RefusalReason::none) return builder.refuse(reason);
    }
  }
  builder.note(NoteCode::identity);
  return true;
}

bool rate_top_up(RatingBuilder& builder) noexcept {
  const Tap& tap = builder.tap;
  const WalletRule& wallet = builder.rules.wallet;
  if (tap.amount_minor <= 0) return builder.refuse(RefusalReason::amount_invalid);
  if (tap.amount_minor > wallet.top_up_max_minor || builder.state.wallet_minor + tap.amount_minor > wallet.wallet_max_minor)
    return builder.refuse(RefusalReason::amount_over_limit);
  builder.post(AccountRole::topup_float, AccountRole::card_wallet, OperatorId{}, Asset::twd, tap.amount_minor,
               TransferCode::top_up);
  builder.note(NoteCode::top_up, no_index, tap.amount_minor);
  return true;
}

}  // namespace citycard::rules
