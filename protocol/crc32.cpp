#include "protocol/crc32.h"

#include <array>

namespace citycard::protocol {
namespace {

// Slicing-by-8: tables[k][b] is the CRC of byte b followed by k zero bytes,
// so eight bytes are folded in with eight lookups and no serial dependency
// between them (frames are hashed on both ends of every tap).
using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables tables{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t value = i;
    for (int bit = 0; bit < 8; ++bit) value = (value & 1u) ? 0xEDB88320u ^ (value >> 1) : value >> 1;
    tables[0][i] = value;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t i = 0; i < 256; ++i) {
      const std::uint32_t previous = tables[k - 1][i];
      tables[k][i] = (previous >> 8) ^ tables[0][previous & 0xFFu];
    }
  }
  return tables;
}

constexpr Tables tables = make_tables();

std::uint32_t load_le32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

}  // namespace

std::uint32_t crc32(const std::uint8_t* data, std::size_t size) noexcept {
  std::uint32_t value = 0xFFFFFFFFu;
  for (; size >= 8; data += 8, size -= 8) {
    const std::uint32_t low = load_le32(data) ^ value;
    const std::uint32_t high = load_le32(data + 4);
    value = tables[7][low & 0xFFu] ^ tables[6][(low >> 8) & 0xFFu] ^ tables[5][(low >> 16) & 0xFFu] ^
            tables[4][low >> 24] ^ tables[3][high & 0xFFu] ^ tables[2][(high >> 8) & 0xFFu] ^
            tables[1][(high >> 16) & 0xFFu] ^ tables[0][high >> 24];
  }
  for (; size > 0; ++data, --size) value = tables[0][(value ^ *data) & 0xFFu] ^ (value >> 8);
  return value ^ 0xFFFFFFFFu;
}

}  // namespace citycard::protocol
