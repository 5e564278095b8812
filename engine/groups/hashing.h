// Hashes for the vocabulary ids the engine keys its maps by.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "citycard/ids.h"

namespace citycard::engine {

inline std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

struct CardIdHash {
  std::size_t operator()(const CardId& card) const noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the bytes, then mixed
    for (std::size_t i = 0; i < card.size(); ++i) h = (h ^ card.data()[i]) * 0x100000001b3ULL;
    return static_cast<std::size_t>(mix64(h));
  }
};

// The shard that owns a card.
inline std::size_t shard_for(const CardId& card, std::size_t shards) noexcept { return CardIdHash{}(card) % shards; }

struct TapIdHash {
  std::size_t operator()(const TapId& tap) const noexcept {
    return static_cast<std::size_t>(mix64(tap.sequence * 0x9e3779b97f4a7c15ULL ^ tap.reader.value));
  }
};

// The card id's raw bytes: the key of its card_state record.
inline std::string card_key(const CardId& card) {
  return std::string(reinterpret_cast<const char*>(card.data()), card.size());
}

}  // namespace citycard::engine
