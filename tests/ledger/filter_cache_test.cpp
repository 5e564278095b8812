// Tables are written with their bloom filter and index in partitions under a
// pinned top level. Whole, the filter of the city's cards table (5.2M small
// entries, 6.5 MB) was read and checksummed again by every card lookup: a
// 1.3M-card import took 577 s, 181 s with partitions (bench/README.md, "The
// cards table's filter"). Lookups must answer the same through partitions.
#include <cstdio>

#include <rocksdb/table_properties.h>

#include "ledger/rocks_ledger.h"
#include "ledger_fixture.h"

using namespace citycard;
using namespace citycard::testing;

namespace {

CardId card_number(std::uint32_t n, std::uint8_t kind) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "%02X%08X", kind, n);
  return *CardId::parse(hex);
}

}  // namespace

TEST_CASE("the cards table is written with its filter and index in partitions, and lookups answer through them") {
  LedgerFixture f;
  auto* rocks = dynamic_cast<ledger::RocksLedger*>(f.ledger.get());
  REQUIRE(rocks != nullptr);
  constexpr std::uint32_t cards = 20'000;
  for (std::uint32_t first = 0; first < cards; first += 5'000) {
    std::vector<ledger::NewCard> batch;
    for (std::uint32_t n = first; n < first + 5'000; ++n) {
      ledger::NewCard card;
      card.card = card_number(n, 0xA1);
      batch.push_back(card);
    }
    REQUIRE(f.ledger->issue_cards(batch));
  }
  rocksdb::ColumnFamilyHandle* family = rocks->family(ledger::RocksLedger::f_cards);
  REQUIRE(rocks->db()->Flush(rocksdb::FlushOptions(), family).ok());
  rocksdb::CompactRangeOptions to_bottom;
  to_bottom.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  REQUIRE(rocks->db()->CompactRange(to_bottom, family, nullptr, nullptr).ok());

  rocksdb::TablePropertiesCollection tables;
  REQUIRE(rocks->db()->GetPropertiesOfAllTables(family, &tables).ok());
  REQUIRE_FALSE(tables.empty());
  for (const auto& [name, table] : tables) {
    INFO(name);
    CHECK(table->index_partitions > 1);
    CHECK(table->top_level_index_size > 0);
    CHECK(table->filter_size > 0);
  }
  for (std::uint32_t n = 0; n < cards; n += 97) {
    auto issued = f.ledger->card(card_number(n, 0xA1));
    REQUIRE(issued);
    CHECK(issued->card == card_number(n, 0xA1));
    CHECK(f.ledger->card(card_number(n, 0xB2)).status().code() == StatusCode::not_found);
  }
}
