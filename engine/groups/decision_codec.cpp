#include "decision_codec.h"

#include <cstdint>

#include "citycard/coding.h"

namespace citycard::engine {

std::string encode_decision(const protocol::DecisionRecord& decision, bool offline_submission) {
  std::string out;
  out.reserve(decision_bytes);
  coding::Writer<std::string> to(out);
  to.u8(decision_format_version);
  to.le<std::uint32_t>(decision.tap.reader.value);
  to.le<std::uint64_t>(decision.tap.sequence);
  to.u8(static_cast<std::uint8_t>(decision.outcome));
  to.u8(static_cast<std::uint8_t>(decision.reason));
  to.le<std::int64_t>(decision.fare_minor);
  to.le<std::int64_t>(decision.balance_after_minor);
  to.le<std::int64_t>(decision.points_after);
  to.u8(static_cast<std::uint8_t>((decision.flags & ~protocol::DecisionFlags::replayed) |
                                  (offline_submission ? decided_offline_flag : 0)));
  return out;
}

Result<StoredDecision> decode_stored_decision(std::string_view bytes) {
  if (bytes.size() != decision_bytes) {
    return Status::corruption("stored decision has " + std::to_string(bytes.size()) + " bytes, expected " +
                              std::to_string(decision_bytes));
  }
  coding::Reader in(bytes);
  if (in.u8() != decision_format_version) return Status::corruption("stored decision has an unknown format");
  protocol::DecisionRecord decision;
  decision.tap.reader.value = in.le<std::uint32_t>();
  decision.tap.sequence = in.le<std::uint64_t>();
  const std::uint8_t outcome = in.u8();
  const std::uint8_t reason = in.u8();
  if (outcome != 1 && outcome != 2) return Status::corruption("stored decision has outcome " + std::to_string(outcome));
  if ((outcome == 1) != (reason == 0)) return Status::corruption("stored decision's reason contradicts its outcome");
  decision.outcome = static_cast<protocol::Outcome>(outcome);
  decision.reason = static_cast<RefusalReason>(reason);
  decision.fare_minor = in.le<std::int64_t>();
  decision.balance_after_minor = in.le<std::int64_t>();
  decision.points_after = in.le<std::int64_t>();
  const std::uint8_t flags = in.u8();
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
