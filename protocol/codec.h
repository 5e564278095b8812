// Encoding and decoding whole frames. Pure functions: no I/O, no state.
//
// encode() builds header + payload for a message that satisfies the grammar in
// messages.h; it returns a ProtocolError (never writes a bad frame) when the
// message breaks a limit (too many taps, message too long, bad enum values).
//
// decode() takes one frame's bytes exactly: a header that checks out
// (decode_header) and a payload of exactly header.payload_bytes bytes with
// the right checksum, then parses the payload by type. Any deviation --
// truncation, trailing bytes, counts over a limit, enum values outside their
// range, reserved flag bits -- is a ProtocolError naming the field.
//
// A stream reader uses decode_header() on the first header_bytes, reads
// payload_bytes more and calls decode_payload().
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "protocol/frame.h"
#include "protocol/messages.h"

namespace citycard::protocol {

// version goes into the header; hello frames always carry 1.
Decoded<std::vector<std::uint8_t>> encode(const Message& message, std::uint8_t version = protocol_version);

Decoded<Message> decode(std::span<const std::uint8_t> frame);
Decoded<Message> decode_payload(const FrameHeader& header, std::span<const std::uint8_t> payload);

}  // namespace citycard::protocol
