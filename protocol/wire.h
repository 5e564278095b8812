// Little-endian field writers and bounds-checked readers for the codec.
// Internal to protocol/: the grammar lives in frame.h and messages.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace citycard::protocol::wire {

class Writer {
 public:
  explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}
  void u8(std::uint8_t value) { out_.push_back(value); }
  void u16(std::uint16_t value) { little_endian(value, 2); }
  void u32(std::uint32_t value) { little_endian(value, 4); }
  void u64(std::uint64_t value) { little_endian(value, 8); }
  void i64(std::int64_t value) { u64(static_cast<std::uint64_t>(value)); }
  void bytes(const std::uint8_t* data, std::size_t size) { out_.insert(out_.end(), data, data + size); }

 private:
  void little_endian(std::uint64_t value, int count) {
    for (int i = 0; i < count; ++i) out_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  }
  std::vector<std::uint8_t>& out_;
};

// Every read checks the remaining length first; a failed read leaves the
// reader failed (ok() false) and yields zeros, so a decoder can read a whole
// record and check once.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> input) : input_(input) {}
  bool ok() const noexcept { return ok_; }
  std::size_t remaining() const noexcept { return input_.size() - position_; }

  std::uint8_t u8() { return static_cast<std::uint8_t>(little_endian(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(little_endian(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(little_endian(4)); }
  std::uint64_t u64() { return little_endian(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  // Copies size bytes into out; fails (copying nothing) if fewer remain.
  bool bytes(std::uint8_t* out, std::size_t size) {
    if (!take(size)) return false;
    if (size != 0) std::memcpy(out, input_.data() + position_ - size, size);
    return true;
  }

 private:
  bool take(std::size_t size) {
    if (!ok_ || remaining() < size) {
      ok_ = false;
      return false;
    }
    position_ += size;
    return true;
  }
  std::uint64_t little_endian(int count) {
    if (!take(static_cast<std::size_t>(count))) return 0;
    std::uint64_t value = 0;
    const std::uint8_t* at = input_.data() + position_ - count;
    for (int i = 0; i < count; ++i) value |= std::uint64_t{at[i]} << (8 * i);
    return value;
  }

  std::span<const std::uint8_t> input_;
  std::size_t position_ = 0;
  bool ok_ = true;
};

}  // namespace citycard::protocol::wire
