// One card's day: the taps it makes, as events at readers of the CityMap.
// Internal to the simulator (city_day.cpp assembles every card's events).
#pragma once

#include <cstdint>
#include <vector>

#include "city_day.h"
#include "city_map.h"
#include "random.h"
#include "roster.h"

namespace citycard::loadgen {

// A tap before its reader numbers it.
struct Event {
  std::int64_t event_us = 0;
  std::uint32_t reader_index = 0;   // into CityMap::readers
  std::uint32_t card_index = 0;     // into the Roster
  std::uint32_t route = 0;
  std::uint32_t location = 0;
  std::int64_t amount_minor = 0;
  Mode mode = Mode::identify;
};

// Appends the day of roster card `card_index` to `out`. Returns true when the
// card made at least one tap.
bool plan_card_day(const CityMap& map, const Roster& roster, std::uint32_t card_index, const DayOptions& options,
                   std::int64_t local_midnight_us, std::vector<Event>& out);

}  // namespace citycard::loadgen
