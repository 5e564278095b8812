// The decision a reader was given, as stored in the ledger with its tap's
// posting group (PostingGroup::outcome), so a resend gets it back. Format,
// little endian, fixed 40 bytes:
//
//   decision := format:u8 (= 1)  reader:u32  sequence:u64  outcome:u8 (1|2)
//               reason:u8  fare_minor:i64  balance_after_minor:i64
//               points_after:i64  flags:u8 (DecisionFlags, without replayed)
#pragma once

#include <string>
#include <string_view>

#include "citycard/status.h"
#include "protocol/messages.h"

namespace citycard::engine {

inline constexpr std::uint8_t decision_format_version = 1;
inline constexpr std::size_t decision_bytes = 1 + 4 + 8 + 1 + 1 + 8 + 8 + 8 + 1;
static_assert(decision_bytes == 40);

std::string encode_decision(const protocol::DecisionRecord& decision);
// corruption when the bytes are not a decision of this format.
Result<protocol::DecisionRecord> decode_decision(std::string_view bytes);

}  // namespace citycard::engine
