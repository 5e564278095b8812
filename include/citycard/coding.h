// Bytes to integers and back, for every format citycard writes: the ledger's
// keys and values, the reader <-> engine frames, the card's APDUs, record and
// proof, card states, the reader agent's journal and files. One definition of
// each encoding, so two formats that say "u32 little-endian" or "CRC-32" mean
// the same bytes (LevelDB's util/coding.h is the model).
//
// fixed     := T in little-endian (le) or big-endian (be) byte order, sizeof(T)
//              bytes; T is any integer of 1, 2, 4 or 8 bytes, signed ones in
//              two's complement. Big-endian where byte order must be numeric
//              order (RocksDB keys) or a format says so (the card's, the agent's).
// varint    := LEB128: 7 bits a byte, low group first, high bit set on every
//              byte but the last; at most varint_bytes_max bytes for 64 bits.
//              Overlong forms (0x80 0x00 for 0) are read, never written.
// zigzag    := a signed integer mapped to unsigned so small magnitudes of
//              either sign make short varints: 0 -> 0, -1 -> 1, 1 -> 2, ...
// crc32     := CRC-32/ISO-HDLC, as zlib, Ethernet and PNG compute it
//              (reflected polynomial 0xEDB88320, init and final xor ~0;
//              "123456789" -> 0xCBF43926). The only checksum of the formats.
//
// Reader is a cursor that refuses to read past the end of its bytes: a short
// read consumes nothing, yields zero and fails the reader for good, so a
// decoder reads a whole record and checks ok() once. Failures are values
// (Problem), never exceptions. Writer appends to a std::string or a
// std::vector<std::uint8_t>. Standard library only; nothing here allocates
// except the containers it appends to.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string_view>
#include <type_traits>

namespace citycard::coding {

template <typename T>
concept Fixed = std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);

// A container of bytes: std::string (RocksDB values) or std::vector<std::uint8_t>.
template <typename Out>
concept ByteContainer = sizeof(typename Out::value_type) == 1 && requires(Out& out) { out.push_back({}); };

using ByteSpan = std::span<const std::uint8_t>;

inline ByteSpan bytes_of(std::string_view text) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// --- fixed width, at a place the caller has checked ------------------------

