#include <algorithm>
#include <string>

#include "protocol/codec.h"
#include "protocol/fields.h"
#include "citycard/coding.h"

namespace citycard::protocol {

bool TapRecord::operator==(const TapRecord& other) const {
  const Tap& a = tap;
  const Tap& b = other.tap;
  return a.id == b.id && a.card == b.card && a.media == b.media && a.event_time == b.event_time &&
         a.mode == b.mode && a.operator_id == b.operator_id && a.route == b.route && a.location == b.location &&
         a.amount_minor == b.amount_minor && a.offline == b.offline && cryptogram == other.cryptogram;
}

FrameType frame_type_of(const Message& message) noexcept {
  return static_cast<FrameType>(message.index() + 1);
}
static_assert(std::variant_size_v<Message> == frame_type_max, "one message type per frame type, in order");

namespace {

ProtocolError limit_error(ErrorCode code, std::string what) { return ProtocolError{code, std::move(what)}; }

// What stopped a payload from being written; code none means it was written.
struct Problem {
  ErrorCode code = ErrorCode::none;
  std::string text;
  Problem() = default;
  Problem(std::string problem, ErrorCode problem_code = ErrorCode::malformed)  // NOLINT: implicit by design
      : code(problem.empty() ? ErrorCode::none : problem_code), text(std::move(problem)) {}
  Problem(const char* problem) : Problem(std::string(problem)) {}  // NOLINT: implicit by design
};
Problem over_limit(std::string text) { return Problem(std::move(text), ErrorCode::count_over_limit); }
Problem bad_enum(std::string text) { return Problem(std::move(text), ErrorCode::bad_enum); }

// Each call appends one payload, or says why it cannot.
struct PayloadWriter {
  coding::Writer<std::vector<std::uint8_t>>& out;

