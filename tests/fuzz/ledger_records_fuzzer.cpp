// The ledger's record decoders: what the ledger, the engine and settlement
// read back from RocksDB (a damaged or foreign value must be an error, never
// a crash or a wrong value).
//
// input := kind:u8 value:bytes     kind % 17 picks the decoder:
//   0 account (ledger/encoding.h)         1 transfer            2 log block
//   3 idempotency value                   4 card record         5 group key
//   6 reader registration (ledger/readers.h)                    7 audit chain link
//   8 stored decision (engine/groups/decision_codec.h)          9 approval (JSON)
//  10 ATC window (engine/groups/atc_window.h)                  11 audit entry (JSON)
//  12 settlement close  13 settlement batch  14 held line (settlement/records.h)
//  15 card id text (CardId::parse) and idempotency reference text (IdempotencyKey::parse)
//  16 a tap's adjustments record (engine/groups/tap_adjustments.h) and tap reference text
// Checks: a fixed-layout value that decodes encodes back to exactly its
// bytes; every other one that decodes survives encode -> decode unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "approvals.h"
#include "atc_window.h"
#include "audit_entry.h"
#include "citycard/check.h"
#include "decision_codec.h"
#include "ledger/audit_chain.h"
#include "ledger/encoding.h"
#include "ledger/log_reader.h"
#include "ledger/readers.h"
#include "settlement/records.h"
#include "tap_adjustments.h"