template <Fixed T>
constexpr void store_le(void* at, T value) noexcept {
  auto bits = static_cast<std::make_unsigned_t<T>>(value);
  auto* out = static_cast<unsigned char*>(at);
  for (std::size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<unsigned char>(bits >> (8 * i));
}
template <Fixed T>
constexpr void store_be(void* at, T value) noexcept {
  auto bits = static_cast<std::make_unsigned_t<T>>(value);
  auto* out = static_cast<unsigned char*>(at);
  for (std::size_t i = 0; i < sizeof(T); ++i) out[sizeof(T) - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
}
template <Fixed T>
constexpr T load_le(const void* at) noexcept {
  std::make_unsigned_t<T> bits = 0;
  const auto* in = static_cast<const unsigned char*>(at);
  for (std::size_t i = 0; i < sizeof(T); ++i) bits = static_cast<decltype(bits)>(bits | std::make_unsigned_t<T>(in[i]) << (8 * i));
  return static_cast<T>(bits);
}
template <Fixed T>
constexpr T load_be(const void* at) noexcept {
  std::make_unsigned_t<T> bits = 0;
  const auto* in = static_cast<const unsigned char*>(at);
  for (std::size_t i = 0; i < sizeof(T); ++i) bits = static_cast<decltype(bits)>(bits | std::make_unsigned_t<T>(in[sizeof(T) - 1 - i]) << (8 * i));
  return static_cast<T>(bits);
}

// --- appending --------------------------------------------------------------

template <ByteContainer Out>
void put_bytes(Out& out, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const typename Out::value_type*>(data);
  // A string's append is a plain copy; its insert takes the general replace
  // path (overlap checks and all), called for every field of every record.
  if constexpr (requires { out.append(bytes, size); }) {
    out.append(bytes, size);
  } else {
    out.insert(out.end(), bytes, bytes + size);
  }
}
template <ByteContainer Out>
void put_u8(Out& out, std::uint8_t value) {
  out.push_back(static_cast<typename Out::value_type>(value));
}
template <Fixed T, ByteContainer Out>
void put_le(Out& out, T value) {
  unsigned char bytes[sizeof(T)];
  store_le<T>(bytes, value);
  put_bytes(out, bytes, sizeof(T));
}
template <Fixed T, ByteContainer Out>
void put_be(Out& out, T value) {
  unsigned char bytes[sizeof(T)];
  store_be<T>(bytes, value);
  put_bytes(out, bytes, sizeof(T));
}

// --- varints and zigzag ------------------------------------------------------

inline constexpr std::size_t varint_bytes_max = 10;
// The most bytes a varint of an unsigned integer of `bits` bits takes.
constexpr std::size_t varint_bytes_for(std::size_t bits) { return (bits + 6) / 7; }
static_assert(varint_bytes_for(64) == varint_bytes_max);

// Writes value at `at`, which has room for varint_bytes_max bytes; returns how many it wrote.
constexpr std::size_t store_varint(void* at, std::uint64_t value) noexcept {
  auto* out = static_cast<unsigned char*>(at);
  std::size_t size = 0;
  for (; value >= 0x80; value >>= 7) out[size++] = static_cast<unsigned char>(value | 0x80);
  out[size++] = static_cast<unsigned char>(value);
  return size;
}
template <ByteContainer Out>
void put_varint(Out& out, std::uint64_t value) {
  if (value < 0x80) return put_u8(out, static_cast<std::uint8_t>(value));  // most counts, codes and ids of a record
  unsigned char bytes[varint_bytes_max];
  put_bytes(out, bytes, store_varint(bytes, value));
}

template <std::signed_integral S>
constexpr std::make_unsigned_t<S> zigzag(S value) noexcept {
  using U = std::make_unsigned_t<S>;
  return static_cast<U>(static_cast<U>(static_cast<U>(value) << 1) ^ static_cast<U>(value >> (8 * sizeof(S) - 1)));
}
template <std::signed_integral S>
constexpr S unzigzag(std::make_unsigned_t<S> bits) noexcept {
  using U = std::make_unsigned_t<S>;
  return static_cast<S>(static_cast<U>((bits >> 1) ^ (U{0} - (bits & 1u))));
}
static_assert(zigzag<std::int64_t>(-1) == 1 && zigzag<std::int64_t>(1) == 2 && unzigzag<std::int32_t>(3) == -2);
static_assert(unzigzag<std::int64_t>(zigzag(std::numeric_limits<std::int64_t>::min())) ==
              std::numeric_limits<std::int64_t>::min());

// Why a read failed.
enum class Problem : std::uint8_t {
  none = 0,
  truncated,        // fewer bytes left than the field needs
  varint_too_long,  // a varint with its continuation bit set on its 10th byte
  varint_overflow,  // a varint whose value does not fit the integer asked for
};
constexpr const char* problem_text(Problem problem) noexcept {
  switch (problem) {
    case Problem::none: return "none";
    case Problem::truncated: return "truncated";
    case Problem::varint_too_long: return "varint longer than 10 bytes";
    case Problem::varint_overflow: return "varint overflows its integer";
  }
  return "?";
}

struct Varint {
  std::uint64_t value = 0;   // 0 unless problem is none
  std::size_t bytes = 0;     // how many it took (0 on a problem)
  Problem problem = Problem::none;
};

// The varint at the front of `in`, which must fit an unsigned integer of `bits` bits.
constexpr Varint load_varint(ByteSpan in, unsigned bits = 64) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < varint_bytes_max; ++i) {
    if (i == in.size()) return {0, 0, Problem::truncated};
    const std::uint8_t byte = in[i];
    if (i + 1 == varint_bytes_max && byte > 1) {
      return {0, 0, (byte & 0x80) != 0 ? Problem::varint_too_long : Problem::varint_overflow};
    }
    value |= std::uint64_t{byte & 0x7Fu} << (7 * i);
    if ((byte & 0x80) == 0) {
      if (bits < 64 && value >> bits != 0) return {0, 0, Problem::varint_overflow};
      return {value, i + 1, Problem::none};
    }
  }
  return {0, 0, Problem::varint_too_long};  // not reached: the 10th byte decides above
}

// --- CRC-32 ------------------------------------------------------------------

namespace detail {
// Slicing-by-8: tables[k][b] is the CRC of byte b followed by k zero bytes,
// so eight bytes fold in with eight independent lookups (frames are
// checksummed on both ends of every tap).
using Crc32Tables = std::array<std::array<std::uint32_t, 256>, 8>;
constexpr Crc32Tables make_crc32_tables() {
  Crc32Tables tables{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t value = i;
    for (int bit = 0; bit < 8; ++bit) value = (value & 1u) ? 0xEDB88320u ^ (value >> 1) : value >> 1;
    tables[0][i] = value;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t i = 0; i < 256; ++i) tables[k][i] = (tables[k - 1][i] >> 8) ^ tables[0][tables[k - 1][i] & 0xFFu];
  }
  return tables;
}
inline constexpr Crc32Tables crc32_tables = make_crc32_tables();
}  // namespace detail

