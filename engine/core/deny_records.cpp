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

ledger::RecordWrite atc_record(const CardId& card, std::uint32_t atc) {
  std::string value(4, '\0');
  for (int i = 0; i < 4; ++i) value[static_cast<std::size_t>(i)] = static_cast<char>((atc >> (8 * i)) & 0xFF);
  return {ledger::RecordSpace::engine, std::string(atc_record_prefix) + card_key(card), value};
}

std::optional<std::uint32_t> decode_atc(std::string_view value) {
  if (value.size() != 4) return std::nullopt;
  std::uint32_t atc = 0;
  for (int i = 0; i < 4; ++i) atc |= std::uint32_t{static_cast<unsigned char>(value[static_cast<std::size_t>(i)])} << (8 * i);
  return atc;
}

std::uint32_t load_atc(const ledger::Ledger& ledger, const CardId& card) {
  auto value = ledger.record(ledger::RecordSpace::engine, std::string(atc_record_prefix) + card_key(card));
  if (!value) return 0;
  return decode_atc(*value).value_or(0);
}

}  // namespace citycard::engine
