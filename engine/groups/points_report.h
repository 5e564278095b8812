// `citycard report points`: the welfare points of a range of months, per
// month and rider category -- allotted, used, expired, rewarded -- and the
// distribution of use per card per month, read from the ledger's transfers
// on one snapshot (read-only, while the engine runs).
//
// A points month is the card's, as the rating keeps it (docs/rules.md,
// "Points month"): the local calendar month (the rule set's UTC offset,
// midnight on the 1st) of the card's newest approved tap. Every points
// transfer on a card's points account belongs to the card's points month
// when it was posted, which this report follows through the transfer log in
// sequence order (a card's transfers are posted in the order it was rated):
//   points_allotment, points_reward, points_redeemed and any other move
//     belong to max(the card's points month so far, the event's month): a
//     late offline tap from last month spends this month's points, and is
//     counted here;
//   points_expired belongs to the month whose leftover it ends, the card's
//     points month before the tap that posted it (the rating posts the
//     expiry at the card's first approved tap of a later month, lazily).
// So a month's `expired` grows after the month ends, as its cards tap again;
// its `left` (allotted + rewarded + other - used - expired) is what the
// cards still hold from it: the current month's points, or the leftover of
// a card that has not tapped since. Over every month of a card's history the
// `left` sum is its points balance.
//
// Category: the card's category (category_on, its eligibility as recorded
// now) on the business day of the month's first points transfer, which is
// the tap whose rating allotted the month (the rating allots by the category
// of the month's first approved tap).
//
// Distribution: the cards allotted points in a month (allotted > 0), by the
// points they used in that month: 0, 1-99, 100-299, 300-499, 500 or more
// but less than the allotment ("500+": 500-799 with an 800 allotment,
// 500-999 with Fuxing's 1,000, empty with 480), and "all" -- used at least
// the allotment (reward points can take use above it); "all" comes first,
// so a card allotted 80 that used 80 is "all", not "1-99". A card with no
// approved tap in a month got no allotment (the month is lazy) and is not in
// that month's distribution.
//
// Bonus points (partner shops, the co-branded card's cashback: a balance of
// their own, docs/rules.md "Bonus points") are not welfare points and are in
// none of the rows above: `bonus_rows` gives, per local month of the
// transfer's event time, the cards whose bonus points moved and what was
// earned, spent, expired and moved otherwise (a merge, a replacement, a
// correction: net).
//
// Cost: one pass over the whole transfer log (no index by event month),
// O(ledger); memory, one points month per card with points (12 bytes plus a
// hash node), and one entry per (month in the range, card with points in it).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "citycard/status.h"
#include "citycard/tap.h"
#include "ledger/ledger.h"

namespace citycard::engine {

// Months one points report may cover: a year. Its memory grows with the
// cards times the months.
inline constexpr std::int32_t points_report_months_max = 12;

// Local months, from YYYY-MM to YYYY-MM inclusive, as rules::month_key numbers
// (year * 12 + month - 1).
struct ReportMonths {
  std::int32_t from_month = 0;
  std::int32_t to_month = 0;
};
// invalid_argument naming the problem: not YYYY-MM, --from after --to, more
// than points_report_months_max months.
Result<ReportMonths> report_months(std::string_view from, std::string_view to);
std::string format_month(std::int32_t month);

// The buckets of use, in order.
inline constexpr std::array<std::string_view, 6> points_bucket_names = {"0", "1-99", "100-299", "300-499", "500+", "all"};
// The bucket of a card that used `used` of an allotment of `allotted` (> 0).
std::size_t points_use_bucket(std::int64_t used, std::int64_t allotted) noexcept;

struct PointsFigures {
  std::uint64_t cards = 0;           // cards with a points transfer in the month
  std::uint64_t allotted_cards = 0;  // of those, allotted points (the distribution's cards)
  std::int64_t allotted = 0;         // points_allotment
  std::int64_t used = 0;             // points_redeemed, spent at venues and taxis
  std::int64_t expired = 0;          // points_expired: the month's leftover, once the card tapped again
  std::int64_t rewarded = 0;         // points_reward: visits and partner shops
  std::int64_t other = 0;            // any other move on a card's points (net): a merge, a correction
  std::array<std::uint64_t, points_bucket_names.size()> buckets{};  // allotted cards by use

  std::int64_t left() const noexcept { return allotted + rewarded + other - used - expired; }
};

struct BonusFigures {
  std::uint64_t cards = 0;    // cards whose bonus points moved in the month
  std::int64_t earned = 0;    // bonus_points_earned: partner shops and cashback
  std::int64_t spent = 0;     // bonus_points_redeemed, at partner shops
  std::int64_t expired = 0;   // bonus_points_expired
  std::int64_t other = 0;     // any other move (net): a merge, a replacement, a correction

  std::int64_t net() const noexcept { return earned + other - spent - expired; }
};

struct PointsQuery {
  ReportMonths months;
  std::int32_t utc_offset_minutes = 0;  // the rule set's calendar
  std::int32_t business_day_start_minutes = 0;
};

struct PointsReport {
  PointsQuery query;
  // (month, category) -> figures; only pairs with a points transfer.
  std::map<std::pair<std::int32_t, RiderCategory>, PointsFigures> rows;
  PointsFigures total;  // every row (cards: card-months)
  // month -> bonus points figures; only months in which bonus points moved.
  std::map<std::int32_t, BonusFigures> bonus_rows;
  BonusFigures bonus_total;  // cards: card-months
  std::uint64_t transfers_scanned = 0;
};

Result<PointsReport> read_points_report(const ledger::Snapshot& snapshot, const PointsQuery& query);

}  // namespace citycard::engine
