// Product prices, leg rules, transfers, caps and leg settlement.
#include "pricing.h"

#include <algorithm>

namespace citycard::rules {
namespace {

bool contains(const std::vector<Index>& list, Index value) noexcept {
  return std::find(list.begin(), list.end(), value) != list.end();
}

const Discount* best_discount(const RatingBuilder& builder, Index network, Index venue, Index* index) noexcept {
  const Discount* best = nullptr;
  const auto& discounts = builder.rules.discounts;
  for (std::size_t i = 0; i < discounts.size(); ++i) {
    const Discount& discount = discounts[i];
    if (!(discount.categories & category_bit(builder.state.category))) continue;
    if (!(discount.media & media_bit(builder.state.media))) continue;
    bool applies = network != no_index ? contains(discount.networks, network) : contains(discount.venues, venue);
    if (!applies) continue;
    if (best == nullptr || discount.percent_off_bp > best->percent_off_bp) {
      best = &discount;
      *index = static_cast<Index>(i);
    }
  }
  return best;
}

const FareCap* cap_for(const RatingBuilder& builder, Index network) noexcept {
  for (const FareCap& cap : builder.rules.caps)
    if ((cap.categories & category_bit(builder.state.category)) && contains(cap.networks, network)) return &cap;
  return nullptr;
}

// The accumulator slot of a business day / month; evicts the oldest slot
// for a newer period. A period older than every kept slot gets a scratch slot
// (its accumulation is not remembered: a tap that late is beyond the window
// readers are allowed to hold taps).
template <typename Slot, std::size_t N, typename KeyOf>
Slot& slot_for(std::array<Slot, N>& slots, std::int32_t key, Slot& scratch, KeyOf key_of) noexcept {
  Slot* oldest = &slots[0];
  for (Slot& slot : slots) {
    if (key_of(slot) == key) return slot;
    if (key_of(slot) < key_of(*oldest)) oldest = &slot;
  }
  if (key_of(*oldest) > key) return scratch;
  *oldest = Slot{};
  key_of(*oldest) = key;
  return *oldest;
}

CapDay& day_slot(RatingBuilder& builder, EventTime time, CapDay& scratch) noexcept {
  return slot_for(builder.state.cap_days, builder.calendar.business_day(time), scratch,
                  [](CapDay& slot) -> std::int32_t& { return slot.business_day; });
}
CapMonth& month_slot(RatingBuilder& builder, EventTime time, CapMonth& scratch) noexcept {
  return slot_for(builder.state.cap_months, builder.calendar.business_month(time), scratch,
                  [](CapMonth& slot) -> std::int32_t& { return slot.month; });
}

// What the rider pays of `price` under the caps; counts it.
std::int64_t apply_caps(RatingBuilder& builder, Index network, EventTime time, std::int64_t price_minor) noexcept {
  const FareCap* cap = cap_for(builder, network);
  if (cap == nullptr || price_minor <= 0) return price_minor;
  CapDay day_scratch;
  CapMonth month_scratch;
  CapDay& day = day_slot(builder, time, day_scratch);
  CapMonth& month = month_slot(builder, time, month_scratch);
  std::int64_t charged = price_minor;
  if (cap->daily_minor > 0) {
    std::int64_t left = std::max<std::int64_t>(0, cap->daily_minor - day.paid_minor);
    if (charged > left) {
      builder.note(NoteCode::cap_daily, no_index, charged, left, cap->daily_minor);
      charged = left;
    }
  }
  if (cap->monthly_minor > 0) {
    std::int64_t left = std::max<std::int64_t>(0, cap->monthly_minor - month.paid_minor);
    if (charged > left) {
      builder.note(NoteCode::cap_monthly, no_index, charged, left, cap->monthly_minor);
      charged = left;
    }
  }
  day.paid_minor += charged;
  month.paid_minor += charged;
  return charged;
}

void uncount_caps(RatingBuilder& builder, Index network, EventTime time, std::int64_t paid_minor) noexcept {
  if (paid_minor <= 0 || cap_for(builder, network) == nullptr) return;
  CapDay day_scratch;
  CapMonth month_scratch;
  CapDay& day = day_slot(builder, time, day_scratch);
  CapMonth& month = month_slot(builder, time, month_scratch);
  day.paid_minor = std::max<std::int64_t>(0, day.paid_minor - paid_minor);
  month.paid_minor = std::max<std::int64_t>(0, month.paid_minor - paid_minor);
}

}  // namespace

Quote quote_product(RatingBuilder& builder, Index product_index, Index network, Index venue) noexcept {
  Quote quote;
  if (product_index == no_index) return quote;
  const FareProduct& product = builder.rules.products[product_index];
  auto rider = product_price(product, builder.state.category, builder.state.media);
  auto general = product_price(product, RiderCategory::general, builder.state.media);
  if (!rider || !general) return quote;
  quote.found = true;
  quote.rider_minor = *rider;
  quote.operator_minor = *general;
  quote.category_minor = *rider;
  Index discount_index = no_index;
  if (const Discount* discount = best_discount(builder, network, venue, &discount_index)) {
    const std::int64_t after = apply_percent_off(quote.rider_minor, discount->percent_off_bp, discount->rounding);
    builder.note(NoteCode::discount, discount_index, quote.rider_minor, after);
    if (discount->funded_by == Funding::operator_itself) {
      quote.operator_minor = std::max(after, quote.operator_minor - (quote.rider_minor - after));
      quote.category_minor = after;  // the operator's own discount is no city programme
    }
    quote.rider_minor = after;
  }
  return quote;
}

Index match_leg_rule(const RatingBuilder& builder, Index network, Index from_area, Index to_area, EventTime start) noexcept {
  const auto& rules = builder.rules.leg_rules;
  const LegRuleBucket* bucket = builder.rules.find_leg_rule_bucket(network, from_area, to_area);
  if (bucket == nullptr) return no_index;
  Index best = no_index;
  std::int32_t minute = -1;
  std::int32_t weekday = -1;
  for (std::uint32_t c = 0; c < bucket->count; ++c) {
    const Index i = builder.rules.leg_rule_candidates[bucket->first + c];
    const LegRule& rule = rules[i];
    if (best != no_index && rule.rule_priority <= rules[best].rule_priority) continue;
    if (rule.timeframe != no_index) {
      if (minute < 0) {
        minute = builder.calendar.local_minute_of_day(start);
        weekday = builder.calendar.local_weekday(start);
      }
      const Timeframe& frame = builder.rules.timeframes[rule.timeframe];
      if (!(frame.weekdays & (1u << weekday)) || minute < frame.start_minute || minute >= frame.end_minute) continue;
    }
    best = i;
  }
  return best;
}

namespace {

bool live(const RatingBuilder& builder, const LegMemory& leg) noexcept {
  return leg.rule_set_version == builder.rules.version && leg.leg_group != no_index;
}

bool starts_from_departure(DurationLimitType type) noexcept {
  return type == DurationLimitType::departure_to_arrival || type == DurationLimitType::departure_to_departure;
}

// The first rule from `from` to `to` whose window and count allow it; its AB
// price for the rider goes to *ab_minor.
const TransferRule* find_transfer_rule(const RatingBuilder& builder, Index from, Index to, const LegMemory* from_leg,
                                       std::int64_t from_start_us, std::int64_t from_end_us, std::int64_t to_start_us,
                                       Index* index, std::int64_t* ab_minor) noexcept {
  const auto& rules = builder.rules.transfer_rules;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const TransferRule& rule = rules[i];
    if (rule.from_leg_group != from || rule.to_leg_group != to) continue;
    if (rule.transfer_count >= 0 && from_leg != nullptr && from_leg->transfers_used >= rule.transfer_count) continue;
    // The next leg's arrival is not known when its fare is taken, so limits
    // measured to an arrival use the next leg's departure validation.
    const std::int64_t elapsed_us = to_start_us - (starts_from_departure(rule.duration_limit_type) ? from_start_us : from_end_us);
    if (elapsed_us < 0) continue;
    if (rule.duration_limit_s > 0 && elapsed_us > rule.duration_limit_s * us_per_second) continue;
    std::int64_t ab = 0;
    if (rule.product != no_index) {
      auto price = product_price(builder.rules.products[rule.product], builder.state.category, builder.state.media);
      if (!price) continue;
      ab = *price;
    }
    *index = static_cast<Index>(i);
    *ab_minor = ab;
    return &rule;
  }
  return nullptr;
}

}  // namespace

