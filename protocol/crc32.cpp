#include "protocol/crc32.h"

#include <array>

namespace citycard::protocol {
namespace {

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t value = i;
    for (int bit = 0; bit < 8; ++bit) value = (value & 1u) ? 0xEDB88320u ^ (value >> 1) : value >> 1;
    table[i] = value;
  }
  return table;
}

constexpr auto table = make_table();

}  // namespace

std::uint32_t crc32(const std::uint8_t* data, std::size_t size) noexcept {
  std::uint32_t value = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) value = table[(value ^ data[i]) & 0xFFu] ^ (value >> 8);
  return value ^ 0xFFFFFFFFu;
}

}  // namespace citycard::protocol
