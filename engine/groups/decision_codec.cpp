#include "decision_codec.h"

#include <cstdint>

namespace citycard::engine {
namespace {

void put(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

std::uint64_t get(std::string_view in, std::size_t& at, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= std::uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  at += static_cast<std::size_t>(bytes);
  return value;
}

}  // namespace

std::string encode_decision(const protocol::DecisionRecord& decision, bool offline_submission) {
  std::string out;
  out.reserve(decision_bytes);
  put(out, decision_format_version, 1);
  put(out, decision.tap.reader.value, 4);
  put(out, decision.tap.sequence, 8);
  put(out, static_cast<std::uint8_t>(decision.outcome), 1);
  put(out, static_cast<std::uint8_t>(decision.reason), 1);
  put(out, static_cast<std::uint64_t>(decision.fare_minor), 8);
  put(out, static_cast<std::uint64_t>(decision.balance_after_minor), 8);
  put(out, static_cast<std::uint64_t>(decision.points_after), 8);
  put(out, (decision.flags & ~protocol::DecisionFlags::replayed) | (offline_submission ? decided_offline_flag : 0), 1);
  return out;
}

Result<StoredDecision> decode_stored_decision(std::string_view bytes) {
  if (bytes.size() != decision_bytes) {
    return Status::corruption("stored decision has " + std::to_string(bytes.size()) + " bytes, expected " +
                              std::to_string(decision_bytes));
  }
  std::size_t at = 0;
  if (get(bytes, at, 1) != decision_format_version) return Status::corruption("stored decision has an unknown format");
  protocol::DecisionRecord decision;
  decision.tap.reader.value = static_cast<std::uint32_t>(get(bytes, at, 4));
  decision.tap.sequence = get(bytes, at, 8);
  auto outcome = get(bytes, at, 1);
  auto reason = get(bytes, at, 1);
  if (outcome != 1 && outcome != 2) return Status::corruption("stored decision has outcome " + std::to_string(outcome));
  if ((outcome == 1) != (reason == 0) || reason > 0xFF) return Status::corruption("stored decision's reason contradicts its outcome");
  decision.outcome = static_cast<protocol::Outcome>(outcome);
  decision.reason = static_cast<RefusalReason>(reason);
  decision.fare_minor = static_cast<std::int64_t>(get(bytes, at, 8));
  decision.balance_after_minor = static_cast<std::int64_t>(get(bytes, at, 8));
  decision.points_after = static_cast<std::int64_t>(get(bytes, at, 8));
  auto flags = get(bytes, at, 1);
  // replayed is never stored (encode_decision clears it): the reader is told it per answer.
  constexpr std::uint64_t stored_flags = (protocol::DecisionFlags::all & ~protocol::DecisionFlags::replayed) | decided_offline_flag;
  if ((flags & ~stored_flags) != 0) {
    return Status::corruption("stored decision has unknown flags");
  }
  decision.flags = static_cast<std::uint8_t>(flags & protocol::DecisionFlags::all);
  return StoredDecision{decision, (flags & decided_offline_flag) != 0};
}

Result<protocol::DecisionRecord> decode_decision(std::string_view bytes) {
  auto stored = decode_stored_decision(bytes);
  if (!stored) return stored.status();
  return stored->decision;
}

}  // namespace citycard::engine
