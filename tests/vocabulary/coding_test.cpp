// The coding library: fixed-width integers in both byte orders, varints and
// zigzag, CRC-32, and a reader that never reads past the end. Known values to
// known bytes; the formats' own tests pin the bytes of each format.
#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "citycard/coding.h"

using namespace citycard::coding;

namespace {

std::string hex(const std::vector<std::uint8_t>& bytes) {
  std::string out;
  for (std::uint8_t b : bytes) out += "0123456789abcdef"[b >> 4], out += "0123456789abcdef"[b & 15];
  return out;
}

std::vector<std::uint8_t> varint_bytes(std::uint64_t value) {
  std::vector<std::uint8_t> out;
  put_varint(out, value);
  return out;
}

}  // namespace

TEST_CASE("coding: fixed-width integers in little- and big-endian order") {
  std::vector<std::uint8_t> out;
  put_u8(out, 0xAB);
  put_le<std::uint16_t>(out, 0x0102);
  put_le<std::uint32_t>(out, 0x01020304);
  put_le<std::uint64_t>(out, 0x0102030405060708);
  put_le<std::int64_t>(out, -2);
  CHECK(hex(out) == "ab" "0201" "04030201" "0807060504030201" "feffffffffffffff");
  out.clear();
  put_be<std::uint16_t>(out, 0x0102);
  put_be<std::uint32_t>(out, 0x01020304);
  put_be<std::uint64_t>(out, 0x0102030405060708);
  put_be<std::int32_t>(out, -2);
  CHECK(hex(out) == "0102" "01020304" "0102030405060708" "fffffffe");

  std::string text;   // RocksDB values are strings
  put_le<std::uint32_t>(text, 0x80FF0001);
  CHECK(text == std::string("\x01\x00\xFF\x80", 4));
  CHECK(load_le<std::uint32_t>(text.data()) == 0x80FF0001);
  CHECK(load_be<std::uint32_t>(text.data()) == 0x0100FF80);
  CHECK(load_le<std::int16_t>(text.data() + 2) == static_cast<std::int16_t>(0x80FF));

  unsigned char at[8] = {};
  store_be<std::uint64_t>(at, 0x1122334455667788);
  CHECK(load_be<std::uint64_t>(at) == 0x1122334455667788);
  CHECK(at[0] == 0x11);
  store_le<std::int64_t>(at, std::numeric_limits<std::int64_t>::min());
  CHECK(load_le<std::int64_t>(at) == std::numeric_limits<std::int64_t>::min());
  CHECK(at[7] == 0x80);
}

TEST_CASE("coding: varints have their LEB128 bytes and round-trip at every width") {
  CHECK(hex(varint_bytes(0)) == "00");
  CHECK(hex(varint_bytes(127)) == "7f");
  CHECK(hex(varint_bytes(128)) == "8001");
  CHECK(hex(varint_bytes(300)) == "ac02");
  CHECK(hex(varint_bytes(std::numeric_limits<std::uint64_t>::max())) == "ffffffffffffffffff01");
  for (unsigned bits = 0; bits < 64; ++bits) {
    for (std::uint64_t value : {std::uint64_t{1} << bits, (std::uint64_t{1} << bits) - 1, (std::uint64_t{1} << bits) + 1}) {
      const auto bytes = varint_bytes(value);
      CHECK(bytes.size() <= varint_bytes_for(bits + 1));
      const Varint read = load_varint(bytes);
      CHECK(read.problem == Problem::none);
      CHECK(read.value == value);
      CHECK(read.bytes == bytes.size());
    }
  }
  CHECK(zigzag<std::int64_t>(0) == 0);
  CHECK(zigzag<std::int64_t>(-1) == 1);
  CHECK(zigzag<std::int32_t>(std::numeric_limits<std::int32_t>::min()) == 0xFFFFFFFFu);
  CHECK(unzigzag<std::int64_t>(zigzag<std::int64_t>(std::numeric_limits<std::int64_t>::max())) ==
        std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("coding: a varint that is truncated, too long or too large is a problem, not a value") {
  const std::vector<std::uint8_t> truncated = {0x80, 0x80};
  CHECK(load_varint(truncated).problem == Problem::truncated);
  CHECK(load_varint({}).problem == Problem::truncated);
  const std::vector<std::uint8_t> eleven(10, 0x80);
  CHECK(load_varint(eleven).problem == Problem::varint_too_long);
  std::vector<std::uint8_t> overflow(9, 0xFF);
  overflow.push_back(0x02);   // bit 64
  CHECK(load_varint(overflow).problem == Problem::varint_overflow);
  const auto u16_max_plus_one = varint_bytes(0x10000);
  CHECK(load_varint(u16_max_plus_one, 16).problem == Problem::varint_overflow);
  CHECK(load_varint(varint_bytes(0xFFFF), 16).value == 0xFFFF);
  // An overlong zero is read (formats never write it, older data may hold it).
  const std::vector<std::uint8_t> overlong = {0x80, 0x00};
  CHECK(load_varint(overlong).value == 0);
  CHECK(load_varint(overlong).bytes == 2);
}

TEST_CASE("coding: crc32 matches the IEEE check value and extends") {
  const std::string_view text = "123456789";
  CHECK(crc32(text.data(), text.size()) == 0xCBF43926u);
  CHECK(crc32(nullptr, 0) == 0);
  CHECK(crc32_extend(crc32(text.data(), 4), text.data() + 4, 5) == 0xCBF43926u);
}

TEST_CASE("coding: crc32 agrees with the bit-at-a-time definition at every length and alignment") {
  auto bitwise = [](const std::uint8_t* data, std::size_t size) {
    std::uint32_t value = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < size; ++i) {
      value ^= data[i];
      for (int bit = 0; bit < 8; ++bit) value = (value & 1u) ? 0xEDB88320u ^ (value >> 1) : value >> 1;
    }
    return value ^ 0xFFFFFFFFu;
  };
  std::vector<std::uint8_t> bytes(300);
  std::uint32_t state = 12345;
  for (auto& byte : bytes) {
    state = state * 1664525u + 1013904223u;
    byte = static_cast<std::uint8_t>(state >> 24);
  }
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t size = 0; size + offset <= bytes.size(); size += (size < 40 ? 1 : 37)) {
      INFO("offset " << offset << " size " << size);
      CHECK(crc32(bytes.data() + offset, size) == bitwise(bytes.data() + offset, size));
    }
  }
}

