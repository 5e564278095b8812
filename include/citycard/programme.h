// City programmes: what the city pays operators for, one budget and one
// transfer code each, so that the cost of each is visible per operator and
// per day (settlement files' `P` records, `citycard report programmes`).
//
// Rating splits the city's share of a leg in a fixed order (docs/rules.md,
// engine/rules/programme_split.h). `unattributed` is what ledgers written
// before programmes existed carry (`subsidy` from `subsidy_budget`); nothing
// posts it new, except the refund of such a payment on a journey that was
// open when the engine was upgraded.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "citycard/transfer.h"

namespace citycard {

// Stable numbers: they are stored (card state's open journeys).
enum class Programme : std::uint8_t {
  unattributed = 0,       // before programmes: TransferCode::subsidy, subsidy_budget
  buy_one_get_one = 1,    // the city pays a segment bus ride's units after the first
  category_fare = 2,      // student / senior / disability / ... price below the general fare
  citizen_discount = 3,   // city-funded percentage discounts (rules [[discounts]], funded_by city)
  transfer_discount = 4,  // transfer prices below the leg's own price (rules [[transfer_rules]])
  fare_cap = 5,           // the rider's price above a daily / monthly cap (rules [[caps]])
  welfare_points = 6,     // points redeemed at venues, paid to the operator in TWD
  railway_subsidy = 7,    // points spent on a railway trip, paid to the railway in TWD
  bonus_points = 8,       // bonus points spent at a partner shop, paid to the shop in TWD
};
inline constexpr std::size_t programme_count = 9;

// Amounts per programme, indexed by the programme's number.
using ProgrammeAmounts = std::array<std::int64_t, programme_count>;

// All programmes in their number order: the fixed order of files and reports.
constexpr std::array<Programme, programme_count> all_programmes() noexcept {
  std::array<Programme, programme_count> list{};
  for (std::size_t i = 0; i < programme_count; ++i) list[i] = static_cast<Programme>(i);
  return list;
}

constexpr std::size_t programme_index(Programme programme) noexcept { return static_cast<std::size_t>(programme); }

constexpr std::string_view programme_name(Programme programme) noexcept {
  switch (programme) {
    case Programme::unattributed: return "unattributed";
    case Programme::buy_one_get_one: return "buy_one_get_one";
    case Programme::category_fare: return "category_fare";
    case Programme::citizen_discount: return "citizen_discount";
    case Programme::transfer_discount: return "transfer_discount";
    case Programme::fare_cap: return "fare_cap";
    case Programme::welfare_points: return "welfare_points";
    case Programme::railway_subsidy: return "railway_subsidy";
    case Programme::bonus_points: return "bonus_points";
  }
  return "?";
}

inline std::optional<Programme> parse_programme(std::string_view text) noexcept {
  for (Programme programme : all_programmes())
    if (programme_name(programme) == text) return programme;
  return std::nullopt;
}

// The code a programme's payments (and refunds) carry.
constexpr TransferCode programme_code(Programme programme) noexcept {
  switch (programme) {
    case Programme::unattributed: return TransferCode::subsidy;
    case Programme::buy_one_get_one: return TransferCode::subsidy_buy_one_get_one;
    case Programme::category_fare: return TransferCode::subsidy_category_fare;
    case Programme::citizen_discount: return TransferCode::subsidy_citizen_discount;
    case Programme::transfer_discount: return TransferCode::subsidy_transfer_discount;
    case Programme::fare_cap: return TransferCode::subsidy_fare_cap;
    case Programme::welfare_points: return TransferCode::points_subsidy;
    case Programme::railway_subsidy: return TransferCode::subsidy_railway;
    case Programme::bonus_points: return TransferCode::subsidy_bonus_points;
  }
  return TransferCode::subsidy;
}

// The programme a transfer code pays for; nullopt for codes that are no
// city programme (fares, top-ups, ...).
constexpr std::optional<Programme> programme_of(TransferCode code) noexcept {
  for (Programme programme : all_programmes())
    if (programme_code(programme) == code) return programme;
  return std::nullopt;
}

// The budget account a programme pays from.
constexpr AccountRole programme_budget_role(Programme programme) noexcept {
  switch (programme) {
    case Programme::unattributed: return AccountRole::subsidy_budget;
    case Programme::buy_one_get_one: return AccountRole::budget_buy_one_get_one;
    case Programme::category_fare: return AccountRole::budget_category_fare;
    case Programme::citizen_discount: return AccountRole::budget_citizen_discount;
    case Programme::transfer_discount: return AccountRole::budget_transfer_discount;
    case Programme::fare_cap: return AccountRole::budget_fare_cap;
    case Programme::welfare_points: return AccountRole::budget_welfare_points;
    case Programme::railway_subsidy: return AccountRole::budget_railway;
    case Programme::bonus_points: return AccountRole::budget_bonus_points;
  }
  return AccountRole::subsidy_budget;
}

// Whether a role is a city budget (the legacy one or a programme's).
constexpr bool is_city_budget_role(AccountRole role) noexcept {
  for (Programme programme : all_programmes())
    if (programme_budget_role(programme) == role) return true;
  return false;
}

static_assert(programme_of(TransferCode::subsidy) == Programme::unattributed);
static_assert(programme_of(TransferCode::points_subsidy) == Programme::welfare_points);
static_assert(!programme_of(TransferCode::fare).has_value());
static_assert(programme_of(programme_code(Programme::bonus_points)) == Programme::bonus_points);

}  // namespace citycard