namespace {

using namespace citycard;
namespace encoding = citycard::ledger::encoding;

void account(std::string_view value) {
  auto decoded = encoding::decode_account(value);
  if (!decoded) return;
  // Either format reads; written back (format 2) it reads the same.
  const std::string written = encoding::encode_account(*decoded);
  auto again = encoding::decode_account(written);
  CITYCARD_CHECK(again.has_value() && encoding::encode_account(*again) == written);
}

void transfer(std::string_view value) {
  auto decoded = encoding::decode_fixed_transfer(value);
  if (!decoded) return;
  std::string out;
  encoding::encode_fixed_transfer(out, decoded->key, decoded->leg, decoded->transfer);
  CITYCARD_CHECK(out == value);
}

// Either block format: read in order, then backwards (the skip table), the
// same transfers; a block read whole is written again as format 2 and reads the same.
void log_block(std::string_view block) {
  auto forward = encoding::BlockReader::open(block);
  if (!forward) return;
  const std::uint32_t count = forward->count();
  CITYCARD_CHECK(count > 0);
  std::vector<encoding::TransferValue> read;
  for (std::uint32_t i = 0; i < count; ++i) {
    auto stored = ledger::transfer_in_block(*forward, 1000, i);
    if (!stored) break;
    CITYCARD_CHECK(stored->sequence == 1000 + i);
    read.push_back({stored->key, stored->leg, stored->transfer});
  }
  auto backward = encoding::BlockReader::open(block);
  CITYCARD_CHECK(backward.has_value() && backward->count() == count);
  for (std::uint32_t i = static_cast<std::uint32_t>(read.size()); i-- > 0;) {
    auto again = backward->at(i);
    CITYCARD_CHECK(again.has_value() && again->key == read[i].key && again->leg == read[i].leg &&
                   again->transfer == read[i].transfer);
  }
  if (read.size() != count) return;
  encoding::BlockWriter writer;
  for (const auto& value : read) writer.add(value.key, value.leg, value.transfer);
  const std::string written = writer.finish();
  auto reread = encoding::BlockReader::open(written);
  CITYCARD_CHECK(reread.has_value() && reread->count() == count);
  for (std::uint32_t i = 0; i < count; ++i) {
    auto value = reread->at(i);
    CITYCARD_CHECK(value.has_value() && value->key == read[i].key && value->transfer == read[i].transfer);
  }
}

void idempotency(std::string_view value) {
  auto decoded = encoding::decode_idempotency(value);
  if (decoded) {
    CITYCARD_CHECK(encoding::encode_idempotency(decoded->first_sequence, decoded->count, decoded->outcome) == value);
  }
}

void card_record(std::string_view value) {
  auto decoded = encoding::decode_card(value);
  if (decoded) CITYCARD_CHECK(encoding::encode_card(*decoded) == value);
}

void group_key(std::string_view value) {
  coding::Reader reader(value);
  auto key = encoding::decode_group_key(reader);
  if (key) CITYCARD_CHECK(encoding::group_key(*key) == value.substr(0, encoding::group_key_bytes));
}

void reader(std::string_view value) {
  auto decoded = ledger::decode_reader(ReaderId{17}, value);
  if (decoded) {
    CITYCARD_CHECK(decoded->id == ReaderId{17});
    CITYCARD_CHECK(ledger::encode_reader(*decoded) == value);
  }
}

void audit_link(std::string_view value) {
  auto decoded = ledger::decode_audit_link(value);
  if (decoded) CITYCARD_CHECK(ledger::encode_audit_link(*decoded) == value);
}

void decision(std::string_view value) {
  auto decoded = engine::decode_stored_decision(value);
  if (!decoded) return;
  // Any format read is written back in today's, and reads the same (bytes
  // differ: format 1, or a varint not in its shortest form).
  const std::string written = engine::encode_decision(decoded->decision, decoded->offline_submission);
  auto again = engine::decode_stored_decision(written);
  CITYCARD_CHECK(again.has_value() && again->decision == decoded->decision &&
                 again->offline_submission == decoded->offline_submission);
  if (value.size() > 0 && value[0] == engine::decision_format_version) CITYCARD_CHECK(written.size() <= value.size());
  auto plain = engine::decode_decision(value);
  CITYCARD_CHECK(plain.has_value() && *plain == decoded->decision);
}

void approval(std::string_view value) {
  const IdempotencyKey ref{Origin::operator_action, 3, 99};
  auto decoded = engine::decode_approval(ref, value);
  if (!decoded) return;
  CITYCARD_CHECK(decoded->ref == ref);
  const std::string encoded = engine::encode_approval(*decoded);
  auto again = engine::decode_approval(ref, encoded);
  CITYCARD_CHECK(again.has_value());
  CITYCARD_CHECK(engine::encode_approval(*again) == encoded);
}

void atc_window(std::string_view value) {
  auto decoded = engine::AtcWindow::decode(value);
  if (!decoded) return;
  const std::string encoded = decoded->encode();
  CITYCARD_CHECK(encoded.size() == engine::AtcWindow::encoded_bytes);
  if (value.size() == engine::AtcWindow::encoded_bytes) CITYCARD_CHECK(encoded == value);
  auto again = engine::AtcWindow::decode(encoded);
  CITYCARD_CHECK(again.has_value() && again->encode() == encoded);
}

// A body that is not an entry (an old free-text one, or damaged) is its detail.
void audit_entry(std::string_view value) {
  engine::AuditEntry entry = engine::audit_entry_from_body("op:3:99", std::string(value));
  CITYCARD_CHECK(entry.ref == "op:3:99");
  const auto parsed = nlohmann::json::parse(value, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !engine::audit_body_has_entry_types(parsed)) {
    CITYCARD_CHECK(entry.detail == value);
    return;
  }
  const std::string body = engine::audit_record(entry).value;
  engine::AuditEntry again = engine::audit_entry_from_body("op:3:99", body);
  CITYCARD_CHECK(engine::audit_record(again).value == body);
}

template <typename Decode>
void settlement_record(std::string_view value, Decode decode) {
  auto decoded = decode(value);
  if (!decoded) return;
  const std::string encoded = settlement::encode(*decoded);
  auto again = decode(encoded);
  CITYCARD_CHECK(again.has_value());
  CITYCARD_CHECK(settlement::encode(*again) == encoded);
}

void reference_texts(std::string_view value) {
  if (auto card = CardId::parse(value)) {
    CITYCARD_CHECK(!card->empty() && card->size() <= CardId::bytes_max);
    CITYCARD_CHECK(CardId::parse(card->to_string()) == card);
  }
  if (auto key = IdempotencyKey::parse(value)) CITYCARD_CHECK(IdempotencyKey::parse(key->to_string()) == key);
}

void tap_adjusted(std::string_view value) {
  if (auto tap = engine::parse_tap_reference(value)) {
    CITYCARD_CHECK(engine::parse_tap_reference(engine::tap_reference(*tap)) == tap);
  }
  const TapId tap{ReaderId{17}, 5000};
  auto decoded = engine::decode_tap_adjusted(tap, value);
  if (!decoded) return;
  for (const auto& entry : decoded->operators) CITYCARD_CHECK(entry.credited_minor >= 0 && entry.debited_minor >= 0);
  CITYCARD_CHECK(decoded->credited_minor() >= 0 && decoded->debited_minor() >= 0);
  const std::string encoded = engine::encode_tap_adjusted(*decoded);
  auto again = engine::decode_tap_adjusted(tap, encoded);
  CITYCARD_CHECK(again.has_value());
  CITYCARD_CHECK(engine::encode_tap_adjusted(*again) == encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view value(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 17) {
    case 0: account(value); break;
    case 1: transfer(value); break;
    case 2: log_block(value); break;
    case 3: idempotency(value); break;
    case 4: card_record(value); break;
    case 5: group_key(value); break;
    case 6: reader(value); break;
    case 7: audit_link(value); break;
    case 8: decision(value); break;
    case 9: approval(value); break;
    case 10: atc_window(value); break;
    case 11: audit_entry(value); break;
    case 12: settlement_record(value, settlement::decode_close); break;
    case 13: settlement_record(value, settlement::decode_batch); break;
    case 14: settlement_record(value, settlement::decode_held); break;
    case 15: reference_texts(value); break;
    case 16: tap_adjusted(value); break;
  }
  return 0;
}