TEST_CASE("coding: a reader never reads past the end, and its first problem sticks") {
  const std::vector<std::uint8_t> bytes = {0x01, 0x02, 0x03, 0x04, 0x05, 0xAC, 0x02};
  Reader in(bytes);
  CHECK(in.u8() == 0x01);
  CHECK(in.be<std::uint16_t>() == 0x0203);
  CHECK(in.le<std::uint16_t>() == 0x0504);
  CHECK(in.varint<std::uint16_t>() == 300);
  CHECK(in.ok());
  CHECK(in.at_end());
  CHECK(in.le<std::uint32_t>() == 0);   // nothing left
  CHECK_FALSE(in.ok());
  CHECK(in.problem() == Problem::truncated);
  CHECK(in.problem_at() == bytes.size());

  Reader short_read(bytes);
  CHECK(short_read.bytes(5).size() == 5);
  CHECK(short_read.le<std::uint32_t>() == 0);   // 2 left: consumes nothing
  CHECK(short_read.position() == 5);
  CHECK(short_read.u8() == 0);                   // and stays failed
  CHECK(short_read.bytes(0).empty());
  CHECK_FALSE(short_read.ok());

  Reader narrow(bytes);
  narrow.bytes(5);
  CHECK(narrow.varint<std::uint8_t>() == 0);   // 300 does not fit 8 bits
  CHECK(narrow.problem() == Problem::varint_overflow);
  CHECK(narrow.problem_at() == 5);

  Reader text(std::string_view("abc"));
  CHECK(text.chars(2) == "ab");
  std::uint8_t copied[2] = {};
  CHECK_FALSE(text.copy(copied, 2));
  CHECK(text.problem() == Problem::truncated);
}

TEST_CASE("coding: a writer appends every encoding to strings and byte vectors") {
  std::string text;
  Writer<std::string> out(text);
  out.u8(1);
  out.le<std::uint16_t>(2);
  out.be<std::uint16_t>(3);
  out.varint(128);
  out.bytes("xy", 2);
  CHECK(text == std::string("\x01\x02\x00\x00\x03\x80\x01xy", 9));
  std::vector<std::uint8_t> vector;
  Writer<std::vector<std::uint8_t>> bytes(vector);
  bytes.le<std::int64_t>(-1);
  CHECK(vector == std::vector<std::uint8_t>(8, 0xFF));
  // Strings take append (and a one-byte varint as one push), vectors insert: the same bytes.
  for (std::uint64_t value : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{127}, std::uint64_t{128},
                              std::uint64_t{16383}, std::uint64_t{16384}, std::numeric_limits<std::uint64_t>::max()}) {
    std::string as_text = "a";
    put_varint(as_text, value);
    const auto as_bytes = varint_bytes(value);
    REQUIRE(as_text.size() == 1 + as_bytes.size());
    CHECK(std::equal(as_bytes.begin(), as_bytes.end(), as_text.begin() + 1,
                     [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); }));
  }
}
