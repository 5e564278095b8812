#include "city_map.h"

namespace citycard::loadgen {

const char* site_kind_name(SiteKind kind) noexcept {
  switch (kind) {
    case SiteKind::bus: return "bus";
    case SiteKind::metro_gate: return "metro_gate";
    case SiteKind::metro_top_up: return "metro_top_up";
    case SiteKind::bike_station: return "bike_station";
    case SiteKind::taxi: return "taxi";
    case SiteKind::library: return "library";
    case SiteKind::door: return "door";
    case SiteKind::meeting: return "meeting";
    case SiteKind::pool: return "pool";
    case SiteKind::sports_centre: return "sports_centre";
    case SiteKind::car_park: return "car_park";
    case SiteKind::government: return "government";
    case SiteKind::shop: return "shop";
    case SiteKind::shop_top_up: return "shop_top_up";
  }
  return "?";
}

namespace {

// Codes from rules/city.toml.
constexpr std::uint32_t city_bus_operators[] = {101, 102, 103};
constexpr std::uint32_t segment_bus_operator = 104;
constexpr std::uint32_t metro_operator = 201;
constexpr std::uint32_t bike_operator = 301;
constexpr std::uint32_t taxi_operators[] = {401, 402};
constexpr std::uint32_t library_operator = 501;
constexpr std::uint32_t door_operator = 511;
constexpr std::uint32_t meeting_operator = 512;
constexpr std::uint32_t pool_operators[] = {601, 602};
constexpr std::uint32_t sports_operators[] = {701, 702};
constexpr std::uint32_t car_park_operator = 801;
constexpr std::uint32_t government_operator = 851;
constexpr std::uint32_t store_operator = 901;
constexpr std::uint32_t bookshop_operator = 902;
constexpr std::uint32_t metro_stations_first = 1001, metro_station_count = 8;
constexpr std::uint32_t seg_a_first = 2001, seg_b_first = 2011, seg_area_stops = 5;
constexpr std::uint32_t city_bus_stops_per_route = 24;
constexpr std::uint32_t segment_routes = 4;
constexpr std::uint32_t library_branches = 12, door_count = 6, meeting_rooms = 4, government_counter_count = 5;
constexpr std::uint32_t turnstiles_per_venue = 2;

class Builder {
 public:
  Builder(CityMap& map, std::uint32_t first) : map_(map), next_id_(first) {}
  std::uint32_t add(SiteKind kind, std::uint32_t operator_id, std::uint32_t route, std::uint32_t location) {
    auto index = static_cast<std::uint32_t>(map_.readers.size());
    map_.readers.push_back({ReaderId{next_id_++}, kind, OperatorId{operator_id}, route, location});
    return index;
  }

 private:
  CityMap& map_;
  std::uint32_t next_id_;
};

}  // namespace

CityMap CityMap::standard(const MapOptions& options) {
  CityMap map;
  Builder builder(map, options.reader_id_first);

  for (std::uint32_t r = 0; r < options.city_bus_routes; ++r) {
    BusRoute route;
    route.operator_id = OperatorId{city_bus_operators[r % 3]};
    route.route = 1 + r;
    for (std::uint32_t k = 0; k < city_bus_stops_per_route; ++k) route.stops.push_back(100'000 + route.route * 100 + k);
    for (std::uint32_t v = 0; v < options.vehicles_per_route; ++v) {
      route.vehicles.push_back(builder.add(SiteKind::bus, route.operator_id.value, route.route, route.stops[0]));
    }
    map.bus_routes.push_back(std::move(route));
  }
  // Mountain-line routes: through both segment areas, seg_a then seg_b.
  for (std::uint32_t r = 0; r < segment_routes; ++r) {
    BusRoute route;
    route.operator_id = OperatorId{segment_bus_operator};
    route.route = 901 + r;
    route.segmented = true;
    for (std::uint32_t k = 0; k < seg_area_stops; ++k) route.stops.push_back(seg_a_first + k);
    for (std::uint32_t k = 0; k < seg_area_stops; ++k) route.stops.push_back(seg_b_first + k);
    for (std::uint32_t v = 0; v < options.vehicles_per_route; ++v) {
      route.vehicles.push_back(builder.add(SiteKind::bus, segment_bus_operator, route.route, route.stops[0]));
    }
    map.bus_routes.push_back(std::move(route));
  }
  for (std::uint32_t s = 0; s < metro_station_count; ++s) {
    MetroStation station;
    station.location = metro_stations_first + s;
    for (std::uint32_t g = 0; g < options.gates_per_station; ++g) {
      station.gates.push_back(builder.add(SiteKind::metro_gate, metro_operator, 0, station.location));
    }
    station.top_up_machine = builder.add(SiteKind::metro_top_up, metro_operator, 0, station.location);
    map.stations.push_back(std::move(station));
  }
  for (std::uint32_t b = 0; b < options.bike_stations; ++b) {
    map.bike_stations.push_back(builder.add(SiteKind::bike_station, bike_operator, 0, 3000 + b));
  }
  for (std::uint32_t t = 0; t < options.taxis; ++t) {
    map.taxis.push_back(builder.add(SiteKind::taxi, taxi_operators[t % 2], 0, 4000 + t));
  }
  for (std::uint32_t l = 0; l < library_branches; ++l) {
    map.libraries.push_back(builder.add(SiteKind::library, library_operator, 0, 5000 + l));
  }
  for (std::uint32_t d = 0; d < door_count; ++d) map.doors.push_back(builder.add(SiteKind::door, door_operator, 0, 5100 + d));
  for (std::uint32_t m = 0; m < meeting_rooms; ++m) {
    map.meetings.push_back(builder.add(SiteKind::meeting, meeting_operator, 0, 5200 + m));
  }
  for (std::uint32_t operator_id : pool_operators) {
    for (std::uint32_t t = 0; t < turnstiles_per_venue; ++t) {
      map.pools.push_back(builder.add(SiteKind::pool, operator_id, 0, operator_id));
    }
  }
  for (std::uint32_t operator_id : sports_operators) {
    for (std::uint32_t t = 0; t < turnstiles_per_venue; ++t) {
      map.sports_centres.push_back(builder.add(SiteKind::sports_centre, operator_id, 0, operator_id));
    }
  }
  for (std::uint32_t g = 0; g < options.car_park_gates; ++g) {
    map.car_parks.push_back(builder.add(SiteKind::car_park, car_park_operator, 0, 8000 + g));
  }
  for (std::uint32_t c = 0; c < government_counter_count; ++c) {
    map.government_counters.push_back(builder.add(SiteKind::government, government_operator, 0, 8500 + c));
  }
  const std::uint32_t bookshop_tills = options.shop_tills / 15;
  for (std::uint32_t s = 0; s < options.shop_tills; ++s) {
    bool bookshop = s < bookshop_tills;
    map.shops.push_back(builder.add(SiteKind::shop, bookshop ? bookshop_operator : store_operator, 0, 9000 + s));
  }
  // Last, so every other reader keeps its id.
  for (std::uint32_t s = 0; s < options.shop_tills; ++s) {
    const ReaderSite& till = map.readers[map.shops[s]];
    map.shop_top_ups.push_back(builder.add(SiteKind::shop_top_up, till.operator_id.value, 0, till.location));
  }
  return map;
}

}  // namespace citycard::loadgen
