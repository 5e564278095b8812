// Every limit has a name and a home; units last.
#pragma once

#include <cstddef>
#include <cstdint>

namespace citycard::limits {

// Ledger
inline constexpr std::size_t batch_groups_max = 8192;         // posting groups in one synced write
inline constexpr std::size_t group_transfers_max = 16;        // transfers linked in one group
inline constexpr std::int64_t transfer_amount_minor_max = 100'000'000;  // 1M TWD at minor unit 1/100
inline constexpr std::size_t history_page_max = 1000;         // entries in one history page

// Engine and wire
inline constexpr std::size_t frame_bytes_max = 64 * 1024;
inline constexpr std::size_t batch_taps_max = 512;            // taps in one wire frame
inline constexpr std::size_t queue_depth_max = 65536;         // taps waiting in one shard

// Card office
// A refund of more than this waits for a second supervisor (four eyes,
// engine/groups/approvals.h); [admin] four_eyes_minor in the engine's config,
// --four-eyes-minor for the CLI on a stopped ledger. 0 = every refund at once.
inline constexpr std::int64_t four_eyes_minor_default = 1000;  // TWD minor units
// Business days one usage report may cover (`citycard report usage`): a
// quarter. The report keeps a set of card ids per group, so its memory grows
// with the range; a longer question is several reports.
inline constexpr std::int32_t report_days_max = 92;

}  // namespace citycard::limits
