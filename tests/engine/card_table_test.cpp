// FlatTable (the shard's card table and in-flight taps) against
// std::unordered_map: random inserts, finds and erases (growth, collisions,
// runs that wrap around the slot array, backward shifts), with the prefetch
// hints called throughout.
#include <cstdio>
#include <functional>
#include <random>
#include <unordered_map>

#include <catch2/catch.hpp>

#include "card_table.h"

namespace citycard::engine::testing {
namespace {

template <typename Key, typename Hash>
void agrees_with_a_hash_map(const std::function<Key(std::mt19937_64&, std::size_t)>& make_key) {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 random(seed);
    FlatTable<Key, std::uint64_t, Hash> table;
    std::unordered_map<Key, std::uint64_t, Hash> model;
    std::vector<Key> ids;
    const std::size_t universe = seed % 2 ? 3000 : 40000;  // few ids: many erases of present ones
    for (std::size_t i = 0; i < universe; ++i) ids.push_back(make_key(random, i));
    for (int step = 0; step < 60000; ++step) {
      const Key& id = ids[random() % ids.size()];
      // The prefetch hints (CardBook::prefetch) on present and absent keys
      // alike: they must change nothing the model does not.
      table.prefetch_slot(id);
      table.prefetch_entry(id);
      const auto action = random() % 10;
      if (action < 5) {
        if (model.count(id) == 0) {
          const std::uint64_t value = random();
          table.insert(id, value);
          model.emplace(id, value);
        }
      } else if (action < 8) {
        REQUIRE(table.erase(id) == (model.erase(id) == 1));
      } else {
        auto* found = table.find(id);
        auto it = model.find(id);
        REQUIRE((found != nullptr) == (it != model.end()));
        if (found) REQUIRE(*found == it->second);
      }
      REQUIRE(table.size() == model.size());
    }
    for (const Key& id : ids) {
      auto* found = table.find(id);
      auto it = model.find(id);
      REQUIRE((found != nullptr) == (it != model.end()));
      if (found) REQUIRE(*found == it->second);
    }
  }
}

}  // namespace

TEST_CASE("the card table agrees with a hash map through random inserts and erases") {
  agrees_with_a_hash_map<CardId, CardIdHash>([](std::mt19937_64& random, std::size_t) {
    std::uint8_t bytes[7];
    for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
    return CardId::from_bytes(bytes, 1 + random() % 7);
  });
}

TEST_CASE("the in-flight tap table agrees with a hash map (readers' sequences run consecutively)") {
  agrees_with_a_hash_map<TapId, TapIdHash>([](std::mt19937_64&, std::size_t i) {
    return TapId{ReaderId{static_cast<std::uint32_t>(1 + i % 37)}, 1 + i / 37};
  });
}

}  // namespace citycard::engine::testing
