// A registered reader: the device a certificate belongs to, and what it is
// for. The engine refuses a tap its reader is not registered for
// (RefusalReason::reader_not_allowed); docs/readers.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "citycard/ids.h"
#include "citycard/tap.h"

namespace citycard {

enum class ReaderKind : std::uint8_t {
  bus_validator = 1,
  metro_gate = 2,
  bike_dock = 3,
  venue_gate = 4,         // pool, sports centre, taxi meter: priced entries
  identity_terminal = 5,  // library, door, meeting sign-in
  shop_terminal = 6,
  parking_terminal = 7,
  top_up_machine = 8,
  office_desk = 9,        // the card office's counter
};
inline constexpr int reader_kind_count = 9;

enum class ReaderStatus : std::uint8_t {
  active = 1,
  suspended = 2,  // refused until reactivated (stolen, under repair)
  retired = 3,    // refused for good
};

// One bit per Mode (bit Mode - 1).
using ModeSet = std::uint16_t;
constexpr ModeSet mode_bit(Mode mode) noexcept { return static_cast<ModeSet>(1u << (static_cast<unsigned>(mode) - 1)); }

struct ReaderRecord {
  ReaderId id;
  OperatorId operator_id;
  ReaderKind kind = ReaderKind::bus_validator;
  ModeSet modes = 0;
  std::uint32_t route = 0;     // the route/line it serves; 0 = not fixed
  std::uint32_t location = 0;  // the stop, station, venue, shop or door; 0 = not fixed (a bus)
  // Most a pay or top_up tap may carry, minor units; 0 = only the rule set's limits.
  std::int64_t amount_max_minor = 0;
  // Most the reader may charge offline per business day, minor units; 0 =
  // no offline admissions that move money.
  std::int64_t offline_max_minor = 0;
  ReaderStatus status = ReaderStatus::active;
  bool operator==(const ReaderRecord&) const = default;
};

constexpr std::string_view reader_kind_name(ReaderKind kind) noexcept {
  switch (kind) {
    case ReaderKind::bus_validator: return "bus_validator";
    case ReaderKind::metro_gate: return "metro_gate";
    case ReaderKind::bike_dock: return "bike_dock";
    case ReaderKind::venue_gate: return "venue_gate";
    case ReaderKind::identity_terminal: return "identity_terminal";
    case ReaderKind::shop_terminal: return "shop_terminal";
    case ReaderKind::parking_terminal: return "parking_terminal";
    case ReaderKind::top_up_machine: return "top_up_machine";
    case ReaderKind::office_desk: return "office_desk";
  }
  return "?";
}

inline std::optional<ReaderKind> parse_reader_kind(std::string_view text) noexcept {
  for (int i = 1; i <= reader_kind_count; ++i) {
    auto kind = static_cast<ReaderKind>(i);
    if (reader_kind_name(kind) == text) return kind;
  }
  return std::nullopt;
}

constexpr std::string_view reader_status_name(ReaderStatus status) noexcept {
  switch (status) {
    case ReaderStatus::active: return "active";
    case ReaderStatus::suspended: return "suspended";
    case ReaderStatus::retired: return "retired";
  }
  return "?";
}

inline std::optional<ReaderStatus> parse_reader_status(std::string_view text) noexcept {
  for (int i = 1; i <= 3; ++i) {
    auto status = static_cast<ReaderStatus>(i);
    if (reader_status_name(status) == text) return status;
  }
  return std::nullopt;
}

}  // namespace citycard
