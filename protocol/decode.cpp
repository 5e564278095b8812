// Payload parsing: one function per frame type, each following the grammar in
// messages.h field by field. The coding::Reader fails closed on truncation; the
// checks here cover counts, lengths, enum ranges, flags and trailing bytes.
#include <string>

#include "protocol/codec.h"
#include "protocol/fields.h"
#include "citycard/coding.h"

namespace citycard::protocol {
namespace {

ProtocolError error(ErrorCode code, std::string message) { return ProtocolError{code, std::move(message)}; }
ProtocolError truncated(std::string_view what) {
  return error(ErrorCode::truncated, "payload ends inside " + std::string(what));
}
std::string number(std::uint64_t value) { return std::to_string(value); }

// Reads length: byte then the card id bytes; empty optional after an error.
Decoded<CardId> read_card(coding::Reader& in, std::string_view what) {
  std::uint8_t size = in.u8();
  if (!in.ok()) return truncated(what);
  if (size == 0 || size > CardId::bytes_max) {
    return error(ErrorCode::malformed, std::string(what) + " card id length " + number(size) + "; allowed 1..16");
  }
  std::uint8_t bytes[CardId::bytes_max];
  if (!in.copy(bytes, size)) return truncated(what);
  return CardId::from_bytes(bytes, size);
}

Decoded<Message> hello(coding::Reader& in) {
  Hello hello;
  hello.version_min = in.u8();
  hello.version_max = in.u8();
  hello.reader.value = in.le<std::uint32_t>();
  std::uint8_t agent_size = in.u8();
  if (!in.ok()) return truncated("hello");
  if (agent_size > agent_bytes_max) return error(ErrorCode::malformed, "hello agent name of " + number(agent_size) + " bytes; at most 64");
  hello.agent.resize(agent_size);
  if (!in.copy(reinterpret_cast<std::uint8_t*>(hello.agent.data()), agent_size)) return truncated("hello agent name");
  if (hello.version_min > hello.version_max) {
    return error(ErrorCode::malformed, "hello version range " + number(hello.version_min) + ".." +
                                           number(hello.version_max) + " is empty");
  }
  return Message{std::move(hello)};
}

Decoded<Message> hello_ack(coding::Reader& in) {
  HelloAck ack;
  ack.version = in.u8();
  ack.heartbeat_interval_ms = in.le<std::uint32_t>();
  ack.batch_taps_max = in.le<std::uint16_t>();
  ack.inflight_batches_max = in.le<std::uint16_t>();
  ack.deny_list_version = in.le<std::uint64_t>();
  ack.last_sequence = in.le<std::uint64_t>();
  if (!in.ok()) return truncated("hello_ack");
  return Message{ack};
}

Decoded<TapRecord> tap(coding::Reader& in, std::size_t index) {
  std::string where = "tap " + number(index);
  TapRecord record;
  Tap& tap = record.tap;
  tap.id.reader.value = in.le<std::uint32_t>();
  tap.id.sequence = in.le<std::uint64_t>();
  auto card = read_card(in, where);
  if (!card) return card.error();
  tap.card = card.value();
  std::uint8_t media = in.u8();
  tap.event_time.unix_us = in.le<std::int64_t>();
  std::uint8_t mode = in.u8();
  tap.operator_id.value = in.le<std::uint32_t>();
  tap.route = in.le<std::uint32_t>();
  tap.location = in.le<std::uint32_t>();
  tap.amount_minor = in.le<std::int64_t>();
  std::uint8_t flags = in.u8();
  record.cryptogram.size = in.u8();
  if (!in.ok()) return truncated(where);
  if (!fields::valid_media(media)) return error(ErrorCode::bad_enum, where + " media " + number(media) + " is undefined");
  if (!fields::valid_mode(mode)) return error(ErrorCode::bad_enum, where + " mode " + number(mode) + " is undefined");
  if ((flags & ~fields::tap_flag_offline) != 0) return error(ErrorCode::bad_flags, where + " flags " + number(flags) + " has undefined bits");
  if (record.cryptogram.size > cryptogram_bytes_max) {
    return error(ErrorCode::malformed, where + " cryptogram of " + number(record.cryptogram.size) + " bytes; at most " +
                                           number(cryptogram_bytes_max));
  }
  if (!in.copy(record.cryptogram.bytes.data(), record.cryptogram.size)) return truncated(where + " cryptogram");
  tap.media = static_cast<Media>(media);
  tap.mode = static_cast<Mode>(mode);
  tap.offline = (flags & fields::tap_flag_offline) != 0;
  return record;
}

Decoded<Message> tap_batch(coding::Reader& in) {
  TapBatch batch;
  batch.batch_id = in.le<std::uint64_t>();
  std::uint16_t count = in.le<std::uint16_t>();
  if (!in.ok()) return truncated("tap_batch");
  if (count == 0) return error(ErrorCode::malformed, "tap batch " + number(batch.batch_id) + " has no taps");
  if (count > limits::batch_taps_max) {
    return error(ErrorCode::count_over_limit, "tap batch of " + number(count) + " taps; at most " +
                                                  number(limits::batch_taps_max));
  }
  batch.taps.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto record = tap(in, i);
    if (!record) return record.error();
    batch.taps.push_back(std::move(record).value());
  }
  return Message{std::move(batch)};
}

Decoded<Message> decisions(coding::Reader& in) {
  Decisions frame;
  frame.batch_id = in.le<std::uint64_t>();
  std::uint16_t count = in.le<std::uint16_t>();
  if (!in.ok()) return truncated("decisions");
  if (count > limits::batch_taps_max) {
    return error(ErrorCode::count_over_limit, "decisions frame of " + number(count) + " decisions; at most " +
                                                  number(limits::batch_taps_max));
  }
  frame.decisions.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::string where = "decision " + number(i);
    DecisionRecord decision;
    decision.tap.reader.value = in.le<std::uint32_t>();
    decision.tap.sequence = in.le<std::uint64_t>();
    std::uint8_t outcome = in.u8();
    std::uint8_t reason = in.u8();
    decision.fare_minor = in.le<std::int64_t>();
    decision.balance_after_minor = in.le<std::int64_t>();
    decision.points_after = in.le<std::int64_t>();
    decision.flags = in.u8();
    if (!in.ok()) return truncated(where);
    if (!fields::valid_outcome(outcome)) return error(ErrorCode::bad_enum, where + " outcome " + number(outcome) + " is undefined");
    if (!fields::valid_reason(reason)) return error(ErrorCode::bad_enum, where + " refusal reason " + number(reason) + " is undefined");
    if ((decision.flags & ~DecisionFlags::all) != 0) return error(ErrorCode::bad_flags, where + " flags have undefined bits");
    decision.outcome = static_cast<Outcome>(outcome);
    decision.reason = static_cast<RefusalReason>(reason);
    if (auto problem = fields::decision_problem(decision); !problem.empty()) return error(ErrorCode::malformed, where + ": " + problem);
    frame.decisions.push_back(decision);
  }
  return Message{std::move(frame)};
}