// The CRC of (the bytes `crc` is the CRC of) followed by data: extending the
// CRC of nothing (0) gives crc32(data), as zlib's crc32(crc, data, size).
inline std::uint32_t crc32_extend(std::uint32_t crc, const void* data, std::size_t size) noexcept {
  const auto& t = detail::crc32_tables;
  const auto* at = static_cast<const unsigned char*>(data);
  std::uint32_t value = ~crc;
  for (; size >= 8; at += 8, size -= 8) {
    const std::uint32_t low = load_le<std::uint32_t>(at) ^ value;
    const std::uint32_t high = load_le<std::uint32_t>(at + 4);
    value = t[7][low & 0xFFu] ^ t[6][(low >> 8) & 0xFFu] ^ t[5][(low >> 16) & 0xFFu] ^ t[4][low >> 24] ^
            t[3][high & 0xFFu] ^ t[2][(high >> 8) & 0xFFu] ^ t[1][(high >> 16) & 0xFFu] ^ t[0][high >> 24];
  }
  for (; size > 0; ++at, --size) value = t[0][(value ^ *at) & 0xFFu] ^ (value >> 8);
  return ~value;
}
inline std::uint32_t crc32(const void* data, std::size_t size) noexcept { return crc32_extend(0, data, size); }
inline std::uint32_t crc32(ByteSpan bytes) noexcept { return crc32(bytes.data(), bytes.size()); }

// --- cursors -----------------------------------------------------------------

class Reader {
 public:
  explicit Reader(ByteSpan in) noexcept : in_(in) {}
  explicit Reader(std::string_view in) noexcept : in_(bytes_of(in)) {}

  std::uint8_t u8() noexcept { return take(1) ? in_[position_ - 1] : 0; }
  template <Fixed T>
  T le() noexcept { return take(sizeof(T)) ? load_le<T>(in_.data() + position_ - sizeof(T)) : T{}; }
  template <Fixed T>
  T be() noexcept { return take(sizeof(T)) ? load_be<T>(in_.data() + position_ - sizeof(T)) : T{}; }
  // A varint that must fit U (unsigned).
  template <std::unsigned_integral U = std::uint64_t>
  U varint() noexcept {
    if (!ok()) return 0;
    const Varint read = load_varint(in_.subspan(position_), 8 * sizeof(U));
    if (read.problem != Problem::none) {
      fail(read.problem == Problem::truncated ? in_.size() : position_, read.problem);
      return 0;
    }
    position_ += read.bytes;
    return static_cast<U>(read.value);
  }
  // The next `size` bytes (empty when fewer are left).
  ByteSpan bytes(std::size_t size) noexcept { return take(size) ? in_.subspan(position_ - size, size) : ByteSpan{}; }
  std::string_view chars(std::size_t size) noexcept {
    const ByteSpan taken = bytes(size);
    return {reinterpret_cast<const char*>(taken.data()), taken.size()};
  }
  // Copies the next `size` bytes to out; false (copying nothing) when fewer are left.
  bool copy(void* out, std::size_t size) noexcept {
    if (!take(size)) return false;
    if (size != 0) std::memcpy(out, in_.data() + position_ - size, size);
    return true;
  }
  ByteSpan rest() noexcept { return bytes(remaining()); }

  bool ok() const noexcept { return problem_ == Problem::none; }
  Problem problem() const noexcept { return problem_; }
  // Where the first failed read started (a truncated one: the end of the bytes).
  std::size_t problem_at() const noexcept { return problem_at_; }
  std::size_t position() const noexcept { return position_; }
  std::size_t remaining() const noexcept { return in_.size() - position_; }
  bool at_end() const noexcept { return position_ == in_.size(); }

 private:
  bool take(std::size_t size) noexcept {
    if (!ok()) return false;
    if (remaining() < size) {
      fail(in_.size(), Problem::truncated);
      return false;
    }
    position_ += size;
    return true;
  }
  void fail(std::size_t at, Problem problem) noexcept {
    problem_ = problem;
    problem_at_ = at;
  }

  ByteSpan in_;
  std::size_t position_ = 0;
  Problem problem_ = Problem::none;
  std::size_t problem_at_ = 0;
};

template <ByteContainer Out>
class Writer {
 public:
  explicit Writer(Out& out) noexcept : out_(out) {}
  void u8(std::uint8_t value) { put_u8(out_, value); }
  template <Fixed T>
  void le(T value) { put_le<T>(out_, value); }
  template <Fixed T>
  void be(T value) { put_be<T>(out_, value); }
  void varint(std::uint64_t value) { put_varint(out_, value); }
  void bytes(const void* data, std::size_t size) { put_bytes(out_, data, size); }
  void bytes(ByteSpan data) { bytes(data.data(), data.size()); }
  std::size_t size() const noexcept { return out_.size(); }

 private:
  Out& out_;
};

}  // namespace citycard::coding
