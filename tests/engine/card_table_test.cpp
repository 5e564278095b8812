// CardTable against std::unordered_map: random inserts, finds and erases
// (growth, collisions, runs that wrap around the slot array, backward shifts).
#include <cstdio>
#include <random>
#include <unordered_map>

#include <catch2/catch.hpp>

#include "card_table.h"

namespace citycard::engine::testing {

TEST_CASE("the card table agrees with a hash map through random inserts and erases") {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 random(seed);
    CardTable<std::uint64_t> table;
    std::unordered_map<CardId, std::uint64_t, CardIdHash> model;
    std::vector<CardId> ids;
    const std::size_t universe = seed % 2 ? 3000 : 40000;  // few ids: many erases of present ones
    for (std::size_t i = 0; i < universe; ++i) {
      std::uint8_t bytes[7];
      for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
      ids.push_back(CardId::from_bytes(bytes, 1 + random() % 7));
    }
    for (int step = 0; step < 60000; ++step) {
      const CardId& id = ids[random() % ids.size()];
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
    for (const CardId& id : ids) {
      auto* found = table.find(id);
      auto it = model.find(id);
      REQUIRE((found != nullptr) == (it != model.end()));
      if (found) REQUIRE(*found == it->second);
    }
  }
}

}  // namespace citycard::engine::testing