Decoded<Message> retry_later(coding::Reader& in) {
  RetryLater retry;
  retry.batch_id = in.le<std::uint64_t>();
  retry.retry_after_ms = in.le<std::uint32_t>();
  std::uint8_t why = in.u8();
  if (!in.ok()) return truncated("retry_later");
  if (!fields::valid_retry_reason(why)) return error(ErrorCode::bad_enum, "retry reason " + number(why) + " is undefined");
  retry.why = static_cast<RetryReason>(why);
  return Message{retry};
}

Decoded<Message> deny_list_request(coding::Reader& in) {
  DenyListRequest request;
  request.from_version = in.le<std::uint64_t>();
  if (!in.ok()) return truncated("deny_list_request");
  if (in.remaining() == 0) return Message{request};  // the 8-byte form: no snapshot to continue
  request.snapshot_version = in.le<std::uint64_t>();
  if (!in.ok()) return truncated("deny_list_request snapshot");
  if (request.snapshot_version == 0) return error(ErrorCode::malformed, "deny list request continues snapshot version 0");
  auto after = read_card(in, "deny list request");
  if (!after) return after.error();
  request.after = after.value();
  return Message{request};
}

Decoded<Message> deny_list_delta(coding::Reader& in) {
  DenyListDelta delta;
  delta.from_version = in.le<std::uint64_t>();
  delta.to_version = in.le<std::uint64_t>();
  delta.flags = in.u8();
  if (!in.ok()) return truncated("deny_list_delta");
  if ((delta.flags & ~DenyListDelta::flags_all) != 0) {
    return error(ErrorCode::bad_flags, "deny list delta flags " + number(delta.flags) + " has undefined bits");
  }
  const bool page = (delta.flags & DenyListDelta::flag_page) != 0;
  if (page && ((delta.flags & DenyListDelta::flag_full) != 0 || delta.from_version != 0)) {
    return error(ErrorCode::malformed, "a deny list page is neither full nor from a version");
  }
  std::size_t total = 0;
  for (auto* cards : {&delta.added, &delta.removed}) {
    std::uint16_t count = in.le<std::uint16_t>();
    if (!in.ok()) return truncated("deny_list_delta counts");
    total += count;
    if (total > deny_cards_max) {
      return error(ErrorCode::count_over_limit, "deny list delta of " + number(total) + "+ cards; at most " +
                                                    number(deny_cards_max));
    }
    cards->reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      auto card = read_card(in, "deny list entry " + number(i));
      if (!card) return card.error();
      cards->push_back(card.value());
    }
  }
  if (page && !delta.removed.empty()) return error(ErrorCode::malformed, "a deny list page removes cards");
  return Message{std::move(delta)};
}

