// The city's rule set: what every tap costs, who pays it, and what a card
// may do. Loaded from TOML (rule_set_loader.h), read-only afterwards, shared
// by every rating. The transit part follows the shape of GTFS-Fares v2 (fare
// products priced per rider category and medium, leg rules matched by
// network, from/to area and timeframe with rule_priority, transfer rules) so
// a GTFS feed can be imported into it; caps, points, venues, payments and
// the wallet live beside it. Amounts are int64 in the rule set's minor unit.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "citycard/card.h"
#include "citycard/ids.h"
#include "citycard/tap.h"
#include "rules_types.h"

namespace citycard::rules {

// What an operator runs; decides which taps its readers may send.
enum class ServiceKind : std::uint8_t {
  bus = 1, metro, bike, taxi, pool, sports_centre, library, door, meeting, parking, government, shop,
  railway,  // a railway's gates: the device sends the fare, like a taxi meter (a [[venues]] row)
};
inline constexpr int service_kind_count = 13;
std::string_view service_kind_name(ServiceKind kind) noexcept;
std::optional<ServiceKind> parse_service_kind(std::string_view text) noexcept;

// When a transit network takes the fare.
enum class FareCollection : std::uint8_t {
  on_board = 1,                 // whole fare at boarding; alighting is recorded only
  board_and_alight = 2,         // one fare unit at boarding, the rest settled at alighting
  hold_max_refund_on_exit = 3,  // the maximum fare held at entry, the difference refunded at exit
};

// How a percentage discount is rounded to the minor unit (of the rider's fare).
enum class Rounding : std::uint8_t { down = 1, half_up = 2, up = 3 };

// Who bears a discount: the city (a subsidy posting, the operator keeps its
// full fare) or the operator (it simply receives less).
enum class Funding : std::uint8_t { city = 1, operator_itself = 2 };

// GTFS fare_transfer_rules.duration_limit_type.
enum class DurationLimitType : std::uint8_t {
  departure_to_arrival = 0, departure_to_departure = 1, arrival_to_departure = 2, arrival_to_arrival = 3,
};
// GTFS fare_transfer_rules.fare_transfer_type: 0 = A + AB, 1 = A + AB + B, 2 = AB.
enum class FareTransferType : std::uint8_t { a_plus_ab = 0, a_plus_ab_plus_b = 1, ab = 2 };

struct OperatorRule {
  OperatorId id;
  std::string name;
  ServiceKind kind = ServiceKind::bus;
};

// GTFS networks: routes of some operators sharing fare rules.
struct Network {
  std::string id;
  ServiceKind kind = ServiceKind::bus;            // bus or metro
  std::vector<OperatorId> operators;
  std::vector<std::uint32_t> routes;              // empty: every route of those operators
  FareCollection collection = FareCollection::on_board;
  CategoryMask categories = all_categories;       // who may ride
  Index max_fare_product = no_index;              // hold_max_refund_on_exit: held at entry
  std::int64_t min_balance_to_enter_minor = 0;    // entry refused below this wallet balance
  std::int64_t trip_time_limit_s = 0;             // hold: a tap-out later than this keeps the max fare
  CategoryMask buy_one_get_one_categories = 0;    // board_and_alight: city pays the fare units after the first
  // on_board only: these categories pay the fare with welfare points first
  // (at most points_max_per_ride, 0 = no limit), the rest from the wallet.
  CategoryMask points_categories = 0;
  std::int64_t points_max_per_ride = 0;
};

// GTFS areas + stop_areas, per network: stop ids are the reader's location.
struct Area {
  std::string id;
  Index network = no_index;
  std::vector<std::uint32_t> stops;
};

// GTFS fare_products: one id, priced per rider category and medium. A row
// without a category is the default (general) price; without a medium, any.
struct ProductPrice {
  std::optional<RiderCategory> category;
  std::optional<Media> media;
  std::int64_t amount_minor = 0;   // may be negative only for transfer products
};
struct FareProduct {
  std::string id;
  std::string name;
  std::vector<ProductPrice> prices;
};

// GTFS timeframes: local minutes of the day [start, end) on some weekdays.
struct Timeframe {
  std::string id;
  std::int32_t start_minute = 0;
  std::int32_t end_minute = 24 * 60;
  std::uint8_t weekdays = 0x7F;    // bit 0 = Monday ... bit 6 = Sunday
};

// GTFS fare_leg_rules: the highest rule_priority that matches wins; ties go to
// the rule listed first. A missing area or timeframe matches anything.
struct LegRule {
  Index leg_group = no_index;      // into RuleSet::leg_groups
  Index network = no_index;
  Index from_area = no_index;
  Index to_area = no_index;
  Index timeframe = no_index;      // of the leg's start
  Index product = no_index;
  std::int32_t rule_priority = 0;
};

// GTFS fare_transfer_rules between two leg groups. Transfer discounts are paid
// by the city: the operator of each leg keeps its full fare.
struct TransferRule {
  Index from_leg_group = no_index;
  Index to_leg_group = no_index;
  std::int32_t transfer_count = -1;      // transfers allowed in a row; -1 = unlimited
  std::int64_t duration_limit_s = 0;     // 0 = no limit
  DurationLimitType duration_limit_type = DurationLimitType::departure_to_departure;
  FareTransferType fare_transfer_type = FareTransferType::a_plus_ab_plus_b;
  Index product = no_index;              // the AB product; none = 0
};

// A percentage off the rider's price (citizen discount). Discounts do not
// stack: the largest matching one applies.
struct Discount {
  std::string id;
  std::vector<Index> networks;
  std::vector<Index> venues;
  CategoryMask categories = all_categories;
  MediaMask media = all_media;
  std::int32_t percent_off_bp = 0;       // basis points, 2000 = 20%
  Rounding rounding = Rounding::half_up;
  Funding funded_by = Funding::city;
};

// Per category: the rider never pays more than this per business day / month
// on the listed networks. The operator still receives its full fare.
struct FareCap {
  std::string id;
  CategoryMask categories = 0;
  std::vector<Index> networks;
  std::int64_t daily_minor = 0;      // 0 = no daily cap
  std::int64_t monthly_minor = 0;    // 0 = no monthly cap
};

// Taxi, pool, sports centre, railway: a priced entry (product) or a
// device-given amount (taxi meter, railway fare), payable in points where
// accepted. The city pays the operator for points from welfare_points, at a
// railway from railway_subsidy (points_programme).
struct Venue {
  std::string id;
  ServiceKind kind = ServiceKind::pool;
  std::vector<OperatorId> operators;
  CategoryMask categories = all_categories;
  Index product = no_index;                 // none: the device supplies the amount
  std::int64_t amount_max_minor = 0;        // device amount limit; 0 = none
  bool points_accepted = false;
  std::int64_t points_max_per_use = 0;      // 0 = no limit; at a railway, per trip
  std::int32_t reward_every_visits = 0;     // every Nth visit in a month; 0 = none
  std::int64_t reward_points = 0;
};

// Parking, government fees, shops: a device-given amount.
struct PaymentRule {
  std::string id;
  ServiceKind kind = ServiceKind::shop;
  std::vector<OperatorId> operators;
  std::int64_t payment_max_minor = 0;        // single payment limit; > 0
  // One bonus point (card_bonus_points, never welfare points) per this much
  // paid from the wallet; 0 (default) = none. Partner shops only.
  std::int64_t bonus_spend_per_point_minor = 0;
  // A partner shop that takes bonus points: they pay first (whole points of
  // bonus.twd_minor_per_point), the wallet the rest; the bonus_points
  // programme pays the shop their TWD. false (default). Partner shops only.
  bool bonus_points_pay = false;
};

// A public bike: whole periods after the free minutes, at one price per
// period up to tier_after_minutes from the rent and another after it
// (YouBike 2.0E: 20 per 30 minutes for two hours, then 40). Riders of
// points_categories pay with points first (the welfare_points programme pays
// the operator), the rest from the wallet.
struct BikeRule {
  std::string id;
  std::vector<OperatorId> operators;
  std::int64_t free_minutes = 0;
  std::int64_t period_minutes = 30;
  std::int64_t fare_per_period_minor = 0;
  std::int64_t tier_after_minutes = 0;       // 0 = one price; else > free_minutes, whole periods after them
  std::int64_t fare_per_period_after_tier_minor = 0;
  std::int64_t rental_fare_max_minor = 0;    // 0 = none
  std::int64_t min_balance_to_rent_minor = 0;  // 0: the wallet may not be in debt
  CategoryMask points_categories = 0;        // who may pay with points; 0 = nobody
};
// The fare of a rental of `minutes` whole minutes.
std::int64_t bike_fare_minor(const BikeRule& rule, std::int64_t minutes) noexcept;

// Points per month by RiderCategory value.
using CategoryPoints = std::array<std::int64_t, rider_category_count + 1>;
inline constexpr std::int64_t allotment_not_given = -1;
constexpr CategoryPoints filled_allotment(std::int64_t value) noexcept {
  CategoryPoints points{};
  points.fill(value);
  return points;
}

// A district's own monthly allotment (Taoyuan: 1,000 points in Fuxing, 800
// elsewhere) for the categories it names; the others get the city's.
struct DistrictAllotment {
  std::uint16_t district = no_district;      // CardRecord::district, a postal code
  std::string name;
  CategoryPoints monthly_allotment = filled_allotment(allotment_not_given);
};

struct PointsRule {
  CategoryPoints monthly_allotment{};        // by RiderCategory value
  std::vector<DistrictAllotment> districts;  // at most one row per district
  std::int64_t twd_minor_per_point = 1;      // what the city pays an operator per point
  // A card's allotment for a month: its district's row for its category if
  // there is one, else the city's.
  std::int64_t allotment(RiderCategory category, std::uint16_t district) const noexcept;
};

struct WalletRule {
  std::int64_t wallet_max_minor = 10'000;
  std::int64_t top_up_max_minor = 10'000;
  // Most debt an offline tap may leave on a card; an offline charge past it
  // is refused offline_limit_exceeded (the operator's loss). Default 500.
  std::int64_t offline_debt_max_minor = 500;
  std::int64_t auto_top_up_threshold_minor = 0;   // top up when a charge would leave less; a card may set its own
  std::int64_t auto_top_up_amount_minor = 500;    // default; a card may set its own
  MediaMask auto_top_up_media = 0;
  // The most auto top-up money per card and business day when the card
  // office set no limit of its own; 0 (default): none.
  std::int64_t auto_top_up_daily_max_minor = 0;
  // The most wallet money a card of each category may pay per business day
  // through payment readers (Mode::pay: shops, parking, government fees),
  // by RiderCategory value; 0 (default): no limit. Over it a payment is
  // refused payment_daily_limit.
  std::array<std::int64_t, rider_category_count + 1> payment_daily_max_minor{};
};

// Bonus points ([bonus]): a balance of their own on each card account,
// apart from welfare points (engine/rules/bonus_points.h).
struct BonusRule {
  // What the bonus_points programme pays a shop per point spent. Default 1.
  std::int64_t twd_minor_per_point = 1;
  // Cashback of the co-branded credit card: bonus points per 10,000 minor
  // units paid from the wallet by a payment (Mode::pay) made with that
  // medium, rounded down; 0 (default) = none.
  std::int32_t cashback_bp = 0;
  // The balance expires at the end of the expiry_months-th local month after
  // the month of its latest earning (every earning extends the whole
  // balance); 0 (default) = never.
  std::int32_t expiry_months = 0;
};

// The leg rules that can match a leg of a network from one area to another
// (either may be no_index = unknown stop), in file order; built by finalize()
// so matching a leg reads a handful of rules instead of the whole table.
struct LegRuleBucket {
  Index network = no_index;
  Index from_area = no_index;
  Index to_area = no_index;
  std::uint32_t first = 0;   // into RuleSet::leg_rule_candidates
  std::uint32_t count = 0;
  auto key() const { return std::tuple(network, from_area, to_area); }
};

// Stop -> area, sorted for binary search (built by finalize()).
struct StopArea {
  Index network = no_index;
  std::uint32_t stop = 0;
  Index area = no_index;
  auto operator<=>(const StopArea&) const = default;
};

struct RuleSet {
  std::uint32_t version = 0;                // > 0; recorded on every transfer
  std::string name;
  std::string currency = "TWD";
  std::int32_t utc_offset_minutes = 0;      // fixed local offset, Asia/Taipei = +480
  std::int32_t business_day_start_minutes = 3 * 60;  // local time a business day begins
  // The business day (named by its starting date, days since 1970-01-01)
  // from which this version rates taps; rule_book.h. None: the engine's
  // first version, rating everything before the next one.
  std::optional<std::int32_t> effective_from_day;

