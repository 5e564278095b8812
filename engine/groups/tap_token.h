// The keyed token that stands for a card in an anonymised tap record
// (tap_retention.h): the same card under the same key always gives the same
// token, so a month of an anonymised card's taps still counts one rider,
// but without the key nobody can tell which card it was.
//
//   token = first tap_token_bytes of HMAC-SHA256(key, "citycard tap record token v1" 0x00 card bytes)
//
// The label keeps these tokens apart from the settlement files' card tokens
// (settlement/keys.h) even if one key file were configured for both.
// Whoever holds the key and the card list can find a token's card again
// (pseudonymous, not anonymous, to the card office); destroying the key
// after the records' keep period leaves no way back.
//
// Key file: 64 hex digits (32 bytes) and a newline, mode 0600 (refused if
// group or others may read it), made once by `citycard records token-key
// --create` and never overwritten. The key is never logged nor written
// anywhere else.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "citycard/ids.h"
#include "citycard/status.h"

namespace citycard::engine {

inline constexpr std::size_t tap_token_bytes = 16;  // 128 bits: no two of a city's cards collide
inline constexpr std::size_t tap_token_key_bytes = 32;
static_assert(tap_token_bytes <= CardId::bytes_max, "a token is stored where the card id was");

class TapTokenKey {
 public:
  explicit TapTokenKey(const std::array<std::uint8_t, tap_token_key_bytes>& bytes) : bytes_(bytes) {}
  // The token of `card`, as a CardId of tap_token_bytes bytes.
  CardId token(const CardId& card) const;

 private:
  std::array<std::uint8_t, tap_token_key_bytes> bytes_;
};

// not_found (naming the file and the command that makes it), invalid_argument
// for a file that is not 64 hex digits or that group or others may read.
Result<TapTokenKey> load_tap_token_key(const std::string& path);
// A new random key in a new file of mode 0600; already_exists if the file is
// there (a key is never replaced: tokens made with it would no longer match).
Status create_tap_token_key(const std::string& path);

}  // namespace citycard::engine