Decoded<Message> heartbeat(coding::Reader& in) {
  Heartbeat beat;
  beat.nonce = in.le<std::uint64_t>();
  if (!in.ok()) return truncated("heartbeat");
  return Message{beat};
}

Decoded<Message> error_frame(coding::Reader& in) {
  ErrorFrame frame;
  std::uint16_t code = in.le<std::uint16_t>();
  std::uint16_t size = in.le<std::uint16_t>();
  if (!in.ok()) return truncated("error");
  if (!fields::valid_error_code(code)) return error(ErrorCode::bad_enum, "error code " + number(code) + " is undefined");
  if (size > error_message_bytes_max) return error(ErrorCode::malformed, "error message of " + number(size) + " bytes; at most 1024");
  frame.code = static_cast<ErrorCode>(code);
  frame.message.resize(size);
  if (!in.copy(reinterpret_cast<std::uint8_t*>(frame.message.data()), size)) return truncated("error message");
  return Message{std::move(frame)};
}

}  // namespace

Decoded<Message> decode_payload(const FrameHeader& header, std::span<const std::uint8_t> payload) {
  auto checked = check_payload(header, payload);
  if (!checked) return checked.error();
  coding::Reader in(payload);
  Decoded<Message> message = ProtocolError{};
  switch (header.type) {
    case FrameType::hello: message = hello(in); break;
    case FrameType::hello_ack: message = hello_ack(in); break;
    case FrameType::tap_batch: message = tap_batch(in); break;
    case FrameType::decisions: message = decisions(in); break;
    case FrameType::retry_later: message = retry_later(in); break;
    case FrameType::deny_list_request: message = deny_list_request(in); break;
    case FrameType::deny_list_delta: message = deny_list_delta(in); break;
    case FrameType::heartbeat: message = heartbeat(in); break;
    case FrameType::error: message = error_frame(in); break;
  }
  if (message && in.remaining() != 0) {
    return error(ErrorCode::trailing_bytes, number(in.remaining()) + " bytes after the " +
                                                std::string(frame_type_name(header.type)) + " payload");
  }
  return message;
}

Decoded<Message> decode(std::span<const std::uint8_t> frame) {
  auto header = decode_header(frame);
  if (!header) return header.error();
  return decode_payload(header.value(), frame.subspan(header_bytes));
}

}  // namespace citycard::protocol
