// ISO 7816-4 short APDUs: command encoding/parsing and response parsing.
//
// command  := CLA INS P1 P2 [Lc data[Lc]] [Le]      (case 1..4, short form only)
// response := data[*] SW1 SW2
//
// Lc is 1..255 and Le 1..256 (encoded 00 for 256). Extended length is not
// used by the citycard application and is rejected as invalid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bytes.h"
#include "citycard/status.h"

namespace citycard::card {

struct CommandApdu {
  std::uint8_t cla = 0;
  std::uint8_t ins = 0;
  std::uint8_t p1 = 0;
  std::uint8_t p2 = 0;
  Bytes data;                          // empty = no Lc field
  std::optional<std::uint16_t> le;     // expected length 1..256; nullopt = no Le field

  bool operator==(const CommandApdu&) const = default;
};

// The bytes for transmission; invalid_argument if data > 255 bytes or Le is 0 or > 256.
Result<Bytes> encode_command(const CommandApdu& command);
// Parses what a card receives; invalid_argument names the malformed field.
Result<CommandApdu> parse_command(ByteView bytes);

// Status words the citycard application and the reader use.
namespace sw {
inline constexpr std::uint16_t ok = 0x9000;
inline constexpr std::uint16_t wrong_length = 0x6700;
inline constexpr std::uint16_t security_not_satisfied = 0x6982;
inline constexpr std::uint16_t auth_method_blocked = 0x6983;  // transaction counter exhausted
inline constexpr std::uint16_t conditions_not_satisfied = 0x6985;  // e.g. READ DATA before SELECT
inline constexpr std::uint16_t function_not_supported = 0x6A81;
inline constexpr std::uint16_t file_not_found = 0x6A82;  // SELECT of an unknown AID
inline constexpr std::uint16_t incorrect_p1p2 = 0x6A86;
inline constexpr std::uint16_t ins_not_supported = 0x6D00;
inline constexpr std::uint16_t cla_not_supported = 0x6E00;
}  // namespace sw

struct ResponseApdu {
  Bytes data;
  std::uint16_t status_word = 0;
  bool ok() const noexcept { return status_word == sw::ok; }
};

// unavailable ("card lost") if fewer than 2 bytes arrived: that is how a card
// torn from the field shows up through PC/SC (recipe §5).
Result<ResponseApdu> parse_response(ByteView bytes);
Bytes encode_response(ByteView data, std::uint16_t status_word);
// "6A82 (file or application not found)"
std::string status_word_text(std::uint16_t status_word);

}  // namespace citycard::card
