// The behaviour of riders by category: when they go out, by what, and what
// else they do. Numbers are illustrative and documented in docs/loadgen.md.
#include "card_day.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace citycard::loadgen {

namespace {

constexpr double minute_first = 5 * 60;          // first service 05:00
constexpr double minute_last = 25 * 60 + 30;     // last tap 01:30 (the business day runs to 03:00)
constexpr std::int64_t metro_hold_minor = 65;    // the maximum fare, held at tap-in
constexpr std::int64_t bus_fare_minor = 15;
constexpr std::int64_t segment_fare_minor = 30;
constexpr std::int64_t wallet_max_minor = 10'000;

enum class Commute : std::uint8_t { bus, metro, bus_metro, segment_bus, bike };

class CardDay {
 public:
  CardDay(const CityMap& map, const RosterCard& card, std::uint32_t card_index, const DayOptions& options,
          std::int64_t midnight_us, std::vector<Event>& out)
      : map_(map), card_(card), card_index_(card_index), options_(options), midnight_us_(midnight_us), out_(out),
        random_(options.seed, card_index), wallet_minor_(options.opening_balance_minor),
        home_station_(random_.below(static_cast<std::uint32_t>(map.stations.size()))),
        work_station_(random_.below(static_cast<std::uint32_t>(map.stations.size()))),
        home_route_(random_.below(static_cast<std::uint32_t>(map.bus_routes.size()))) {}

  void live();

 private:
  // Trips; each returns the minute it ends.
  double trip(Commute how, double minute, bool outbound);
  double bus_trip(const BusRoute& route, double minute, bool outbound);
  double metro_trip(std::uint32_t from, std::uint32_t to, double minute);
  double bike_trip(double minute);
  void round_trip(Commute how, double out_minute, double back_minute);

  // Services.
  void shop(double minute);
  void venue_entry(const std::vector<std::uint32_t>& sites, double minute, std::int64_t price_minor);
  void identify(const std::vector<std::uint32_t>& sites, double minute);
  void pay(const std::vector<std::uint32_t>& sites, double minute, std::int64_t low, std::int64_t high);
  void taxi(double minute);

  Commute commute_choice();
  void ensure_funds(std::int64_t needed_minor, double minute, bool at_station, std::uint32_t station);
  void emit(std::uint32_t reader_index, double minute, Mode mode, std::uint32_t route, std::uint32_t location,
            std::int64_t amount_minor = 0);
  std::uint32_t pick(const std::vector<std::uint32_t>& sites) { return sites[random_.below(static_cast<std::uint32_t>(sites.size()))]; }
  double clock(double mean, double sd) { return std::clamp(random_.normal(mean, sd), minute_first, minute_last - 120); }
  // Seniors and riders with a disability get monthly points, spent first at venues.
  bool has_points() const {
    return card_.category == RiderCategory::senior || card_.category == RiderCategory::disability;
  }

