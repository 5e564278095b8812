// Settlement::ingest_ack: an acknowledgement changes a batch's state, and an
// acceptance moves money, in one ledger write; every check runs first, so a
// refused ack changes nothing.
#include <fstream>
#include <iterator>
#include <map>

#include <openssl/evp.h>

#include "ack.h"
#include "citycard/limits.h"
#include "keys.h"
#include "settlement.h"

namespace citycard::settlement {
namespace {

// Source number of settlement's Origin::system idempotency keys ("SETL").
constexpr std::uint64_t settlement_system_source = 0x5345544C;
constexpr std::size_t settlement_legs_max = limits::group_transfers_max;

IdempotencyKey acceptance_key(BusinessDay day, OperatorId op) {
  // One acceptance per batch (day, operator), whatever its sequence.
  return {Origin::system, settlement_system_source,
          (static_cast<std::uint64_t>(static_cast<std::uint32_t>(day.days_since_epoch)) << 32) | op.value};
}

Result<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot open " + path);
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  if (size > ack_bytes_max) return Status::invalid_argument(path + " is larger than an acknowledgement may be");
  in.seekg(0);
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (!in) return Status::io_error("cannot read " + path);
  return text;
}

}  // namespace

Result<AckOutcome> Settlement::ingest_ack(const std::string& ack_path) {
  auto text = read_small_file(ack_path);
  if (!text) return text.status();
  std::uint8_t digest[32];
  unsigned length = 0;
  EVP_Digest(text->data(), text->size(), digest, &length, EVP_sha256(), nullptr);
  const std::string ack_sha256 = to_hex_lower(digest, length);
  if (ledger_.record(ledger::RecordSpace::settlement, record_key::ack(ack_sha256)))
    return Status::already_exists("duplicate acknowledgement: " + ack_path + " was already ingested");

  auto ack = parse_ack(text.value());
  if (!ack) return Status::invalid_argument(ack_path + ": " + ack.status().message());
  const OperatorId op{ack->operator_id};
  const std::string batch_name = "operator " + std::to_string(op.value) + ", day " + ack->day.to_string();
  auto batch_text = ledger_.record(ledger::RecordSpace::settlement, record_key::batch(ack->day, op));
  if (!batch_text) return Status::not_found("unknown batch: no batch for " + batch_name);
  auto batch = decode_batch(batch_text.value());
  if (!batch) return batch.status();
  if (ack->sequence < batch->sequence)
    return Status::refused("acknowledgement of " + batch_name + " sequence " + std::to_string(ack->sequence) +
                           ", which sequence " + std::to_string(batch->sequence) + " superseded");
  if (ack->sequence > batch->sequence)
    return Status::not_found("unknown batch: " + batch_name + " sequence " + std::to_string(ack->sequence) + " was never sent");
  if (ack->file_sha256 != batch->file_sha256)
    return Status::corruption("digest mismatch: the acknowledgement names a file with SHA-256 " + ack->file_sha256 +
                              " but " + batch->file_name + " was sent with " + batch->file_sha256 +
                              " (the file was altered, or the ack is for another file)");
  if (batch->state != BatchState::sent)
    return Status::already_exists("duplicate acknowledgement: " + batch->file_name + " is already " +
                                  std::string(batch_state_name(batch->state)));

  AckOutcome outcome;
  std::vector<ledger::RecordWrite> writes;
  writes.push_back({ledger::RecordSpace::settlement, record_key::ack(ack_sha256), record_key::batch(ack->day, op)});

  if (!ack->accepted) {
    // Rejected lines must name lines of the file that was sent, by number and tap id.
    std::map<std::uint64_t, const AckItem*> rejected_lines;
    std::string reasons;
    for (const auto& item : ack->items) {
      if (!item.whole_batch) rejected_lines.emplace(item.line_number, &item);
      if (reasons.size() < 200) reasons += (reasons.empty() ? "" : "; ") + item.reason_code + ": " + item.reason_text;
    }
    if (!rejected_lines.empty()) {
      const std::string path = options_.out_dir + "/" + batch->file_name;
      auto on_disk = sha256_file_hex(path);
      if (!on_disk || on_disk.value() != batch->file_sha256)
        return Status::corruption("cannot check the rejected lines: " + path + " is missing or not the file that was sent");
      std::size_t matched = 0;
      std::string mismatch;
      auto read = read_batch_file(path, [&](std::uint64_t number, std::string_view tap_id) {
        auto it = rejected_lines.find(number);
        if (it == rejected_lines.end()) return;
        if (it->second->tap_id == tap_id) ++matched;
        else if (mismatch.empty()) mismatch = "line " + std::to_string(number) + " is " + std::string(tap_id) + ", not " + it->second->tap_id;
      });
      if (!read) return read.status();
      if (!mismatch.empty()) return Status::invalid_argument("acknowledgement does not match the batch: " + mismatch);
      if (matched != rejected_lines.size()) return Status::invalid_argument("acknowledgement rejects lines the batch does not have");
      for (const auto& [number, item] : rejected_lines) {
        HeldLine held{item->tap_id, batch->sequence + 1, item->reason_code + ": " + item->reason_text};
        writes.push_back({ledger::RecordSpace::settlement, record_key::held(ack->day, op, item->tap_id), encode(held)});
      }
    }
    batch->state = BatchState::rejected;
    batch->note = reasons;
    writes.push_back({ledger::RecordSpace::settlement, record_key::batch(ack->day, op), encode(batch.value())});
    add_caller_records(writes, "acknowledgement " + ack_path + ": " + batch->file_name + " rejected, " +
                                   std::to_string(rejected_lines.size()) + " lines held back");
    if (Status s = ledger_.put_records(writes, {}); !s) return s;
    outcome.batch = batch.value();
    outcome.lines_held = rejected_lines.size();
    return outcome;
  }

  auto op_record = ledger_.operator_record(op);
  if (!op_record) return op_record.status();
  batch->state = BatchState::accepted;
  batch->note = "ack " + ack_sha256;
  writes.push_back({ledger::RecordSpace::settlement, record_key::batch(ack->day, op), encode(batch.value())});
  add_caller_records(writes, "acknowledgement " + ack_path + ": " + batch->file_name + " accepted, " +
                                 std::to_string(batch->totals.total_minor) + " TWD from payable to settled for operator " +
                                 std::to_string(op.value));
  ledger::PostingGroup group;
  group.key = acceptance_key(ack->day, op);
  group.records = std::move(writes);
  // A negative total (refunds exceeded fares) moves money back to the payable.
  const bool to_settled = batch->totals.total_minor >= 0;
  std::int64_t remaining = to_settled ? batch->totals.total_minor : -batch->totals.total_minor;
  while (remaining > 0) {
    if (group.transfers.size() == settlement_legs_max)
      return Status::refused(batch->file_name + " total is too large for one settlement group");
    Transfer t;
    t.debit_account = to_settled ? op_record->payable_account : op_record->settled_account;
    t.credit_account = to_settled ? op_record->settled_account : op_record->payable_account;
    t.asset = Asset::twd;
    t.amount_minor = std::min(remaining, limits::transfer_amount_minor_max);
    t.code = TransferCode::settlement;
    t.event_time = ack->acknowledged_at;
    t.operator_id = op;
    remaining -= t.amount_minor;
    group.transfers.push_back(t);
  }
  auto posted = ledger_.post({group});
  if (!posted) return posted.status();
  const ledger::GroupOutcome& result = posted->front();
  if (result.duplicate) return Status::already_exists("duplicate acknowledgement: " + batch->file_name + " was already settled");
  if (!result.posted) return Status::refused("settlement of " + batch->file_name + " refused by the ledger: " + result.reason.message());
  outcome.batch = batch.value();
  outcome.settlement_sequence = result.transfer_count > 0 ? result.first_sequence : 0;
  return outcome;
}

}  // namespace citycard::settlement
