// Bus and metro: legs priced by GTFS-shaped leg rules, with transfers, caps,
// buy-one-get-one and the metro's hold-and-refund.
//
// Bus on a pay-at-boarding network: the whole fare at boarding, welfare
// points first for the network's points categories. On a
// board-and-alight (segment) network: one fare unit at boarding, the rest
// settled at alighting; for buy-one-get-one categories the city pays the
// units after the first. A missing alight keeps the first unit.
//
// Metro: the maximum fare (for the rider, after discount, transfer and caps)
// is held at entry, limited to what the wallet holds; at exit the real fare is
// settled and the difference refunded (or the shortfall charged). A tap-out
// after the network's time limit, or a new entry with a trip still open,
// closes the trip at the maximum fare.
#include <algorithm>

#include "pricing.h"
#include "rate_modes.h"

namespace citycard::rules {
namespace {

struct LegStart {
  Index network = no_index;
  Index area = no_index;
  Index leg_rule = no_index;
};

bool find_leg_start(RatingBuilder& builder, ServiceKind kind, LegStart* start) noexcept {
  const Tap& tap = builder.tap;
  start->network = builder.rules.find_network(tap.operator_id, tap.route, kind);
  if (start->network == no_index) return builder.refuse(RefusalReason::no_fare_rule);
  const Network& network = builder.rules.networks[start->network];
  if (!(network.categories & category_bit(builder.state.category)))
    return builder.refuse(RefusalReason::not_allowed_for_category);
  start->area = builder.rules.find_area(start->network, tap.location);
  // The price of a leg that ends where it starts: one fare unit / the minimum.
  start->leg_rule = match_leg_rule(builder, start->network, start->area, start->area, tap.event_time);
  if (start->leg_rule == no_index) return builder.refuse(RefusalReason::no_fare_rule);
  return true;
}

Quote quote_leg(RatingBuilder& builder, Index network, Index leg_rule) noexcept {
  const LegRule& rule = builder.rules.leg_rules[leg_rule];
  Quote quote = quote_product(builder, rule.product, network, no_index);
  if (quote.found) builder.note(NoteCode::leg_price, leg_rule, quote.rider_minor, quote.operator_minor, rule.product);
  return quote;
}

std::int64_t price_with_transfer(RatingBuilder& builder, const TransferAdjust& adjust, std::int64_t own_minor) noexcept {
  const std::int64_t price = price_after_transfer(adjust, own_minor);
  if (adjust.rule != no_index) builder.note(NoteCode::transfer, adjust.rule, own_minor, price);
  if (adjust.late_rule != no_index) builder.note(NoteCode::transfer, adjust.late_rule, own_minor, price);
  return price;
}

// After a journey ends, the remembered leg learns its end and real price.
void finish_remembered_leg(RatingBuilder& builder, Index network, std::int64_t start_us, std::int64_t own_minor,
                           std::int64_t price_at_start_minor, std::int64_t final_price_minor) noexcept {
  LegMemory* memory = find_leg(builder, network, start_us);
  if (memory == nullptr) return;
  memory->end_us = std::max(memory->end_us, builder.tap.event_time.unix_us);
  memory->rider_price_minor = own_minor;
  memory->journey_price_minor += final_price_minor - price_at_start_minor;
}

}  // namespace

bool rate_bus_board(RatingBuilder& builder) noexcept {
  LegStart start;
  if (!find_leg_start(builder, ServiceKind::bus, &start)) return false;
  const Tap& tap = builder.tap;
  const Network& network = builder.rules.networks[start.network];
  const Quote quote = quote_leg(builder, start.network, start.leg_rule);
  if (!quote.found) return builder.refuse(RefusalReason::no_fare_rule);
  const Index leg_group = builder.rules.leg_rules[start.leg_rule].leg_group;
  const TransferDecision decision = decide_transfer(builder, leg_group, tap.event_time.unix_us);
  const std::int64_t price = price_with_transfer(builder, decision.adjust, quote.rider_minor);

  OpenJourney journey;
  LegCharge charge{tap.operator_id, start.network, tap.event_time, quote.steps(price, price), INT64_MAX,
                   WalletCheck::must_cover};
  charge.pay_with_points = (network.points_categories & category_bit(builder.state.category)) != 0;
  charge.points_max = network.points_max_per_ride;
  if (!settle_leg(builder, charge, journey)) return false;
  remember_leg(builder, start.network, leg_group, tap.event_time.unix_us, quote.rider_minor, price, decision);
  if (network.collection == FareCollection::board_and_alight) {
    // A ride still open never had its alighting: the first unit stays charged.
    journey.open = true;
    journey.operator_id = tap.operator_id;
    journey.route = tap.route;
    journey.location = tap.location;
    journey.start_us = tap.event_time.unix_us;
    journey.rider_price_start_minor = quote.rider_minor;
    journey.transfer = decision.adjust;
    builder.state.bus = journey;
  }
  return true;
}

bool rate_bus_alight(RatingBuilder& builder) noexcept {
  const Tap& tap = builder.tap;
  const Index network_index = builder.rules.find_network(tap.operator_id, tap.route, ServiceKind::bus);
  if (network_index == no_index) return builder.refuse(RefusalReason::no_fare_rule);
  const Network& network = builder.rules.networks[network_index];
  if (network.collection != FareCollection::board_and_alight) {
    builder.note(NoteCode::alight_recorded);
    // The latest ride on this network that started before: it ends here.
    LegMemory* ride = nullptr;
    for (LegMemory& leg : builder.state.recent_legs)
      if (leg.rule_set_version == builder.rules.version && leg.network == network_index &&
          leg.start_us <= tap.event_time.unix_us)
        ride = &leg;
    if (ride != nullptr) ride->end_us = std::max(ride->end_us, tap.event_time.unix_us);
    return true;
  }
  OpenJourney& journey = builder.state.bus;
  if (!journey.open || journey.operator_id != tap.operator_id || journey.route != tap.route ||
      journey.start_us > tap.event_time.unix_us)
    return builder.refuse(RefusalReason::no_open_journey);
  const Index board_area = builder.rules.find_area(network_index, journey.location);
  const Index alight_area = builder.rules.find_area(network_index, tap.location);
  const EventTime started{journey.start_us};
  const Index leg_rule = match_leg_rule(builder, network_index, board_area, alight_area, started);
  if (leg_rule == no_index) return builder.refuse(RefusalReason::no_fare_rule);
  const Quote quote = quote_leg(builder, network_index, leg_rule);
  if (!quote.found) return builder.refuse(RefusalReason::no_fare_rule);

  const std::int64_t price_at_start = price_after_transfer(journey.transfer, journey.rider_price_start_minor);
  const std::int64_t transferred = price_with_transfer(builder, journey.transfer, quote.rider_minor);
  std::int64_t price = transferred;
  if ((network.buy_one_get_one_categories & category_bit(builder.state.category)) && price > price_at_start) {
    builder.note(NoteCode::buy_one_get_one, no_index, price - price_at_start);
    price = price_at_start;
  }
  const std::int64_t paid_before = journey.rider_paid_minor;
  // The rider is already off the bus: the ride was given.
  LegCharge charge{journey.operator_id, network_index, started, quote.steps(transferred, price), INT64_MAX,
                   WalletCheck::service_given};
  if (!settle_leg(builder, charge, journey)) return false;
  builder.note(NoteCode::journey_settled, no_index, journey.rider_paid_minor, paid_before,
               journey.rider_paid_minor - paid_before);
  finish_remembered_leg(builder, network_index, journey.start_us, quote.rider_minor, price_at_start, price);
  journey = OpenJourney{};
  return true;
}

namespace {

// Ends the open metro trip at the maximum fare (missing tap-out).
void close_metro_at_max(RatingBuilder& builder) noexcept {
  OpenJourney& journey = builder.state.metro;
  const Index network_index = builder.rules.find_network(journey.operator_id, journey.route, ServiceKind::metro);
  if (network_index != no_index) {
    const Network& network = builder.rules.networks[network_index];
    const Quote quote = quote_product(builder, network.max_fare_product, network_index, no_index);
    const std::int64_t price = price_after_transfer(journey.transfer, quote.rider_minor);
    LegCharge charge{journey.operator_id, network_index, EventTime{journey.start_us}, quote.steps(price, price),
                     INT64_MAX, WalletCheck::service_given};
    settle_leg(builder, charge, journey);
    finish_remembered_leg(builder, network_index, journey.start_us, quote.rider_minor, journey.rider_price_start_minor,
                          price);
  }
  builder.note(NoteCode::missing_tap_out, no_index, journey.rider_paid_minor);
  journey = OpenJourney{};
}

}  // namespace

bool rate_metro_in(RatingBuilder& builder) noexcept {
  LegStart start;
  if (!find_leg_start(builder, ServiceKind::metro, &start)) return false;
  const Tap& tap = builder.tap;
  const Network& network = builder.rules.networks[start.network];
  if (builder.state.metro.open) close_metro_at_max(builder);

  CardState& state = builder.state;
  if (state.wallet_minor < network.min_balance_to_enter_minor) builder.auto_top_up(network.min_balance_to_enter_minor);
  if (state.wallet_minor < network.min_balance_to_enter_minor && !tap.offline) {
    builder.note(NoteCode::minimum_balance, no_index, network.min_balance_to_enter_minor, state.wallet_minor);
    return builder.refuse(RefusalReason::below_minimum_balance);
  }
  const Quote quote = quote_product(builder, network.max_fare_product, start.network, no_index);
  if (!quote.found) return builder.refuse(RefusalReason::no_fare_rule);
  const Index leg_group = builder.rules.leg_rules[start.leg_rule].leg_group;
  const TransferDecision decision = decide_transfer(builder, leg_group, tap.event_time.unix_us);
  const std::int64_t hold_price = price_with_transfer(builder, decision.adjust, quote.rider_minor);
  // Hold no more than the wallet has, with what auto top-ups can still add
  // today: past its daily limit a co-branded card is held like any other.
  const std::int64_t limit =
      tap.offline ? INT64_MAX : std::max<std::int64_t>(0, state.wallet_minor) + builder.auto_top_up_room();

  OpenJourney journey;
  LegCharge charge{tap.operator_id, start.network, tap.event_time, quote.steps(hold_price, hold_price), limit,
                   WalletCheck::must_cover};
  if (!settle_leg(builder, charge, journey)) return false;
  builder.note(NoteCode::fare_held, no_index, journey.rider_paid_minor, hold_price);
  journey.open = true;
  journey.operator_id = tap.operator_id;
  journey.route = tap.route;
  journey.location = tap.location;
  journey.start_us = tap.event_time.unix_us;
  journey.rider_price_start_minor = hold_price;
  journey.transfer = decision.adjust;
  state.metro = journey;
  remember_leg(builder, start.network, leg_group, tap.event_time.unix_us, quote.rider_minor, hold_price, decision);
  return true;
}

bool rate_metro_out(RatingBuilder& builder) noexcept {
  const Tap& tap = builder.tap;
  const Index network_index = builder.rules.find_network(tap.operator_id, tap.route, ServiceKind::metro);
  if (network_index == no_index) return builder.refuse(RefusalReason::no_fare_rule);
  OpenJourney& journey = builder.state.metro;
  if (!journey.open || journey.start_us > tap.event_time.unix_us ||
      builder.rules.find_network(journey.operator_id, journey.route, ServiceKind::metro) != network_index)
    return builder.refuse(RefusalReason::no_open_journey);
  const Network& network = builder.rules.networks[network_index];
  const std::int64_t elapsed_us = tap.event_time.unix_us - journey.start_us;
  if (network.trip_time_limit_s > 0 && elapsed_us > network.trip_time_limit_s * us_per_second) {
    builder.note(NoteCode::tap_out_after_limit, no_index, elapsed_us / us_per_minute);
    close_metro_at_max(builder);
    return true;
  }
  const Index entry_area = builder.rules.find_area(network_index, journey.location);
  const Index exit_area = builder.rules.find_area(network_index, tap.location);
  const EventTime started{journey.start_us};
  const Index leg_rule = match_leg_rule(builder, network_index, entry_area, exit_area, started);
  if (leg_rule == no_index) return builder.refuse(RefusalReason::no_fare_rule);
  const Quote quote = quote_leg(builder, network_index, leg_rule);
  if (!quote.found) return builder.refuse(RefusalReason::no_fare_rule);
  const std::int64_t price = price_with_transfer(builder, journey.transfer, quote.rider_minor);
  const std::int64_t paid_before = journey.rider_paid_minor;
  LegCharge charge{journey.operator_id, network_index, started, quote.steps(price, price), INT64_MAX,
                   WalletCheck::must_cover};
  if (!settle_leg(builder, charge, journey)) return false;
  builder.note(NoteCode::journey_settled, no_index, journey.rider_paid_minor, paid_before,
               journey.rider_paid_minor - paid_before);
  finish_remembered_leg(builder, network_index, journey.start_us, quote.rider_minor, journey.rider_price_start_minor,
                        price);
  journey = OpenJourney{};
  return true;
}

}  // namespace citycard::rules
