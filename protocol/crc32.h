// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of a
// frame's payload. Same values as zlib's crc32() and Python's zlib.crc32.
#pragma once

#include <cstddef>
#include <cstdint>

namespace citycard::protocol {

std::uint32_t crc32(const std::uint8_t* data, std::size_t size) noexcept;

}  // namespace citycard::protocol
