#include "decision_codec.h"

#include <cstdint>

#include "citycard/coding.h"

namespace citycard::engine {

namespace {

// replayed is never stored (encode_decision clears it): the reader is told it per answer.
constexpr std::uint64_t stored_flags = (protocol::DecisionFlags::all & ~protocol::DecisionFlags::replayed) | decided_offline_flag;

// The fields after the tap, the same in both formats but for the width of the amounts.
Result<StoredDecision> finish_decoding(coding::Reader& in, protocol::DecisionRecord decision, bool varints) {
  auto amount = [&] { return varints ? coding::unzigzag<std::int64_t>(in.varint()) : in.le<std::int64_t>(); };
  const std::uint8_t outcome = in.u8();
  const std::uint8_t reason = in.u8();
  decision.fare_minor = amount();
  decision.balance_after_minor = amount();
  decision.points_after = amount();
  const std::uint8_t flags = in.u8();
  if (!in.ok()) {
    return Status::corruption(std::string("stored decision is unreadable: ") + coding::problem_text(in.problem()) +
                              " at byte " + std::to_string(in.problem_at()));
  }
  if (!in.at_end()) return Status::corruption("stored decision has " + std::to_string(in.remaining()) + " bytes too many");
  if (outcome != 1 && outcome != 2) return Status::corruption("stored decision has outcome " + std::to_string(outcome));
  if ((outcome == 1) != (reason == 0)) return Status::corruption("stored decision's reason contradicts its outcome");
  if ((flags & ~stored_flags) != 0) return Status::corruption("stored decision has unknown flags");
  decision.outcome = static_cast<protocol::Outcome>(outcome);
  decision.reason = static_cast<RefusalReason>(reason);
  decision.flags = static_cast<std::uint8_t>(flags & protocol::DecisionFlags::all);
  return StoredDecision{decision, (flags & decided_offline_flag) != 0};
}

}  // namespace

std::string encode_decision(const protocol::DecisionRecord& decision, bool offline_submission) {
  std::string out;
  out.reserve(decision_bytes_max);
  coding::Writer<std::string> to(out);
  to.u8(decision_format_version);
  to.varint(decision.tap.reader.value);
  to.varint(decision.tap.sequence);
  to.u8(static_cast<std::uint8_t>(decision.outcome));
  to.u8(static_cast<std::uint8_t>(decision.reason));
  to.varint(coding::zigzag(decision.fare_minor));
  to.varint(coding::zigzag(decision.balance_after_minor));
  to.varint(coding::zigzag(decision.points_after));
  to.u8(static_cast<std::uint8_t>((decision.flags & ~protocol::DecisionFlags::replayed) |
                                  (offline_submission ? decided_offline_flag : 0)));
  return out;
}

Result<StoredDecision> decode_stored_decision(std::string_view bytes) {
  coding::Reader in(bytes);
  const std::uint8_t format = in.u8();
  protocol::DecisionRecord decision;
  if (format == decision_format_version) {
    decision.tap.reader.value = in.varint<std::uint32_t>();
    decision.tap.sequence = in.varint();
    return finish_decoding(in, decision, true);
  }
  if (format == decision_format_fixed) {
    if (bytes.size() != decision_fixed_bytes) {
      return Status::corruption("stored decision has " + std::to_string(bytes.size()) + " bytes, expected " +
                                std::to_string(decision_fixed_bytes));
    }
    decision.tap.reader.value = in.le<std::uint32_t>();
    decision.tap.sequence = in.le<std::uint64_t>();
    return finish_decoding(in, decision, false);
  }
  if (bytes.empty()) return Status::corruption("stored decision is empty");
  return Status::corruption("stored decision has an unknown format " + std::to_string(format));
}

Result<protocol::DecisionRecord> decode_decision(std::string_view bytes) {
  auto stored = decode_stored_decision(bytes);
  if (!stored) return stored.status();
  return stored->decision;
}

}  // namespace citycard::engine
