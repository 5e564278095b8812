// What a tap must pass before it is rated, as pure functions (no I/O, no
// clock: the arrival time comes in as a value):
// - its reader is registered, active, and registered for this tap's mode,
//   operator, place and amount (RefusalReason::reader_not_allowed);
// - its event time is plausible: not further in the future than a clock
//   skew allows, not older than readers keep offline taps
//   (RefusalReason::event_time_invalid), so a tap dated in 2096 can never move
//   a monthly allotment or a cap window.
// And the registration rules the card office's `reader add` obeys.
// docs/readers.md describes the policy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "citycard/reader.h"
#include "citycard/status.h"
#include "citycard/tap.h"
#include "citycard/time.h"

namespace citycard::rules {

// The modes a kind of reader may be registered for. Only top-up machines and
// the card office's desks may top up.
ModeSet modes_for_kind(ReaderKind kind) noexcept;
// The kind a registration without --kind gets: the first kind whose modes
// cover `modes`; nullopt when none does.
std::optional<ReaderKind> default_kind_for(ModeSet modes) noexcept;
// invalid_argument naming the field for a registration the card office may
// not make. Whether the operator exists is the caller's to check.
Status validate_registration(const ReaderRecord& reader);

// A registration change the card office asks for, planned against what is
// registered now (`current`, nullopt: not registered): the registration after
// it and the audit line, or why not (invalid_argument, already_exists,
// not_found, refused). The one home of these rules for the engine and the
// CLI on a stopped ledger.
enum class ReaderChangeKind : std::uint8_t { add, set_status };
struct ReaderChange {
  ReaderRecord after;
  std::string audit;
};
Result<ReaderChange> plan_reader_change(ReaderChangeKind kind, const ReaderRecord& requested,
                                        const std::optional<ReaderRecord>& current, bool operator_registered);

// none when `reader` may send `tap`; reader_not_allowed otherwise (unknown
// reader = nullptr, not active, mode, operator, route, location or amount).
RefusalReason reader_refusal(const ReaderRecord* reader, const Tap& tap) noexcept;

struct EventTimeBounds {
  // How far a reader's clock may run ahead of the engine's. Default 5 minutes.
  std::int64_t future_skew_us = 5 * us_per_minute;
  // How old a tap may be when it reaches the engine: readers keep offline
  // taps this long (docs/readers.md). Default 7 days.
  std::int64_t offline_retention_us = 7 * us_per_day;
};

// none, or event_time_invalid when tap.event_time is outside
// [arrival - offline_retention, arrival + future_skew].
RefusalReason event_time_refusal(const Tap& tap, EventTime arrival, const EventTimeBounds& bounds) noexcept;

}  // namespace citycard::rules
