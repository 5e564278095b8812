#include "card_keys.h"

#include <fstream>

namespace citycard::loadgen {

Result<CardKeyTable> CardKeyTable::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::io_error("cannot read card keys " + path);
  CardKeyTable table;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (number == 1 && line.rfind("card,", 0) == 0) continue;
    if (line.empty()) continue;
    auto first = line.find(',');
    auto second = first == std::string::npos ? first : line.find(',', first + 1);
    auto bad = [&](const char* what) {
      return Status::invalid_argument(path + ":" + std::to_string(number) + ": " + what);
    };
    if (second == std::string::npos) return bad("expected card,key_version,card_key");
    auto card = CardId::parse(line.substr(0, first));
    if (!card) return bad("not a card id");
    int version = 0;
    try {
      version = std::stoi(line.substr(first + 1, second - first - 1));
    } catch (const std::exception&) {
      return bad("key_version is not a number");
    }
    if (version < 1 || version > 255) return bad("key_version must be 1..255");
    auto key = card::parse_key_hex(line.substr(second + 1));
    if (!key) return bad("card_key must be 32 hex digits");
    table.add(*card, static_cast<std::uint8_t>(version), card::CardKey{*key});
  }
  return table;
}

void CardKeyTable::add(const CardId& card, std::uint8_t key_version, const card::CardKey& key) {
  keys_[card] = Entry{key_version, key};
}

Result<card::CardKey> CardKeyTable::card_key(std::uint8_t key_version, const CardId& card_id) {
  auto found = keys_.find(card_id);
  if (found == keys_.end() || found->second.key_version != key_version) {
    return Status::not_found("no key for card " + card_id.to_string() + " version " + std::to_string(key_version) +
                             " in the personalisation export");
  }
  return found->second.key;
}

}  // namespace citycard::loadgen
