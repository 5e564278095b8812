// Test helper: tap records written straight into a ledger, a few per
// business day, for the retention tests (engine/groups/tap_retention.h).
#pragma once

#include <map>
#include <string>

#include "engine_fixture.h"
#include "tap_listing.h"
#include "tap_records.h"

namespace citycard::engine::testing {

inline const std::string retention_card_a = "04A1B2C3D4E5F6";
inline const std::string retention_card_b = "04A2B2C3D4E5F6";

// Three records on each business day first_day..last_day: card a on the bus
// (reader bus_reader), card b at the pool, card a refused at the metro.
inline void write_day_records(ledger::Ledger& ledger, std::int32_t first_day, std::int32_t last_day) {
  std::vector<ledger::RecordWrite> writes;
  std::uint64_t sequence = 1;
  for (std::int32_t day = first_day; day <= last_day; ++day) {
    for (int i = 0; i < 3; ++i) {
      RecordedTap record;
      record.business_day = day;
      record.tap.id = TapId{ReaderId{i == 0 ? bus_reader : i == 1 ? pool_gate : metro_gate}, sequence++};
      record.tap.card = *CardId::parse(i == 1 ? retention_card_b : retention_card_a);
      record.tap.media = Media::physical_card;
      record.tap.mode = i == 0 ? Mode::bus_board : i == 1 ? Mode::entry : Mode::metro_in;
      record.tap.event_time = EventTime{static_cast<std::int64_t>(day) * 86'400'000'000LL + 3'600'000'000LL};
      record.tap.operator_id = OperatorId{i == 0 ? 101u : i == 1 ? 601u : 201u};
      record.arrival = record.tap.event_time;
      record.account = AccountId{1000 + static_cast<std::uint64_t>(i)};
      record.category = static_cast<std::uint8_t>(RiderCategory::general);
      record.outcome = i == 2 ? protocol::Outcome::refused : protocol::Outcome::approved;
      record.reason = i == 2 ? RefusalReason::card_blocked : RefusalReason::none;
      record.fare_minor = i == 0 ? 15 : 0;
      record.rule_set_version = 1;
      writes.push_back(tap_record_write(record));
    }
  }
  REQUIRE(ledger.put_records(writes, {}));
}

// One day's listing, every entry on one page.
inline nlohmann::json listed_day(const ledger::Ledger& ledger, std::int32_t day, std::optional<std::string> card = {}) {
  TapListing listing;
  listing.business_day = day;
  listing.limit = limits::history_page_max;
  if (card) listing.card = *CardId::parse(*card);
  auto page = tap_listing_json(*ledger.snapshot(), listing);
  INFO(page.status().to_string());
  REQUIRE(page);
  return (*page)["entries"];
}

}  // namespace citycard::engine::testing
