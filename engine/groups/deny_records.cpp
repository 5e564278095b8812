#include "deny_records.h"

#include <algorithm>

#include "hashing.h"

namespace citycard::engine {

ledger::RecordWrite deny_record(const CardId& card, bool listed) {
  return {ledger::RecordSpace::engine, std::string(deny_record_prefix) + card_key(card), listed ? "1" : "0"};
}

Result<std::vector<CardId>> load_denied_cards(const ledger::Ledger& ledger) {
  std::vector<CardId> cards;
  auto snapshot = ledger.snapshot();
  Status scanned = snapshot->scan_records(
      ledger::RecordSpace::engine, deny_record_prefix, [&](std::string_view key, std::string_view value) {
        std::string_view id = key.substr(deny_record_prefix.size());
        if (value == "1" && !id.empty() && id.size() <= CardId::bytes_max) {
          cards.push_back(CardId::from_bytes(reinterpret_cast<const std::uint8_t*>(id.data()), id.size()));
        }
        return true;
      });
  if (!scanned) return scanned;
  return cards;
}

Result<std::vector<CardId>> listed_cards_in_ledger(const ledger::Ledger& ledger) {
  std::vector<CardId> cards;
  auto snapshot = ledger.snapshot();
  Status scanned = snapshot->scan_cards([&](const CardRecord& card) {
    bool listed = card.status != CardStatus::active;
    if (!listed) {
      auto wallet = ledger.account(card.wallet_account);
      listed = wallet && wallet->balance_minor < 0;
    }
    if (listed) cards.push_back(card.card);
    return true;
  });
  if (!scanned) return scanned;
  std::sort(cards.begin(), cards.end());
  return cards;
}

ledger::RecordWrite atc_record(const CardId& card, const AtcWindow& window) {
  return {ledger::RecordSpace::engine, std::string(atc_record_prefix) + card_key(card), window.encode()};
}

AtcWindow load_atc(const ledger::Ledger& ledger, const CardId& card) {
  auto value = ledger.record(ledger::RecordSpace::engine, std::string(atc_record_prefix) + card_key(card));
  if (!value) return {};
  return AtcWindow::decode(*value).value_or(AtcWindow{});
}

}  // namespace citycard::engine