  const CityMap& map_;
  const RosterCard& card_;
  std::uint32_t card_index_;
  const DayOptions& options_;
  std::int64_t midnight_us_;
  std::vector<Event>& out_;
  Random random_;
  std::int64_t wallet_minor_;
  std::uint32_t home_station_, work_station_, home_route_;
};

void CardDay::emit(std::uint32_t reader_index, double minute, Mode mode, std::uint32_t route, std::uint32_t location,
                   std::int64_t amount_minor) {
  minute = std::clamp(minute, minute_first, minute_last);
  Event event;
  event.event_us = midnight_us_ + static_cast<std::int64_t>(minute * 60e6) + random_.between(0, 59'999'999);
  event.reader_index = reader_index;
  event.card_index = card_index_;
  event.route = route;
  event.location = location;
  event.amount_minor = amount_minor;
  event.mode = mode;
  out_.push_back(event);
}

void CardDay::ensure_funds(std::int64_t needed_minor, double minute, bool at_station, std::uint32_t station) {
  // Bounded: at most a few top-ups bring any wallet over any single charge here.
  for (int i = 0; i < 4 && wallet_minor_ < needed_minor; ++i) {
    std::int64_t amount = options_.top_up_minor;
    if (wallet_minor_ + amount > wallet_max_minor) return;
    std::uint32_t site = at_station ? map_.stations[station].top_up_machine : pick(map_.shop_top_ups);
    const ReaderSite& reader = map_.site(site);
    emit(site, minute - 3, Mode::top_up, 0, reader.location, amount);
    wallet_minor_ += amount;
  }
}

Commute CardDay::commute_choice() {
  double u = random_.uniform();
  switch (card_.category) {
    case RiderCategory::student:
      return u < 0.50 ? Commute::bus : u < 0.80 ? Commute::metro : u < 0.90 ? Commute::bus_metro : Commute::bike;
    case RiderCategory::senior:
    case RiderCategory::disability:
    case RiderCategory::disability_companion:
      return u < 0.58 ? Commute::bus : u < 0.90 ? Commute::metro : Commute::segment_bus;
    default:
      return u < 0.33 ? Commute::bus : u < 0.73 ? Commute::metro : u < 0.85 ? Commute::bus_metro
             : u < 0.92 ? Commute::segment_bus : Commute::bike;
  }
}

double CardDay::bus_trip(const BusRoute& route, double minute, bool outbound) {
  const auto stops = static_cast<std::uint32_t>(route.stops.size());
  std::uint32_t from = random_.below(stops);
  std::uint32_t to = random_.below(stops);
  if (to == from) to = (from + 1 + random_.below(stops - 1)) % stops;
  if (!outbound) std::swap(from, to);
  const std::int64_t fare = route.segmented ? segment_fare_minor : bus_fare_minor;
  ensure_funds(fare, minute, false, 0);
  wallet_minor_ -= fare;
  std::uint32_t vehicle = route.vehicles[random_.below(static_cast<std::uint32_t>(route.vehicles.size()))];
  emit(vehicle, minute, Mode::bus_board, route.route, route.stops[from]);
  double end = minute + 3 + 2.5 * std::abs(static_cast<double>(to) - static_cast<double>(from));
  emit(vehicle, end, Mode::bus_alight, route.route, route.stops[to]);
  return end;
}

double CardDay::metro_trip(std::uint32_t from, std::uint32_t to, double minute) {
  if (from == to) to = (from + 1) % static_cast<std::uint32_t>(map_.stations.size());
  const MetroStation& in = map_.stations[from];
  const MetroStation& out = map_.stations[to];
  ensure_funds(metro_hold_minor, minute, true, from);
  wallet_minor_ -= metro_hold_minor;
  emit(pick(in.gates), minute, Mode::metro_in, 0, in.location);
  double end = minute + 5 + 3.0 * std::abs(static_cast<double>(to) - static_cast<double>(from)) + random_.below(4);
  emit(pick(out.gates), end, Mode::metro_out, 0, out.location);
  wallet_minor_ += 25;  // most trips refund part of the hold
  return end;
}

double CardDay::bike_trip(double minute) {
  std::uint32_t from = pick(map_.bike_stations);
  std::uint32_t to = pick(map_.bike_stations);
  ensure_funds(20, minute, false, 0);
  emit(from, minute, Mode::bike_rent, 0, map_.site(from).location);
  double ride = random_.chance(0.8) ? 8 + random_.below(21) : 31 + random_.below(60);
  if (ride > 30) wallet_minor_ -= 10 * static_cast<std::int64_t>(std::ceil((ride - 30) / 30));
  emit(to, minute + ride, Mode::bike_return, 0, map_.site(to).location);
  return minute + ride;
}

double CardDay::trip(Commute how, double minute, bool outbound) {
  const std::uint32_t from = outbound ? home_station_ : work_station_;
  const std::uint32_t to = outbound ? work_station_ : home_station_;
  switch (how) {
    case Commute::bus: return bus_trip(map_.bus_routes[home_route_], minute, outbound);
    case Commute::metro: return metro_trip(from, to, minute);
    case Commute::bus_metro: {
      if (outbound) {
        double end = bus_trip(map_.bus_routes[home_route_], minute, true);
        return metro_trip(from, to, end + 2 + random_.below(8));
      }
      double end = metro_trip(from, to, minute);
      return bus_trip(map_.bus_routes[home_route_], end + 2 + random_.below(8), false);
    }
    case Commute::segment_bus: {
      std::uint32_t segment_first = static_cast<std::uint32_t>(map_.bus_routes.size());
      for (std::uint32_t r = 0; r < map_.bus_routes.size(); ++r) {
        if (map_.bus_routes[r].segmented) { segment_first = r; break; }
      }
      if (segment_first == map_.bus_routes.size()) return bus_trip(map_.bus_routes[home_route_], minute, outbound);
      std::uint32_t count = static_cast<std::uint32_t>(map_.bus_routes.size()) - segment_first;
      return bus_trip(map_.bus_routes[segment_first + home_route_ % count], minute, outbound);
    }
    case Commute::bike: return bike_trip(minute);
  }
  return minute;
}

void CardDay::round_trip(Commute how, double out_minute, double back_minute) {
  double arrived = trip(how, out_minute, true);
  trip(how, std::max(back_minute, arrived + 30), false);
}

void CardDay::shop(double minute) {
  std::uint32_t till = pick(map_.shops);
  bool bookshop = map_.site(till).operator_id.value == 902;
  std::int64_t amount = bookshop ? random_.between(150, 1500) : random_.between(25, 260);
  ensure_funds(amount, minute, false, 0);
  wallet_minor_ -= amount;
  emit(till, minute, Mode::pay, 0, map_.site(till).location, amount);
}

void CardDay::venue_entry(const std::vector<std::uint32_t>& sites, double minute, std::int64_t price_minor) {
  std::uint32_t site = pick(sites);
  if (!has_points()) {
    ensure_funds(price_minor, minute, false, 0);
    wallet_minor_ -= price_minor;
  }
  emit(site, minute, Mode::entry, 0, map_.site(site).location);
}

void CardDay::identify(const std::vector<std::uint32_t>& sites, double minute) {
  std::uint32_t site = pick(sites);
  emit(site, minute, Mode::identify, 0, map_.site(site).location);
}

void CardDay::pay(const std::vector<std::uint32_t>& sites, double minute, std::int64_t low, std::int64_t high) {
  std::uint32_t site = pick(sites);
  std::int64_t amount = random_.between(low, high);
  ensure_funds(amount, minute, false, 0);
  wallet_minor_ -= amount;
  emit(site, minute, Mode::pay, 0, map_.site(site).location, amount);
}

void CardDay::taxi(double minute) {
  // Meter amounts mostly within the month's points; the rest from the wallet.
  std::uint32_t site = pick(map_.taxis);
  emit(site, minute, Mode::entry, 0, map_.site(site).location, random_.between(85, 400));
}

void CardDay::live() {
  const bool school = options_.school_day;
  switch (card_.category) {
    case RiderCategory::general:
    case RiderCategory::employee: {
      const bool employee = card_.category == RiderCategory::employee;
      const bool on_phone = card_.media != Media::physical_card;
      if (random_.chance(employee ? 0.85 : 0.60)) {
        double out = clock(8 * 60, 50);
        double back = clock(18 * 60 + 15, 70);
        round_trip(commute_choice(), out, back);
        if (employee) {
          identify(map_.doors, out + 45);
          if (random_.chance(0.15)) identify(map_.meetings, clock(14 * 60, 120));
          if (random_.chance(0.30)) identify(map_.doors, clock(13 * 60, 30));
        }
      }
      if (random_.chance(0.08)) round_trip(commute_choice(), clock(20 * 60, 60), clock(22 * 60 + 30, 40));
      if (random_.chance(on_phone ? 0.50 : 0.22)) shop(random_.chance(0.5) ? clock(12 * 60 + 15, 45) : clock(19 * 60 + 30, 90));
      if (random_.chance(0.04)) pay(map_.car_parks, clock(10 * 60, 180), 30, 240);
      if (random_.chance(0.02)) identify(map_.libraries, clock(19 * 60, 60));
      if (random_.chance(0.015)) venue_entry(map_.pools, clock(19 * 60 + 30, 60), 88);
      if (random_.chance(0.02)) venue_entry(map_.sports_centres, clock(20 * 60, 60), 80);
      if (random_.chance(0.005)) pay(map_.government_counters, clock(10 * 60 + 30, 90), 100, 3000);
      break;
    }
    case RiderCategory::student: {
      if (school && random_.chance(0.82)) {
        round_trip(commute_choice(), clock(7 * 60 + 10, 20), clock(16 * 60 + 40, 45));
      } else if (!school && random_.chance(0.40)) {
        round_trip(commute_choice(), clock(10 * 60 + 30, 120), clock(16 * 60, 120));
      }
      if (random_.chance(0.08)) identify(map_.libraries, school ? clock(17 * 60, 90) : clock(14 * 60, 180));
      if (random_.chance(0.03)) venue_entry(map_.pools, clock(17 * 60 + 30, 60), 60);
      if (random_.chance(0.03)) venue_entry(map_.sports_centres, clock(18 * 60, 60), 70);
      if (random_.chance(0.20)) shop(clock(17 * 60 + 30, 75));
      break;
    }
    case RiderCategory::senior:
    case RiderCategory::disability:
    case RiderCategory::disability_companion: {
      const RiderCategory category = card_.category;
      const double out_chance = category == RiderCategory::senior ? 0.42 : category == RiderCategory::disability ? 0.38 : 0.30;
      if (random_.chance(out_chance)) round_trip(commute_choice(), clock(9 * 60 + 45, 50), clock(12 * 60 + 15, 70));
      if (category != RiderCategory::disability_companion &&
          random_.chance(category == RiderCategory::disability ? 0.15 : 0.04)) {
        taxi(clock(10 * 60, 150));
      }
      if (random_.chance(0.05)) venue_entry(map_.pools, clock(7 * 60, 60), 55);
      if (random_.chance(0.04)) venue_entry(map_.sports_centres, clock(9 * 60, 90), 50);
      if (random_.chance(0.05)) identify(map_.libraries, clock(10 * 60 + 30, 90));
      if (random_.chance(0.15)) shop(clock(11 * 60, 90));
      break;
    }
  }
}

}  // namespace

bool plan_card_day(const CityMap& map, const Roster& roster, std::uint32_t card_index, const DayOptions& options,
                   std::int64_t local_midnight_us, std::vector<Event>& out) {
  const std::size_t before = out.size();
  CardDay day(map, roster[card_index], card_index, options, local_midnight_us, out);
  day.live();
  return out.size() > before;
}

}  // namespace citycard::loadgen
