// Internal to the card state codec (card_state_codec*.cpp) and its tests:
// the two format versions and the checks they share. Everyone else calls
// encode_card_state / decode_card_state (card_state.h), which write the
// current version and read both.
#pragma once

#include <string>
#include <string_view>

#include "card_state.h"

namespace citycard::rules::codec {

inline constexpr std::uint8_t version_fixed = 1;     // card_state_codec_v1.cpp: 496 bytes, fixed width
inline constexpr std::uint8_t version_compact = 2;   // card_state_codec_v2.cpp: varints, presence bits
static_assert(card_state_format_version == version_compact, "encode_card_state writes the compact version");

// Version 1. The engine only reads it (ledgers written before version 2);
// the encoder stays for tests. Both take and give the whole record,
// version byte included.
std::string encode_card_state_v1(const CardState& state);
Result<CardState> decode_card_state_v1(std::string_view bytes);

// Version 2. decode expects bytes[0] == version_compact.
std::string encode_card_state_v2(const CardState& state);
Result<CardState> decode_card_state_v2(std::string_view bytes);

// What both versions require of a decoded state beyond its syntax: known
// category, media and status; no negative auto top-up amount, cap
// accumulator or journey payment. ok, or the first problem as corruption.
Status check_card_state(const CardState& state);

// The message for a flag byte that is neither 0 nor 1 (v2 adds where).
inline constexpr char bad_flag_message[] = "card state has a flag that is neither 0 nor 1";

}  // namespace citycard::rules::codec
