// The decision a reader was given, as stored in the ledger with its tap's
// posting group (PostingGroup::outcome), so a resend gets it back. Written
// in format 2; format 1 (written before 2026-12) is still read.
//
//   format 2 := format:u8 (= 2)  reader:varint  sequence:varint  outcome:u8 (1|2)
//               reason:u8  fare_minor:svarint  balance_after_minor:svarint
//               points_after:svarint  flags:u8
//   format 1 := format:u8 (= 1)  reader:u32  sequence:u64  outcome:u8  reason:u8
//               fare_minor:i64  balance_after_minor:i64  points_after:i64  flags:u8
//               (little endian, fixed 40 bytes)
//
// Varints are LEB128, signed ones zigzag (coding.h): a typical decision takes
// ~18 bytes instead of 40, in every tap's idempotency entry (WAL, memtable,
// tables). flags are DecisionFlags without replayed; bit 7: the tap was
// submitted flagged offline (never sent to a reader).
#pragma once

#include <string>
#include <string_view>

#include "citycard/status.h"
#include "protocol/messages.h"

namespace citycard::engine {

inline constexpr std::uint8_t decision_format_version = 2;
inline constexpr std::uint8_t decision_format_fixed = 1;
inline constexpr std::size_t decision_fixed_bytes = 1 + 4 + 8 + 1 + 1 + 8 + 8 + 8 + 1;
static_assert(decision_fixed_bytes == 40);
inline constexpr std::size_t decision_bytes_max = 1 + 5 + 10 + 1 + 1 + 10 + 10 + 10 + 1;

// Stored only: the decision was made for a submission flagged offline. A
// later offline resubmission of a tap refused online is charged as service
// given (docs/readers.md, "Late answers"); one refused offline is not.
inline constexpr std::uint8_t decided_offline_flag = 0x80;

struct StoredDecision {
  protocol::DecisionRecord decision;  // as the reader was told (no stored-only bits)
  bool offline_submission = false;
};

// In format 2 (decision_format_version).
std::string encode_decision(const protocol::DecisionRecord& decision, bool offline_submission = false);
// corruption when the bytes are not a decision of format 1 or 2.
Result<StoredDecision> decode_stored_decision(std::string_view bytes);
Result<protocol::DecisionRecord> decode_decision(std::string_view bytes);

}  // namespace citycard::engine
