// Frames: the unit the reader <-> engine protocol moves (docs/protocol.md).
//
//   frame   := header payload
//   header  := magic: fixed32 ("CCTP" = 0x50544343)
//              version: byte     (protocol_version; hello frames always carry 1)
//              type: byte        (FrameType)
//              flags: fixed16    (0; no flags are defined in version 1)
//              length: fixed32   (payload bytes, <= payload_bytes_max)
//              crc: fixed32      (crc32 of the payload)
//   payload := length bytes, laid out per type (messages.h)
//
// All integers little-endian. A frame is at most limits::frame_bytes_max bytes.
//
// Decoding never trusts the peer: every malformed input yields a
// ProtocolError whose code goes on the wire in an error frame and whose
// message names the problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "citycard/limits.h"
#include "citycard/status.h"

namespace citycard::protocol {

inline constexpr std::uint32_t frame_magic = 0x50544343;  // "CCTP" in wire order
inline constexpr std::uint8_t protocol_version = 1;         // the only version so far
inline constexpr std::uint8_t protocol_version_min = 1;     // oldest version this build speaks
inline constexpr std::size_t header_bytes = 16;
inline constexpr std::size_t payload_bytes_max = limits::frame_bytes_max - header_bytes;
static_assert(limits::frame_bytes_max > header_bytes);

enum class FrameType : std::uint8_t {
  hello = 1,              // reader -> engine: first frame, version range
  hello_ack = 2,          // engine -> reader: chosen version and session limits
  tap_batch = 3,          // reader -> engine
  decisions = 4,          // engine -> reader: one per tap of a batch
  retry_later = 5,        // engine -> reader: batch not taken, resend later
  deny_list_request = 6,  // reader -> engine
  deny_list_delta = 7,    // engine -> reader
  heartbeat = 8,          // reader -> engine, echoed back
  error = 9,              // either way; the sender closes after it
};
inline constexpr int frame_type_max = 9;

std::string_view frame_type_name(FrameType type) noexcept;

// Stable numbers: they go on the wire in error frames.
enum class ErrorCode : std::uint16_t {
  none = 0,
  truncated = 1,          // input ends inside a header or payload
  bad_magic = 2,
  bad_version = 3,        // header version this build does not speak
  unknown_frame_type = 4,
  frame_too_large = 5,    // length over payload_bytes_max
  bad_checksum = 6,
  bad_flags = 7,          // reserved header or record flag bits set
  malformed = 8,          // payload does not follow its type's grammar
  count_over_limit = 9,   // e.g. more taps than limits::batch_taps_max
  trailing_bytes = 10,    // payload longer than its grammar
  bad_enum = 11,          // enum field outside its defined values
  unexpected_frame = 12,  // valid frame out of order (taps before hello, ...)
  unsupported_version = 13,  // hello with no version in common
  reader_mismatch = 14,   // taps or hello claim a reader id other than the certificate's
  timeout = 15,           // the peer was too slow (handshake, frame, idle)
  overloaded = 16,        // the peer will not read its replies; output queue full
  shutting_down = 17,     // the engine is stopping; reconnect later
  internal = 18,          // the engine failed; not the reader's fault
};
inline constexpr std::uint16_t error_code_max = 18;

std::string_view error_code_name(ErrorCode code) noexcept;

struct ProtocolError {
  ErrorCode code = ErrorCode::malformed;
  std::string message;  // for a person: names the field and the value

  // "malformed: ..." as an invalid_argument Status (internal/timeout map to
  // their own status codes).
  Status to_status() const;
};

// A value or the ProtocolError that prevented it (C++20 has no std::expected).
template <typename T>
class [[nodiscard]] Decoded {
 public:
  Decoded(T value) : state_(std::move(value)) {}            // NOLINT: implicit by design
  Decoded(ProtocolError error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const ProtocolError& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, ProtocolError> state_;
};

struct FrameHeader {
  std::uint8_t version = protocol_version;
  FrameType type = FrameType::heartbeat;
  std::uint16_t flags = 0;
  std::uint32_t payload_bytes = 0;
  std::uint32_t payload_crc = 0;
};

// Writes the 16 header bytes into out (which must hold header_bytes).
void encode_header(const FrameHeader& header, std::uint8_t* out) noexcept;

// Checks magic, version, type, flags and the length limit. Fewer than
// header_bytes bytes is `truncated`. Does not look at the payload.
Decoded<FrameHeader> decode_header(std::span<const std::uint8_t> bytes);

// Checks the payload's length and checksum against its header.
Decoded<std::span<const std::uint8_t>> check_payload(const FrameHeader& header,
                                                     std::span<const std::uint8_t> payload);

}  // namespace citycard::protocol
