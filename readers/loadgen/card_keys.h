// The simulated cards' keys for the load generator, which plays both the
// cards and the readers: each tap of a CityDay carries the proof its card
// would make (city_day.h, DayOptions::card_keys).
//
// CardKeyTable holds the card bureau's personalisation export, the CSV that
// `citycard keys export` writes (derived in the token; the master key never
// leaves it):
//   card,key_version,card_key            header
//   04A1B2C3D4E5F6,1,8398C0C4CF4F7DC6... one line per card
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "card/crypto.h"
#include "citycard/ids.h"
#include "citycard/status.h"
#include "roster.h"

namespace citycard::loadgen {

class CardKeyTable final : public card::CardKeySource {
 public:
  // invalid_argument names the line that is malformed; io_error if unreadable.
  static Result<CardKeyTable> load(const std::string& path);
  void add(const CardId& card, std::uint8_t key_version, const card::CardKey& key);
  // not_found for a card (or version) not in the export.
  Result<card::CardKey> card_key(std::uint8_t key_version, const CardId& card_id) override;
  std::size_t size() const noexcept { return keys_.size(); }

 private:
  struct Entry {
    std::uint8_t key_version = 0;
    card::CardKey key;
  };
  std::unordered_map<CardId, Entry, CardIdHash> keys_;
};

}  // namespace citycard::loadgen
