// A tap: what a reader saw, and what the engine decided about it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "citycard/ids.h"
#include "citycard/money.h"
#include "citycard/time.h"

namespace citycard {

enum class RiderCategory : std::uint8_t {
  general = 1,
  student = 2,
  senior = 3,
  disability = 4,
  disability_companion = 5,
  employee = 6,
};
inline constexpr int rider_category_count = 6;

enum class Media : std::uint8_t {
  physical_card = 1,
  mobile = 2,            // mobile NFC card
  co_branded_credit = 3, // co-branded credit card with a city wallet
};

// What the reader was doing when the card was presented.
enum class Mode : std::uint8_t {
  bus_board = 1,
  bus_alight = 2,
  metro_in = 3,
  metro_out = 4,
  bike_rent = 5,
  bike_return = 6,
  entry = 7,     // pool, sports centre, taxi ride: a priced entry or service
  pay = 8,       // device-given amount: parking, government fee, shop
  identify = 9,  // library, door, meeting sign-in: no money moves
  top_up = 10,   // cash top-up at a device
};
inline constexpr int mode_count = 10;

// Why a tap was refused; the reader shows it. Stable numbers: they go on the wire.
enum class RefusalReason : std::uint8_t {
  none = 0,
  card_unknown = 1,
  card_blocked = 2,
  card_lost = 3,
  card_replaced = 4,
  insufficient_balance = 5,
  below_minimum_balance = 6,   // metro entry needs a minimum balance
  amount_invalid = 7,          // zero, negative or malformed amount
  amount_over_limit = 8,       // over the single-payment or wallet limit
  not_allowed_for_category = 9,
  no_fare_rule = 10,           // the rule set has nothing for this tap
  no_open_journey = 11,        // tap-out / return / alight without a start
  card_not_genuine = 12,       // card authentication failed
  insufficient_points = 13,
  reader_not_allowed = 14,     // reader or operator unknown to the rule set
  journey_already_open = 15,   // a bike rent while a rental is still open
  event_time_invalid = 16,     // event time too far in the future, or older than offline retention
  offline_limit_exceeded = 17, // over the card's offline debt or the reader's offline amount per day
  internal = 18,               // the engine could not decide this tap (logged); not the reader's fault
  access_not_admitted = 19,    // door: no access list entry names the card; meeting: not invited (docs/access.md)
  access_outside_window = 20,  // door: named, but not at this time; meeting: no sign-in window open now
  payment_daily_limit = 21,    // pay: over the wallet money the card may pay per business day (wallet.payment_daily_max_minor)
};
inline constexpr RefusalReason refusal_reason_last = RefusalReason::payment_daily_limit;

struct Tap {
  TapId id;
  CardId card;
  Media media = Media::physical_card;
  EventTime event_time;              // when the card was presented, from the reader
  Mode mode = Mode::bus_board;
  OperatorId operator_id;
  std::uint32_t route = 0;           // bus route / metro line; 0 = none
  std::uint32_t location = 0;        // stop, station, venue, shop, door
  std::int64_t amount_minor = 0;     // device-given amount (pay, top_up); 0 otherwise
  bool offline = false;              // the reader admitted the rider without the engine
};

constexpr std::string_view rider_category_name(RiderCategory category) noexcept {
  switch (category) {
    case RiderCategory::general: return "general";
    case RiderCategory::student: return "student";
    case RiderCategory::senior: return "senior";
    case RiderCategory::disability: return "disability";
    case RiderCategory::disability_companion: return "disability_companion";
    case RiderCategory::employee: return "employee";
  }
  return "?";
}

inline std::optional<RiderCategory> parse_rider_category(std::string_view text) noexcept {
  for (int i = 1; i <= rider_category_count; ++i) {
    auto category = static_cast<RiderCategory>(i);
    if (rider_category_name(category) == text) return category;
  }
  return std::nullopt;
}

constexpr std::string_view media_name(Media media) noexcept {
  switch (media) {
    case Media::physical_card: return "card";
    case Media::mobile: return "mobile";
    case Media::co_branded_credit: return "co_branded_credit";
  }
  return "?";
}

inline std::optional<Media> parse_media(std::string_view text) noexcept {
  for (int i = 1; i <= 3; ++i) {
    auto media = static_cast<Media>(i);
    if (media_name(media) == text) return media;
  }
  return std::nullopt;
}

constexpr std::string_view mode_name(Mode mode) noexcept {
  switch (mode) {
    case Mode::bus_board: return "bus_board";
    case Mode::bus_alight: return "bus_alight";
    case Mode::metro_in: return "metro_in";
    case Mode::metro_out: return "metro_out";
    case Mode::bike_rent: return "bike_rent";
    case Mode::bike_return: return "bike_return";
    case Mode::entry: return "entry";
    case Mode::pay: return "pay";
    case Mode::identify: return "identify";
    case Mode::top_up: return "top_up";
  }
  return "?";
}

inline std::optional<Mode> parse_mode(std::string_view text) noexcept {
  for (int i = 1; i <= mode_count; ++i) {
    auto mode = static_cast<Mode>(i);
    if (mode_name(mode) == text) return mode;
  }
  return std::nullopt;
}

constexpr std::string_view refusal_reason_name(RefusalReason reason) noexcept {
  switch (reason) {
    case RefusalReason::none: return "none";
    case RefusalReason::card_unknown: return "card_unknown";
    case RefusalReason::card_blocked: return "card_blocked";
    case RefusalReason::card_lost: return "card_lost";
    case RefusalReason::card_replaced: return "card_replaced";
    case RefusalReason::insufficient_balance: return "insufficient_balance";
    case RefusalReason::below_minimum_balance: return "below_minimum_balance";
    case RefusalReason::amount_invalid: return "amount_invalid";
    case RefusalReason::amount_over_limit: return "amount_over_limit";
    case RefusalReason::not_allowed_for_category: return "not_allowed_for_category";
    case RefusalReason::no_fare_rule: return "no_fare_rule";
    case RefusalReason::no_open_journey: return "no_open_journey";
    case RefusalReason::card_not_genuine: return "card_not_genuine";
    case RefusalReason::insufficient_points: return "insufficient_points";
    case RefusalReason::reader_not_allowed: return "reader_not_allowed";
    case RefusalReason::journey_already_open: return "journey_already_open";
    case RefusalReason::event_time_invalid: return "event_time_invalid";
    case RefusalReason::offline_limit_exceeded: return "offline_limit_exceeded";
    case RefusalReason::internal: return "internal";
    case RefusalReason::access_not_admitted: return "access_not_admitted";
    case RefusalReason::access_outside_window: return "access_outside_window";
    case RefusalReason::payment_daily_limit: return "payment_daily_limit";
  }
  return "?";
}

}  // namespace citycard
