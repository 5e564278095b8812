// The reader <-> engine frame decoder (protocol/codec.h): what the engine
// reads from a reader, and a reader from the engine, before anything else.
//
// input := bytes     decoded twice:
//   1. as one whole frame, exactly as it came off the wire;
//   2. as the payload of a frame of type 1 + bytes[0] % 9 (bytes after the
//      first), under a header with the right length and CRC-32 -- random
//      bytes seldom carry a right checksum, so this pass reaches every
//      payload grammar.
// Checks, whenever a frame decodes: it encodes back to exactly its own bytes
// (the grammar has one encoding per message), and that decodes to an equal
// message.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "citycard/check.h"
#include "citycard/coding.h"
#include "protocol/codec.h"

namespace {

using namespace citycard::protocol;

void check_round_trip(std::span<const std::uint8_t> frame) {
  auto message = decode(frame);
  if (!message) {
    CITYCARD_CHECK(message.error().code != ErrorCode::none);
    return;
  }
  auto encoded = encode(message.value(), frame[4]);
  CITYCARD_CHECK(encoded.has_value());
  CITYCARD_CHECK(encoded.value().size() == frame.size());
  CITYCARD_CHECK(std::equal(frame.begin(), frame.end(), encoded.value().begin()));
  auto again = decode(encoded.value());
  CITYCARD_CHECK(again.has_value());
  CITYCARD_CHECK(again.value() == message.value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> input(data, size);
  check_round_trip(input);
  if (size == 0 || size - 1 > payload_bytes_max) return 0;

  std::vector<std::uint8_t> frame(header_bytes + size - 1);
  FrameHeader header;
  header.type = static_cast<FrameType>(1 + data[0] % frame_type_max);
  header.payload_bytes = static_cast<std::uint32_t>(size - 1);
  header.payload_crc = citycard::coding::crc32(data + 1, size - 1);
  encode_header(header, frame.data());
  std::copy(data + 1, data + size, frame.begin() + header_bytes);
  check_round_trip(frame);
  return 0;
}
