// What settlement keeps in the ledger (RecordSpace::settlement): the closes,
// the batches and their states, lines held back after a rejection, and the
// acknowledgements already ingested. Keys sort by day, then operator:
//
//   "last"                              -> day            the last closed business day
//   "close/" YYYYMMDD                   -> CloseRecord
//   "batch/" YYYYMMDD "/" OOOOOOOOOO    -> BatchRecord    operator id, 10 digits
//   "held/" YYYYMMDD "/" OOOOOOOOOO "/" tap_id -> HeldLine
//   "ack/" sha256(ack file)             -> batch key
//   "issuer/" YYYYMMDD                  -> IssuerRecord   the issuer's file of the day (issuer_file.h)
//
// Values are "name=value" lines (LF-separated), unknown names ignored, so a
// later version can add fields; decode() reports a missing field as corruption.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "batch_file.h"
#include "issuer_file.h"
#include "business_day.h"
#include "citycard/ids.h"
#include "citycard/status.h"
#include "citycard/time.h"

namespace citycard::settlement {

// One close. Transfers of the batch lie in [from_sequence, to_sequence]; see
// assign.h for the rule that uses previous_to_sequence.
struct CloseRecord {
  BusinessDay day;
  DayConfig config;
  EventTime created_at;
  std::uint64_t from_sequence = 1;
  std::uint64_t to_sequence = 0;           // the ledger's last sequence when the day closed
  std::uint64_t previous_to_sequence = 0;  // to_sequence of the previous close; 0 for the first
  std::uint64_t next_from_sequence = 1;    // where the next close starts scanning
  std::uint64_t transfers_scanned = 0;
};

enum class BatchState : std::uint8_t {
  sent = 1,      // files written, waiting for the clearing house
  accepted = 2,  // accepted; payable moved to settled
  rejected = 3,  // rejected; waiting for `settle resend` under sequence + 1
};
std::string_view batch_state_name(BatchState state);

struct BatchRecord {
  BusinessDay day;
  OperatorId operator_id;
  std::string operator_name;
  std::uint32_t sequence = 1;
  BatchState state = BatchState::sent;
  std::string file_name;       // in the output directory
  std::string file_sha256;     // lower-case hex of the current file
  BatchTotals totals;          // of the current file
  std::string note;            // the rejection reason, or the acceptance's ack digest
};

// The co-branded card issuer's file of one day. Days closed before the
// issuer files existed have none.
struct IssuerRecord {
  BusinessDay day;
  std::string file_name;
  std::string file_sha256;
  IssuerTotals totals;
};

struct HeldLine {
  std::string tap_id;
  std::uint32_t held_from_sequence = 0;  // files with this sequence and later leave it out
  std::string reason;
};

namespace record_key {
inline constexpr std::string_view last = "last";
std::string close(BusinessDay day);
std::string batch_prefix(BusinessDay day);            // "batch/20240305/"
std::string batch(BusinessDay day, OperatorId op);
std::string held_prefix(BusinessDay day, OperatorId op);
std::string held(BusinessDay day, OperatorId op, std::string_view tap_id);
std::string ack(std::string_view ack_sha256);
std::string issuer(BusinessDay day);
}  // namespace record_key

std::string encode(const CloseRecord& record);
std::string encode(const BatchRecord& record);
std::string encode(const HeldLine& record);
Result<CloseRecord> decode_close(std::string_view text);
Result<BatchRecord> decode_batch(std::string_view text);
Result<HeldLine> decode_held(std::string_view text);
std::string encode(const IssuerRecord& record);
Result<IssuerRecord> decode_issuer(std::string_view text);

}  // namespace citycard::settlement