TransferDecision decide_transfer(const RatingBuilder& builder, Index leg_group, std::int64_t start_us) noexcept {
  TransferDecision decision;
  const auto& legs = builder.state.recent_legs;
  for (std::size_t i = 0; i < legs.size(); ++i) {
    if (!live(builder, legs[i])) continue;
    if (legs[i].start_us <= start_us) decision.before_slot = i;  // ascending: the last one wins
    else if (decision.after_slot == legs_kept) decision.after_slot = i;
  }
  decision.late = decision.after_slot != legs_kept;
  TransferAdjust& adjust = decision.adjust;

  if (decision.before_slot != legs_kept) {
    const LegMemory& before = legs[decision.before_slot];
    Index index = no_index;
    std::int64_t ab = 0;
    const TransferRule* rule = (decision.late && before.used_as_from)
                                   ? nullptr
                                   : find_transfer_rule(builder, before.leg_group, leg_group, &before, before.start_us,
                                                        before.end_us, start_us, &index, &ab);
    if (rule != nullptr) {
      adjust.rule = index;
      adjust.ab_minor = ab;
      switch (rule->fare_transfer_type) {
        case FareTransferType::a_plus_ab: adjust.use_own_price = false; break;         // journey A + AB
        case FareTransferType::a_plus_ab_plus_b: adjust.use_own_price = true; break;   // A + AB + B
        case FareTransferType::ab:                                                     // AB
          adjust.use_own_price = false;
          adjust.subtract_minor = before.journey_price_minor;
          break;
      }
      decision.transfers_used = static_cast<std::uint8_t>(std::min(before.transfers_used + 1, 255));
      decision.journey_before_minor = before.journey_price_minor;
    } else {
      decision.before_slot = legs_kept;
    }
  }

  if (decision.late) {
    const LegMemory& after = legs[decision.after_slot];
    Index index = no_index;
    std::int64_t ab = 0;
    const TransferRule* rule =
        (after.transfers_used != 0 || after.late_paired)
            ? nullptr
            : find_transfer_rule(builder, leg_group, after.leg_group, nullptr, start_us, start_us, after.start_us, &index, &ab);
    // The later leg paid its own price N; this leg pays what makes the pair cost
    // what it would have in order: type 0 A + AB, type 1 A + AB + B, type 2 AB.
    if (rule != nullptr && !(rule->fare_transfer_type == FareTransferType::ab && adjust.rule != no_index)) {
      adjust.late_rule = index;
      adjust.ab_minor += ab;
      if (rule->fare_transfer_type == FareTransferType::a_plus_ab) adjust.subtract_minor += after.rider_price_minor;
      if (rule->fare_transfer_type == FareTransferType::ab) {
        adjust.use_own_price = false;
        adjust.subtract_minor = after.rider_price_minor;
      }
    } else {
      decision.after_slot = legs_kept;
    }
  }
  return decision;
}

