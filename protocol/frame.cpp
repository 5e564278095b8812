#include "protocol/frame.h"

#include "citycard/coding.h"

namespace citycard::protocol {

std::string_view frame_type_name(FrameType type) noexcept {
  switch (type) {
    case FrameType::hello: return "hello";
    case FrameType::hello_ack: return "hello_ack";
    case FrameType::tap_batch: return "tap_batch";
    case FrameType::decisions: return "decisions";
    case FrameType::retry_later: return "retry_later";
    case FrameType::deny_list_request: return "deny_list_request";
    case FrameType::deny_list_delta: return "deny_list_delta";
    case FrameType::heartbeat: return "heartbeat";
    case FrameType::error: return "error";
  }
  return "?";
}

std::string_view error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::none: return "none";
    case ErrorCode::truncated: return "truncated";
    case ErrorCode::bad_magic: return "bad_magic";
    case ErrorCode::bad_version: return "bad_version";
    case ErrorCode::unknown_frame_type: return "unknown_frame_type";
    case ErrorCode::frame_too_large: return "frame_too_large";
    case ErrorCode::bad_checksum: return "bad_checksum";
    case ErrorCode::bad_flags: return "bad_flags";
    case ErrorCode::malformed: return "malformed";
    case ErrorCode::count_over_limit: return "count_over_limit";
    case ErrorCode::trailing_bytes: return "trailing_bytes";
    case ErrorCode::bad_enum: return "bad_enum";
    case ErrorCode::unexpected_frame: return "unexpected_frame";
    case ErrorCode::unsupported_version: return "unsupported_version";
    case ErrorCode::reader_mismatch: return "reader_mismatch";
    case ErrorCode::timeout: return "timeout";
    case ErrorCode::overloaded: return "overloaded";
    case ErrorCode::shutting_down: return "shutting_down";
    case ErrorCode::internal: return "internal";
  }
  return "?";
}

Status ProtocolError::to_status() const {
  std::string text = std::string(error_code_name(code)) + ": " + message;
  switch (code) {
    case ErrorCode::timeout: return Status::unavailable(std::move(text));
    case ErrorCode::overloaded:
    case ErrorCode::shutting_down: return Status::busy(std::move(text));
    case ErrorCode::reader_mismatch: return Status::refused(std::move(text));
    case ErrorCode::internal: return Status::io_error(std::move(text));
    default: return Status::invalid_argument(std::move(text));
  }
}

void encode_header(const FrameHeader& header, std::uint8_t* out) noexcept {
  coding::store_le<std::uint32_t>(out, frame_magic);
  coding::store_le<std::uint8_t>(out + 4, header.version);
  coding::store_le<std::uint8_t>(out + 5, static_cast<std::uint8_t>(header.type));
  coding::store_le<std::uint16_t>(out + 6, header.flags);
  coding::store_le<std::uint32_t>(out + 8, header.payload_bytes);
  coding::store_le<std::uint32_t>(out + 12, header.payload_crc);
}

Decoded<FrameHeader> decode_header(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < header_bytes) {
    return ProtocolError{ErrorCode::truncated, "frame header needs " + std::to_string(header_bytes) +
                                                   " bytes, got " + std::to_string(bytes.size())};
  }
  coding::Reader reader(bytes.first(header_bytes));
  std::uint32_t magic = reader.le<std::uint32_t>();
  FrameHeader header;
  header.version = reader.u8();
  std::uint8_t type = reader.u8();
  header.flags = reader.le<std::uint16_t>();
  header.payload_bytes = reader.le<std::uint32_t>();
  header.payload_crc = reader.le<std::uint32_t>();
  if (magic != frame_magic) {
    return ProtocolError{ErrorCode::bad_magic, "frame magic is " + std::to_string(magic) + ", expected " +
                                                   std::to_string(frame_magic) + " (\"CCTP\")"};
  }
  if (header.version < protocol_version_min || header.version > protocol_version) {
    return ProtocolError{ErrorCode::bad_version, "frame version " + std::to_string(header.version) +
                                                     " is not spoken here (" +
                                                     std::to_string(protocol_version_min) + ".." +
                                                     std::to_string(protocol_version) + ")"};
  }
  if (type == 0 || type > frame_type_max) {
    return ProtocolError{ErrorCode::unknown_frame_type, "frame type " + std::to_string(type) + " is unknown"};
  }
  header.type = static_cast<FrameType>(type);
  if (header.flags != 0) {
    return ProtocolError{ErrorCode::bad_flags,
                         "frame flags " + std::to_string(header.flags) + " set; version 1 defines none"};
  }
  if (header.payload_bytes > payload_bytes_max) {
    return ProtocolError{ErrorCode::frame_too_large, "payload of " + std::to_string(header.payload_bytes) +
                                                         " bytes is over the limit of " +
                                                         std::to_string(payload_bytes_max)};
  }
  return header;
}

Decoded<std::span<const std::uint8_t>> check_payload(const FrameHeader& header,
                                                     std::span<const std::uint8_t> payload) {
  if (payload.size() < header.payload_bytes) {
    return ProtocolError{ErrorCode::truncated, std::string(frame_type_name(header.type)) + " payload needs " +
                                                   std::to_string(header.payload_bytes) + " bytes, got " +
                                                   std::to_string(payload.size())};
  }
  if (payload.size() > header.payload_bytes) {
    return ProtocolError{ErrorCode::trailing_bytes, std::to_string(payload.size() - header.payload_bytes) +
                                                        " bytes after the " +
                                                        std::string(frame_type_name(header.type)) + " frame"};
  }
  std::uint32_t crc = coding::crc32(payload.data(), payload.size());
  if (crc != header.payload_crc) {
    return ProtocolError{ErrorCode::bad_checksum, std::string(frame_type_name(header.type)) +
                                                      " payload crc32 is " + std::to_string(crc) +
                                                      ", header says " + std::to_string(header.payload_crc)};
  }
  return payload;
}

}  // namespace citycard::protocol
