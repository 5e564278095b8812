// The simulated city's places and their card readers, in the codes of
// rules/city.toml: operator ids, metro stations 1001..1008, segment-bus stops
// 2001..2005 (area seg_a) and 2011..2015 (seg_b), venues, payments, bikes.
// City-bus routes and stops are not listed in the rule set (their network
// takes any route of operators 101..103 at a flat fare), so the map numbers
// them itself: route R of operator O has stops 100000 + R * 100 + k.
//
// Every place has readers with fixed ids, assigned in order from
// MapOptions::reader_id_first: a bus's one validator (boarding and
// alighting), metro gates per station, a top-up machine per station, a bike
// kiosk per docking station, a meter per taxi, and desk, door, turnstile,
// gate or till terminals at venues and shops. tests/loadgen checks every code
// against the rule set loaded from rules/city.toml.
#pragma once

#include <cstdint>
#include <vector>

#include "citycard/ids.h"

namespace citycard::loadgen {

enum class SiteKind : std::uint8_t {
  bus = 1,          // a bus's validator: route fixed, stop changes
  metro_gate,       // a gate at one station: tap in and tap out
  metro_top_up,     // a station's top-up machine
  bike_station,     // a docking station's kiosk: rent and return
  taxi,             // a love-taxi meter (entry with the meter amount)
  library,          // identify
  door,             // identify (City Hall staff doors)
  meeting,          // identify (meeting sign-in)
  pool,             // entry at a fixed price
  sports_centre,    // entry at a fixed price
  car_park,         // pay (device amount)
  government,       // pay (fees counter)
  shop,             // pay at the till
  shop_top_up,      // the till's top-up terminal (cash top-up; a top-up machine in the registry)
};
inline constexpr int site_kind_count = 14;
const char* site_kind_name(SiteKind kind) noexcept;

struct ReaderSite {
  ReaderId reader;
  SiteKind kind = SiteKind::bus;
  OperatorId operator_id;
  std::uint32_t route = 0;     // bus route; 0 otherwise
  std::uint32_t location = 0;  // station, venue or shop; for buses the first stop
};

struct BusRoute {
  OperatorId operator_id;
  std::uint32_t route = 0;
  bool segmented = false;              // board-and-alight fares (operator 104)
  std::vector<std::uint32_t> stops;    // in order along the route
  std::vector<std::uint32_t> vehicles; // indexes into CityMap::readers
};

struct MetroStation {
  std::uint32_t location = 0;          // 1001..1008
  std::vector<std::uint32_t> gates;    // indexes into CityMap::readers
  std::uint32_t top_up_machine = 0;    // index into CityMap::readers
};

struct MapOptions {
  std::uint32_t reader_id_first = 1;        // the first reader id; default 1
  std::uint32_t city_bus_routes = 120;      // split over operators 101..103; default 120
  std::uint32_t vehicles_per_route = 3;     // validators per route; default 3
  std::uint32_t gates_per_station = 4;      // default 4
  std::uint32_t bike_stations = 40;         // default 40
  std::uint32_t taxis = 30;                 // love taxis (401, 402); default 30
  std::uint32_t shop_tills = 150;           // 901 convenience stores 140, 902 bookshop 10; default 150
  std::uint32_t car_park_gates = 24;        // default 24
};

struct CityMap {
  std::vector<ReaderSite> readers;  // reader ids reader_id_first.. in order
  std::vector<BusRoute> bus_routes;
  std::vector<MetroStation> stations;
  // Indexes into readers, by kind (metro gates and buses are above).
  std::vector<std::uint32_t> bike_stations, taxis, libraries, doors, meetings, pools, sports_centres, car_parks,
      government_counters, shops;
  std::vector<std::uint32_t> shop_top_ups;  // shop_top_ups[i] stands beside shops[i]

  static CityMap standard(const MapOptions& options = {});
  const ReaderSite& site(std::uint32_t index) const noexcept { return readers[index]; }
};

}  // namespace citycard::loadgen