std::int64_t price_after_transfer(const TransferAdjust& adjust, std::int64_t own_price_minor) noexcept {
  if (adjust.rule == no_index && adjust.late_rule == no_index) return own_price_minor;
  return std::max<std::int64_t>(0, (adjust.use_own_price ? own_price_minor : 0) + adjust.ab_minor - adjust.subtract_minor);
}

void remember_leg(RatingBuilder& builder, Index network, Index leg_group, std::int64_t start_us,
                  std::int64_t own_price_minor, std::int64_t rider_price_minor, const TransferDecision& decision) noexcept {
  auto& legs = builder.state.recent_legs;
  const bool from_before = decision.adjust.rule != no_index;
  if (from_before) legs[decision.before_slot].used_as_from = true;
  if (decision.adjust.late_rule != no_index) {
    LegMemory& after = legs[decision.after_slot];
    after.late_paired = true;
    after.transfers_used = static_cast<std::uint8_t>(std::min(decision.transfers_used + 1, 255));
  }
  LegMemory leg;
  leg.rule_set_version = builder.rules.version;
  leg.network = network;
  leg.leg_group = leg_group;
  leg.start_us = start_us;
  leg.end_us = start_us;
  leg.rider_price_minor = own_price_minor;
  leg.journey_price_minor = (from_before ? decision.journey_before_minor : 0) + rider_price_minor;
  leg.transfers_used = from_before ? decision.transfers_used : 0;
  leg.used_as_from = decision.adjust.late_rule != no_index;

  // Keep the slots ascending by start; the oldest (or a stale slot) makes room.
  std::size_t position = 0;
  for (std::size_t i = 0; i < legs.size(); ++i)
    if (!live(builder, legs[i]) || legs[i].start_us <= start_us) position = i + 1;
  if (position == 0) return;  // older than every kept leg and no room: forgotten
  // Shift slots [0, position) left by one, dropping slot 0 (the oldest or empty), then place.
  for (std::size_t i = 0; i + 1 < position; ++i) legs[i] = legs[i + 1];
  legs[position - 1] = leg;
}

