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
inline constexpr std::uint8_t version_programmes = 3;  // v2 + per-programme paid amounts of journeys
inline constexpr std::uint8_t version_limits = 4;  // v3 + the card's auto top-up limits and the wallet's day
inline constexpr std::uint8_t version_bonus = 5;   // v4 + the bonus points and their expiry month
static_assert(card_state_format_version == version_bonus, "encode_card_state writes version 5");

// Version 1. The engine only reads it (ledgers written before version 2);
// the encoder stays for tests. Both take and give the whole record,
// version byte included.
std::string encode_card_state_v1(const CardState& state);
Result<CardState> decode_card_state_v1(std::string_view bytes);

// Versions 2 and 3 (read by the engine, written by tests). decode
// expects bytes[0] == version_compact / version_programmes. Journeys read
// from v2 (and v1) have their subsidy under Programme::unattributed, and v2
// encoding drops the split the same way (tests compare against that).
std::string encode_card_state_v2(const CardState& state);
Result<CardState> decode_card_state_v2(std::string_view bytes);
std::string encode_card_state_v3(const CardState& state);
Result<CardState> decode_card_state_v3(std::string_view bytes);
// Version 4 (written): v3 and two optional groups. Encoding an older version
// drops those fields (the card's own threshold and daily limit, the wallet's day).
std::string encode_card_state_v4(const CardState& state);
Result<CardState> decode_card_state_v4(std::string_view bytes);
// Version 5 (written): v4 and one optional group. Encoding an older version
// drops it (the bonus points and their expiry month).
std::string encode_card_state_v5(const CardState& state);
Result<CardState> decode_card_state_v5(std::string_view bytes);

// What a journey stored before programmes reads as: its whole subsidy paid by
// Programme::unattributed.
void attribute_legacy_subsidy(CardState& state);

// What `state` reads back as after encoding it in an older `version`: the
// fields that version does not store at their defaults (v1/v2: journeys'
// programme split, as attribute_legacy_subsidy; before v4: the card's own
// threshold and daily limit, the wallet's day; before v5: the bonus points
// and their expiry month). bonus_account is never stored: it reads as true.
CardState as_stored_by(std::uint8_t version, CardState state);

// What every version requires of a decoded state beyond its syntax: known
// category, media and status; no negative auto top-up amount, cap
// accumulator, journey payment (programmes' included) or bonus points.
// ok, or the first problem as corruption.
Status check_card_state(const CardState& state);

// The message for a flag byte that is neither 0 nor 1 (v2 adds where).
inline constexpr char bad_flag_message[] = "card state has a flag that is neither 0 nor 1";

}  // namespace citycard::rules::codec
