// Internal to rating: prices of products for a rider, leg rule matching,
// transfer decisions, fare caps and the settlement of a leg's fare between
// rider and city. Not part of the public API.
#pragma once

#include "programme_split.h"
#include "rating_builder.h"

namespace citycard::rules {

// A product priced for the rider and for the operator.
struct Quote {
  bool found = false;
  std::int64_t rider_minor = 0;     // after the rider's category price and the best discount
  std::int64_t operator_minor = 0;  // the general price, less an operator-funded discount
  // The rider's price before a city-funded discount: the category price, less
  // an operator-funded discount (programme_split.h's `category` step).
  std::int64_t category_minor = 0;

  // The price steps of this quote once a transfer and buy-one-get-one are known.
  PriceSteps steps(std::int64_t transferred_minor, std::int64_t charged_minor) const noexcept {
    return PriceSteps{operator_minor, category_minor, rider_minor, transferred_minor, charged_minor};
  }
};

// Prices `product` for the tap's rider. Exactly one of network / venue is set.
// Notes the discount when one applies.
Quote quote_product(RatingBuilder& builder, Index product, Index network, Index venue) noexcept;

// The GTFS leg rule for a leg, or no_index.
Index match_leg_rule(const RatingBuilder& builder, Index network, Index from_area, Index to_area, EventTime start) noexcept;

// The transfers of a leg of `leg_group` starting at `start_us`, against the
// card's recent legs: from the leg before it in event time and, when this
// leg is late (a later leg was rated first), into the leg after it, so that
// a late offline leg costs what it would have cost arriving in order.
struct TransferDecision {
  TransferAdjust adjust;
  std::size_t before_slot = legs_kept;   // recent_legs slot transferred from; legs_kept = none
  std::size_t after_slot = legs_kept;    // slot of the later leg paired into; legs_kept = none
  bool late = false;                     // a leg later than this one was already rated
  std::uint8_t transfers_used = 0;
  std::int64_t journey_before_minor = 0;
};
TransferDecision decide_transfer(const RatingBuilder& builder, Index leg_group, std::int64_t start_us) noexcept;
std::int64_t price_after_transfer(const TransferAdjust& adjust, std::int64_t own_price_minor) noexcept;

// Remembers a priced leg for later transfers.
void remember_leg(RatingBuilder& builder, Index network, Index leg_group, std::int64_t start_us,
                  std::int64_t own_price_minor, std::int64_t rider_price_minor, const TransferDecision& decision) noexcept;
// The remembered leg of `network` that started at `start_us`, or nullptr.
LegMemory* find_leg(RatingBuilder& builder, Index network, std::int64_t start_us) noexcept;

// Settles a leg's fare so that, in total, the rider has paid the capped
// rider price (steps.rider_minor; at most `rider_limit_minor` now) and the
// operator has received max(steps.operator_minor, rider price), the city
// paying the rest, split into programmes (programme_split.h). `journey` holds
// what was paid before, per programme, and is updated: a programme that paid
// more than its new share is refunded the difference. Returns false if refused.
struct LegCharge {
  OperatorId operator_id;
  Index network = no_index;
  EventTime start;
  PriceSteps steps;
  std::int64_t rider_limit_minor = INT64_MAX;
  WalletCheck check = WalletCheck::must_cover;
  // Welfare points pay the rider's part first (Network::points_categories), at
  // most points_max (0 = no limit); only where the fare is never settled again.
  bool pay_with_points = false;
  std::int64_t points_max = 0;
};
bool settle_leg(RatingBuilder& builder, const LegCharge& charge, OpenJourney& journey) noexcept;

}  // namespace citycard::rules