LegMemory* find_leg(RatingBuilder& builder, Index network, std::int64_t start_us) noexcept {
  for (LegMemory& leg : builder.state.recent_legs)
    if (live(builder, leg) && leg.network == network && leg.start_us == start_us) return &leg;
  return nullptr;
}

bool settle_leg(RatingBuilder& builder, const LegCharge& charge, OpenJourney& journey) noexcept {
  const std::int64_t rider_price = charge.steps.rider_minor;
  uncount_caps(builder, charge.network, charge.start, journey.rider_paid_minor);
  std::int64_t rider_due = apply_caps(builder, charge.network, charge.start, rider_price);
  const std::int64_t operator_receives = std::max(charge.steps.operator_minor, rider_price);
  const ProgrammeAmounts programme_due = split_city_share(charge.steps, rider_due);
  const std::int64_t subsidy_due = operator_receives - rider_due;
  CITYCARD_RULES_CHECK(sum_of(programme_due) == subsidy_due);
  CITYCARD_RULES_CHECK(sum_of(journey.programme_paid_minor) == journey.subsidy_paid_minor);
  std::int64_t rider_delta = rider_due - journey.rider_paid_minor;
  if (rider_delta > 0 && rider_delta > charge.rider_limit_minor) {
    // Only part is taken now (a hold limited by the wallet); the rest is not counted.
    uncount_caps(builder, charge.network, charge.start, rider_delta - std::max<std::int64_t>(0, charge.rider_limit_minor));
    rider_delta = std::max<std::int64_t>(0, charge.rider_limit_minor);
  }
  std::uint16_t flags = transfer_flag_none;
  const std::int64_t points =
      rider_delta > 0 && charge.pay_with_points ? builder.points_to_spend(rider_delta, charge.points_max) : 0;
  const std::int64_t wallet_delta = rider_delta - points * builder.rules.points.twd_minor_per_point;
  if (wallet_delta > 0 && !builder.fund_wallet(wallet_delta, charge.check, &flags)) return false;
  builder.redeem_points(charge.operator_id, points, Programme::welfare_points);
  if (wallet_delta > 0) builder.charge_wallet(charge.operator_id, wallet_delta, TransferCode::fare, flags);
  if (wallet_delta > 0 && points > 0) builder.note(NoteCode::wallet_part, no_index, wallet_delta);
  if (rider_delta < 0) builder.refund_wallet(charge.operator_id, -rider_delta);
  const std::int64_t subsidy_delta = subsidy_due - journey.subsidy_paid_minor;
  if (subsidy_delta > 0) builder.note(NoteCode::subsidy, no_index, subsidy_delta);
  // Each programme moves its own difference: refunds go back to the programme
  // that paid, in the programmes' fixed order.
  for (Programme programme : all_programmes()) {
    const std::size_t p = programme_index(programme);
    const std::int64_t delta = programme_due[p] - journey.programme_paid_minor[p];
    if (delta > 0) builder.pay_programme(charge.operator_id, programme, delta);
    if (delta < 0) builder.refund_programme(charge.operator_id, programme, -delta);
    journey.programme_paid_minor[p] = programme_due[p];
  }
  journey.rider_paid_minor += rider_delta;
  journey.subsidy_paid_minor += subsidy_delta;
  return true;
}

}  // namespace citycard::rules
