// Small types shared by the rule set, the card state and the rating.
#pragma once

#include <cstdint>
#include <string_view>

#include "citycard/limits.h"
#include "citycard/tap.h"

namespace citycard::rules {

// An index into one of the rule set's tables; no_index = none.
using Index = std::uint16_t;
inline constexpr Index no_index = 0xFFFF;

// One bit per RiderCategory (bit = value - 1) and per Media.
using CategoryMask = std::uint8_t;
using MediaMask = std::uint8_t;
inline constexpr CategoryMask all_categories = (1u << rider_category_count) - 1;
inline constexpr MediaMask all_media = 0x07;
constexpr CategoryMask category_bit(RiderCategory category) noexcept {
  return static_cast<CategoryMask>(1u << (static_cast<unsigned>(category) - 1));
}
constexpr MediaMask media_bit(Media media) noexcept {
  return static_cast<MediaMask>(1u << (static_cast<unsigned>(media) - 1));
}

// A rating never produces more postings than one ledger group may link.
inline constexpr std::size_t rating_postings_max = limits::group_transfers_max;
// Explanation notes kept per rating; more are dropped (Rating::notes_truncated).
inline constexpr std::size_t rating_notes_max = 16;
// Business days and months of cap accumulators a card keeps, for late taps.
inline constexpr std::size_t cap_days_kept = 8;
inline constexpr std::size_t cap_months_kept = 3;
// Recent transit legs a card keeps for transfers with late taps.
inline constexpr std::size_t legs_kept = 4;
// Rule set table sizes are bounded by Index.
inline constexpr std::size_t rule_table_rows_max = no_index - 1;

// Proposed addition to citycard::RefusalReason (reported to the lead): a
// rent or entry while the card already has one open. Same wire width.
inline constexpr RefusalReason refusal_journey_already_open = RefusalReason::journey_already_open;
std::string_view refusal_name(RefusalReason reason) noexcept;

}  // namespace citycard::rules
