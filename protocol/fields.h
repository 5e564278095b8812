// Field rules shared by the encoder and the decoder, so that what one writes
// the other accepts. Internal to protocol/. Each returns an empty string when
// the value is allowed, else the problem in words.
#pragma once

#include <cstdint>
#include <string>

#include "citycard/tap.h"
#include "protocol/messages.h"

namespace citycard::protocol::fields {

inline bool valid_media(std::uint8_t value) { return value >= 1 && value <= 3; }
inline bool valid_mode(std::uint8_t value) { return value >= 1 && value <= mode_count; }
inline bool valid_reason(std::uint8_t value) {
  return value <= static_cast<std::uint8_t>(refusal_reason_last);
}
inline bool valid_outcome(std::uint8_t value) { return value == 1 || value == 2; }
inline bool valid_retry_reason(std::uint8_t value) { return value >= 1 && value <= 4; }
inline bool valid_error_code(std::uint16_t value) { return value <= error_code_max; }

inline constexpr std::uint8_t tap_flag_offline = 0x01;

// An approved decision has no reason; a refused one must say why.
inline std::string decision_problem(const DecisionRecord& decision) {
  bool approved = decision.outcome == Outcome::approved;
  bool has_reason = decision.reason != RefusalReason::none;
  if (approved && has_reason) return "approved decision carries refusal reason " +
                                     std::to_string(static_cast<int>(decision.reason));
  if (!approved && !has_reason) return "refused decision has no refusal reason";
  return {};
}

}  // namespace citycard::protocol::fields
