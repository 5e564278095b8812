// The card office's CSV imports and the settlement CSV line grammar:
//   `citycard card import` rows      engine::parse_card_row     (engine/groups/office_import.h)
//   `citycard transfers import` rows engine::parse_transfer_row
//   `citycard reader import` rows    engine::parse_reader_row   (engine/core/reader_json.h)
//   settlement files and acks        settlement::csv::parse_line (settlement/csv.h)
//
// input := line ("\n" line)*     every line split as the imports split it
//                                (split_import_line) and given to each row
//                                parser, and to csv::parse_line.
// Checks: an accepted row survives the trip the CLI makes it take to a
// running engine (rows -> JSON text -> rows, office_import.h) unchanged;
// a CSV line's fields, written back with csv::append_field, parse to the
// same fields.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "citycard/check.h"
#include "engine/core/reader_json.h"
#include "office_import.h"
#include "settlement/csv.h"

namespace {

using namespace citycard;

const EventTime default_time = EventTime::from_unix_seconds(1'795'651'200);

void card_row(const std::vector<std::string>& fields) {
  auto card = engine::parse_card_row(fields);
  if (!card) return;
  CITYCARD_CHECK(!card->card.empty() && card->overdraft_minor >= 0);
  const std::string wire = engine::card_rows_json({*card}).dump();
  auto back = engine::card_rows_from_json(nlohmann::json::parse(wire));
  CITYCARD_CHECK(back.has_value() && back->size() == 1);
  const ledger::NewCard& again = back->front();
  CITYCARD_CHECK(again.card == card->card && again.category == card->category && again.media == card->media &&
                 again.overdraft_minor == card->overdraft_minor && again.linked_to == card->linked_to);
}

void transfer_row(const std::vector<std::string>& fields) {
  auto row = engine::parse_transfer_row(fields, default_time);
  if (!row) return;
  CITYCARD_CHECK(row->transfer.amount_minor > 0);
  const std::string wire = engine::transfer_rows_json({*row}).dump();
  auto back = engine::transfer_rows_from_json(nlohmann::json::parse(wire));
  CITYCARD_CHECK(back.has_value() && back->size() == 1);
  const engine::TransferRow& again = back->front();
  const Transfer& a = row->transfer;
  const Transfer& b = again.transfer;
  CITYCARD_CHECK(again.key == row->key && again.debit == row->debit && again.credit == row->credit);
  CITYCARD_CHECK(a.amount_minor == b.amount_minor && a.code == b.code && a.event_time == b.event_time &&
                 a.mode == b.mode && a.location == b.location && a.flags == b.flags && a.operator_id == b.operator_id);
}

void reader_row(const std::vector<std::string>& fields) {
  auto reader = engine::parse_reader_row(fields);
  if (!reader) return;
  CITYCARD_CHECK(reader->id.value != 0);
  const std::string wire = engine::reader_json(*reader).dump();
  auto back = engine::reader_from_json(nlohmann::json::parse(wire));
  CITYCARD_CHECK(back.has_value() && *back == *reader);
}

void settlement_line(std::string_view line) {
  auto fields = settlement::csv::parse_line(line);
  if (!fields) return;
  CITYCARD_CHECK(!fields->empty());
  std::string written;
  for (std::size_t i = 0; i < fields->size(); ++i) settlement::csv::append_field(written, (*fields)[i], i == 0);
  auto again = settlement::csv::parse_line(written);
  CITYCARD_CHECK(again.has_value() && *again == *fields);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (true) {
    const std::size_t end = input.find('\n');
    const std::string_view line = input.substr(0, end);
    const std::vector<std::string> fields = engine::split_import_line(line);
    CITYCARD_CHECK(!fields.empty());
    for (const std::string& field : fields) {
      CITYCARD_CHECK(field.find(',') == std::string::npos);
      CITYCARD_CHECK(field.empty() || (field.front() != ' ' && field.back() != ' ' && field.back() != '\r'));
    }
    card_row(fields);
    transfer_row(fields);
    reader_row(fields);
    settlement_line(line);
    if (end == std::string_view::npos) break;
    input.remove_prefix(end + 1);
  }
  return 0;
}