  std::vector<OperatorRule> operators;
  std::vector<Network> networks;
  std::vector<Area> areas;
  std::vector<FareProduct> products;
  std::vector<Timeframe> timeframes;
  std::vector<std::string> leg_groups;
  std::vector<LegRule> leg_rules;
  std::vector<TransferRule> transfer_rules;
  std::vector<Discount> discounts;
  std::vector<FareCap> caps;
  std::vector<Venue> venues;
  std::vector<PaymentRule> payments;
  std::vector<BikeRule> bikes;
  PointsRule points;
  WalletRule wallet;
  BonusRule bonus;

  // Built by finalize(); the loader calls it.
  std::vector<StopArea> stop_areas;
  std::vector<LegRuleBucket> leg_rule_buckets;   // sorted by key()
  std::vector<Index> leg_rule_candidates;
  void finalize();
  const LegRuleBucket* find_leg_rule_bucket(Index network, Index from_area, Index to_area) const noexcept;

  // Lookups used by rating; nullptr / no_index when absent.
  const OperatorRule* find_operator(OperatorId id) const noexcept;
  Index find_network(OperatorId id, std::uint32_t route, ServiceKind kind) const noexcept;
  Index find_area(Index network, std::uint32_t stop) const noexcept;
  const Venue* find_venue(OperatorId id) const noexcept;
  const PaymentRule* find_payment(OperatorId id) const noexcept;
  const BikeRule* find_bike(OperatorId id) const noexcept;
  Index find_index(const std::vector<std::string>& ids, std::string_view id) const noexcept;
};

// A product's price for a category and medium; nullopt when no row applies.
std::optional<std::int64_t> product_price(const FareProduct& product, RiderCategory category, Media media) noexcept;

}  // namespace citycard::rules
