// Byte strings as the card formats hold them, and their hex text. Integers
// in them are written and read with citycard/coding.h.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace citycard::card {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// "04A1B2" -> {0x04, 0xA1, 0xB2}; spaces are ignored; nullopt on odd length or a non-hex digit.
std::optional<Bytes> parse_hex(std::string_view text);
// Upper-case hex without separators.
std::string to_hex(ByteView bytes);

}  // namespace citycard::card
