// The decision a reader was given, as stored in the ledger with its tap's
// posting group (PostingGroup::outcome), so a resend gets it back. Format,
// little endian, fixed 40 bytes:
//
//   decision := format:u8 (= 1)  reader:u32  sequence:u64  outcome:u8 (1|2)
//               reason:u8  fare_minor:i64  balance_after_minor:i64
//               points_after:i64  flags:u8 (DecisionFlags, without replayed;
//               bit 7: the tap was submitted flagged offline -- never sent)
#pragma once

#include <string>
#include <string_view>

#include "citycard/status.h"
#include "protocol/messages.h"

namespace citycard::engine {

inline constexpr std::uint8_t decision_format_version = 1;
inline constexpr std::size_t decision_bytes = 1 + 4 + 8 + 1 + 1 + 8 + 8 + 8 + 1;
static_assert(decision_bytes == 40);

// Stored only: the decision was made for a submission flagged offline. A
// later offline resubmission of a tap refused online is charged as service
// given (docs/readers.md, "Late answers"); one refused offline is not.
inline constexpr std::uint8_t decided_offline_flag = 0x80;

struct StoredDecision {
  protocol::DecisionRecord decision;  // as the reader was told (no stored-only bits)
  bool offline_submission = false;
};

std::string encode_decision(const protocol::DecisionRecord& decision, bool offline_submission = false);
// corruption when the bytes are not a decision of this format.
Result<StoredDecision> decode_stored_decision(std::string_view bytes);
Result<protocol::DecisionRecord> decode_decision(std::string_view bytes);

}  // namespace citycard::engine
