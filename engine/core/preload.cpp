#include "preload.h"

#include <chrono>

#include "deny_records.h"
#include "hashing.h"

namespace citycard::engine {

namespace {
CardId card_of(std::string_view bytes) {
  return CardId::from_bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}
}  // namespace

Result<PreloadReport> preload_cards(const ledger::Ledger& ledger, const MediaDirectory& directory,
                                    std::vector<std::unique_ptr<Shard>>& shards, bool with_proof_counters) {
  const auto started = std::chrono::steady_clock::now();
  PreloadReport report;
  auto snapshot = ledger.snapshot();
  const auto media = directory.table();
  // Each card to the shard of its account (media_directory.h).
  auto shard_of = [&](const CardId& card) -> Shard& {
    return *shards[shard_for(MediaDirectory::account_in(*media, card), shards.size())];
  };
  Status scanned = snapshot->scan_cards([&](const CardRecord& record) {
    ++report.cards;
    StoredCard card;
    card.record = record;
    if (shard_of(record.card).preload(std::move(card))) ++report.cached;
    return true;
  });
  if (!scanned) return scanned;
  scanned = snapshot->scan_records(ledger::RecordSpace::card_state, "", [&](std::string_view key, std::string_view value) {
    if (key.empty() || key.size() > CardId::bytes_max) return true;
    const CardId card = card_of(key);
    // A linked medium's own state from before states were per account: ignored.
    if (media->count(card) != 0) return true;
    shard_of(card).preload_state(card, value);
    ++report.states;
    return true;
  });
  if (!scanned) return scanned;
  if (with_proof_counters) {
    scanned = snapshot->scan_records(ledger::RecordSpace::engine, atc_record_prefix, [&](std::string_view key, std::string_view value) {
      const std::string_view id = key.substr(atc_record_prefix.size());
      auto atc = AtcWindow::decode(value);
      if (id.empty() || id.size() > CardId::bytes_max || !atc) return true;
      const CardId card = card_of(id);
      shard_of(card).preload_atc(card, *atc);
      return true;
    });
    if (!scanned) return scanned;
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace citycard::engine