  Problem operator()(const Hello& hello) {
    if (hello.agent.size() > agent_bytes_max) {
      return over_limit("hello agent name over " + std::to_string(agent_bytes_max) + " bytes");
    }
    out.u8(hello.version_min);
    out.u8(hello.version_max);
    out.le<std::uint32_t>(hello.reader.value);
    out.u8(static_cast<std::uint8_t>(hello.agent.size()));
    out.bytes(reinterpret_cast<const std::uint8_t*>(hello.agent.data()), hello.agent.size());
    return {};
  }
  Problem operator()(const HelloAck& ack) {
    out.u8(ack.version);
    out.le<std::uint32_t>(ack.heartbeat_interval_ms);
    out.le<std::uint16_t>(ack.batch_taps_max);
    out.le<std::uint16_t>(ack.inflight_batches_max);
    out.le<std::uint64_t>(ack.deny_list_version);
    out.le<std::uint64_t>(ack.last_sequence);
    return {};
  }
  Problem operator()(const TapBatch& batch) {
    if (batch.taps.empty() || batch.taps.size() > limits::batch_taps_max) {
      return over_limit("tap batch of " + std::to_string(batch.taps.size()) + " taps; allowed 1.." +
                        std::to_string(limits::batch_taps_max));
    }
    out.le<std::uint64_t>(batch.batch_id);
    out.le<std::uint16_t>(static_cast<std::uint16_t>(batch.taps.size()));
    for (const TapRecord& record : batch.taps) {
      const Tap& tap = record.tap;
      if (tap.card.empty()) return "tap " + std::to_string(tap.id.sequence) + " has no card id";
      if (!fields::valid_media(static_cast<std::uint8_t>(tap.media))) return bad_enum("tap media out of range");
      if (!fields::valid_mode(static_cast<std::uint8_t>(tap.mode))) return bad_enum("tap mode out of range");
      if (record.cryptogram.size > cryptogram_bytes_max) {
        return "tap cryptogram over " + std::to_string(cryptogram_bytes_max) + " bytes";
      }
      out.le<std::uint32_t>(tap.id.reader.value);
      out.le<std::uint64_t>(tap.id.sequence);
      out.u8(static_cast<std::uint8_t>(tap.card.size()));
      out.bytes(tap.card.data(), tap.card.size());
      out.u8(static_cast<std::uint8_t>(tap.media));
      out.le<std::int64_t>(tap.event_time.unix_us);
      out.u8(static_cast<std::uint8_t>(tap.mode));
      out.le<std::uint32_t>(tap.operator_id.value);
      out.le<std::uint32_t>(tap.route);
      out.le<std::uint32_t>(tap.location);
      out.le<std::int64_t>(tap.amount_minor);
      out.u8(tap.offline ? fields::tap_flag_offline : 0);
      out.u8(record.cryptogram.size);
      out.bytes(record.cryptogram.bytes.data(), record.cryptogram.size);
    }
    return {};
  }
  Problem operator()(const Decisions& decisions) {
    if (decisions.decisions.size() > limits::batch_taps_max) {
      return over_limit("decisions frame of " + std::to_string(decisions.decisions.size()) +
                        " decisions; at most " + std::to_string(limits::batch_taps_max));
    }
    out.le<std::uint64_t>(decisions.batch_id);
    out.le<std::uint16_t>(static_cast<std::uint16_t>(decisions.decisions.size()));
    for (const DecisionRecord& decision : decisions.decisions) {
      if (!fields::valid_outcome(static_cast<std::uint8_t>(decision.outcome))) return bad_enum("decision outcome out of range");
      if (!fields::valid_reason(static_cast<std::uint8_t>(decision.reason))) return bad_enum("refusal reason out of range");
      if (auto problem = fields::decision_problem(decision); !problem.empty()) return Problem(problem);
      if ((decision.flags & ~DecisionFlags::all) != 0) return "undefined decision flags set";
      out.le<std::uint32_t>(decision.tap.reader.value);
      out.le<std::uint64_t>(decision.tap.sequence);
      out.u8(static_cast<std::uint8_t>(decision.outcome));
      out.u8(static_cast<std::uint8_t>(decision.reason));
      out.le<std::int64_t>(decision.fare_minor);
      out.le<std::int64_t>(decision.balance_after_minor);
      out.le<std::int64_t>(decision.points_after);
      out.u8(decision.flags);
    }
    return {};
  }
  Problem operator()(const RetryLater& retry) {
    if (!fields::valid_retry_reason(static_cast<std::uint8_t>(retry.why))) return bad_enum("retry reason out of range");
    out.le<std::uint64_t>(retry.batch_id);
    out.le<std::uint32_t>(retry.retry_after_ms);
    out.u8(static_cast<std::uint8_t>(retry.why));
    return {};
  }
  Problem operator()(const DenyListRequest& request) {
    if (request.after.empty() != (request.snapshot_version == 0)) {
      return "a deny list request continuing a snapshot needs both its version and a card";
    }
    out.le<std::uint64_t>(request.from_version);
    if (request.after.empty()) return {};
    out.le<std::uint64_t>(request.snapshot_version);
    out.u8(static_cast<std::uint8_t>(request.after.size()));
    out.bytes(request.after.data(), request.after.size());
    return {};
  }
  Problem operator()(const DenyListDelta& delta) {
    if (delta.added.size() + delta.removed.size() > deny_cards_max) {
      return over_limit("deny list delta of " + std::to_string(delta.added.size() + delta.removed.size()) +
                        " cards; at most " + std::to_string(deny_cards_max));
    }
    if ((delta.flags & ~DenyListDelta::flags_all) != 0) return "undefined delta flags set";
    if ((delta.flags & DenyListDelta::flag_page) != 0 &&
        ((delta.flags & DenyListDelta::flag_full) != 0 || delta.from_version != 0 || !delta.removed.empty())) {
      return "a deny list page is neither full nor from a version, and removes nothing";
    }
    out.le<std::uint64_t>(delta.from_version);
    out.le<std::uint64_t>(delta.to_version);
    out.u8(delta.flags);
    for (const auto* cards : {&delta.added, &delta.removed}) {
      out.le<std::uint16_t>(static_cast<std::uint16_t>(cards->size()));
      for (const CardId& card : *cards) {
        if (card.empty()) return "deny list entry without a card id";
        out.u8(static_cast<std::uint8_t>(card.size()));
        out.bytes(card.data(), card.size());
      }
    }
    return {};
  }
  Problem operator()(const Heartbeat& heartbeat) {
    out.le<std::uint64_t>(heartbeat.nonce);
    return {};
  }
  Problem operator()(const ErrorFrame& error) {
    if (!fields::valid_error_code(static_cast<std::uint16_t>(error.code))) return bad_enum("error code out of range");
    // A message too long for the frame is cut, not refused: the error must go out.
    std::size_t size = std::min(error.message.size(), error_message_bytes_max);
    out.le<std::uint16_t>(static_cast<std::uint16_t>(error.code));
    out.le<std::uint16_t>(static_cast<std::uint16_t>(size));
    out.bytes(reinterpret_cast<const std::uint8_t*>(error.message.data()), size);
    return {};
  }
};

}  // namespace

Decoded<std::vector<std::uint8_t>> encode(const Message& message, std::uint8_t version) {
  std::vector<std::uint8_t> frame;
  // Reserving before the header's zeros also keeps g++ 12's -Warray-bounds
  // from misreading the growth of a 16-byte vector.
  frame.reserve(limits::frame_bytes_max);
  frame.resize(header_bytes);
  coding::Writer<std::vector<std::uint8_t>> writer(frame);
  Problem problem = std::visit(PayloadWriter{writer}, message);
  if (problem.code != ErrorCode::none) return limit_error(problem.code, std::move(problem.text));
  FrameHeader header;
  header.version = frame_type_of(message) == FrameType::hello ? std::uint8_t{1} : version;
  header.type = frame_type_of(message);
  header.payload_bytes = static_cast<std::uint32_t>(frame.size() - header_bytes);
  header.payload_crc = coding::crc32(frame.data() + header_bytes, frame.size() - header_bytes);
  if (header.payload_bytes > payload_bytes_max) {
    return limit_error(ErrorCode::frame_too_large, "encoded payload of " + std::to_string(header.payload_bytes) +
                                                       " bytes is over " + std::to_string(payload_bytes_max));
  }
  encode_header(header, frame.data());
  return frame;
}

}  // namespace citycard::protocol
