// Acknowledgements from the clearing house, one per batch file (grammar at the
// top of ack.cpp and in docs/settlement-format.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "business_day.h"
#include "citycard/status.h"
#include "citycard/time.h"

namespace citycard::settlement {

// An acknowledgement file larger than this is refused unread.
inline constexpr std::size_t ack_bytes_max = 16u << 20;

struct AckItem {
  bool whole_batch = false;        // "B": the batch as a whole; "R": one line
  std::uint64_t line_number = 0;   // "R" only
  std::string tap_id;              // "R" only
  std::string reason_code;
  std::string reason_text;
};

struct Ack {
  std::uint32_t operator_id = 0;
  BusinessDay day;
  std::uint32_t sequence = 0;
  std::string file_sha256;   // of the batch file acknowledged, lower-case hex
  bool accepted = false;
  EventTime acknowledged_at;
  std::vector<AckItem> items;  // empty if and only if accepted
};

Result<Ack> parse_ack(std::string_view text);
std::string format_ack(const Ack& ack, const DayConfig& config);

// "2024-03-06T10:00:00+08:00", "2024-03-06T02:00:00.5Z": ISO 8601 with a
// fraction of up to 6 digits and a zone of Z or +HH:MM / -HH:MM within
// -14:00..+14:00; an instant from 1970-01-02 to 9999-12-30 (UTC), so that
// its local date in any zone is a BusinessDay.
Result<EventTime> parse_time(std::string_view text);

}  // namespace citycard::settlement
