// Byte strings and the big-endian helpers every card and file format here uses.
#pragma once

#include <cstddef>
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

inline void put_u16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
inline void put_u32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
inline void put_u64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
inline std::uint16_t get_u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t get_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
inline std::uint64_t get_u64(const std::uint8_t* p) {
  return (std::uint64_t{get_u32(p)} << 32) | get_u32(p + 4);
}

// Reads fields front to back; every read checks the remaining length, so a
// short buffer turns into ok() == false instead of an out-of-bounds read.
class ByteReader {
 public:
  explicit ByteReader(ByteView bytes) : bytes_(bytes) {}
  bool ok() const noexcept { return ok_; }
  std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
  std::uint8_t u8() { return need(1) ? bytes_[pos_++] : 0; }
  std::uint16_t u16() { return need(2) ? advance(2, get_u16(&bytes_[pos_])) : 0; }
  std::uint32_t u32() { return need(4) ? advance(4, get_u32(&bytes_[pos_])) : 0; }
  std::uint64_t u64() { return need(8) ? advance(8, get_u64(&bytes_[pos_])) : 0; }
  // A view of the next n bytes (empty view when too short).
  ByteView take(std::size_t n) {
    if (!need(n)) return {};
    ByteView view = bytes_.subspan(pos_, n);
    pos_ += n;
    return view;
  }

 private:
  bool need(std::size_t n) {
    if (!ok_ || remaining() < n) ok_ = false;
    return ok_;
  }
  template <typename T>
  T advance(std::size_t n, T value) {
    pos_ += n;
    return value;
  }
  ByteView bytes_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace citycard::card
