// bench_rules: ratings per second on one core over a realistic tap mix.
//
//   bench_rules [--cards N] [--days D] [--rules FILE] [--out FILE]
//
// Builds a day of taps for N cards (categories in the city's proportions:
// general 49%, student 28%, senior 15%, disability 4%, companion 2%,
// employee 2%), interleaved by time: bus rides (flat and two-segment), metro
// trips, bikes, pools and sports centres, taxis, shop and parking payments,
// library and door taps, top-ups, some offline. Generation is not timed.
// Then rates the day D times (shifted by a day each pass, card states carried
// over) on one thread and reports ratings per second. Then (not timed into
// ratings/s) encodes every card's final state as the engine stores it and
// reports its size (mean / p99 / max), encode and round-trip times.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <sys/utsname.h>
#include <unistd.h>

#include "calendar.h"
#include "card_state.h"
#include "rating.h"
#include "rule_set_loader.h"

using namespace citycard;
using namespace citycard::rules;

namespace {

struct CardTap {
  std::uint32_t card = 0;
  Tap tap;
};

RiderCategory pick_category(std::mt19937_64& random) {
  const unsigned roll = static_cast<unsigned>(random() % 100);
  if (roll < 49) return RiderCategory::general;
  if (roll < 77) return RiderCategory::student;
  if (roll < 92) return RiderCategory::senior;
  if (roll < 96) return RiderCategory::disability;
  if (roll < 98) return RiderCategory::disability_companion;
  return RiderCategory::employee;
}

EventTime local(int hour, int minute) {
  const std::int64_t seconds = days_from_civil(2025, 3, 4) * 86'400 + hour * 3600 + minute * 60 - 8 * 3600;
  return EventTime::from_unix_seconds(seconds);
}

void add_day(std::mt19937_64& random, std::uint32_t card, RiderCategory category, std::vector<CardTap>& out) {
  auto pick = [&](int low, int high) { return static_cast<int>(low + random() % static_cast<unsigned>(high - low + 1)); };
  auto tap = [&](Mode mode, std::uint32_t operator_id, EventTime time, std::uint32_t location, std::uint32_t route = 0,
                 std::int64_t amount = 0) {
    CardTap item;
    item.card = card;
    item.tap.mode = mode;
    item.tap.operator_id = OperatorId{operator_id};
    item.tap.event_time = time;
    item.tap.location = location;
    item.tap.route = route;
    item.tap.amount_minor = amount;
    item.tap.offline = pick(0, 49) == 0;  // 2% from readers out of coverage
    out.push_back(item);
  };
  const int journeys = pick(1, 5);
  for (int journey = 0; journey < journeys; ++journey) {
    const EventTime start = local(6 + 3 * journey, pick(0, 59));
    auto later = [&](int minutes) { return EventTime{start.unix_us + minutes * us_per_minute}; };
    const int roll = pick(0, 99);
    if (roll < 35) {
      tap(Mode::bus_board, static_cast<std::uint32_t>(pick(101, 103)), start, static_cast<std::uint32_t>(pick(1, 400)),
          static_cast<std::uint32_t>(pick(1, 900)));
      if (roll < 10) tap(Mode::bus_alight, 101, later(pick(5, 40)), static_cast<std::uint32_t>(pick(1, 400)), 1);
    } else if (roll < 42) {
      tap(Mode::bus_board, 104, start, static_cast<std::uint32_t>(pick(2001, 2005)), 9);
      tap(Mode::bus_alight, 104, later(pick(5, 40)), static_cast<std::uint32_t>(pick(0, 1) ? pick(2001, 2005) : pick(2011, 2015)), 9);
    } else if (roll < 70) {
      tap(Mode::metro_in, 201, start, static_cast<std::uint32_t>(pick(1001, 1008)));
      if (pick(0, 99) != 0) tap(Mode::metro_out, 201, later(pick(4, 50)), static_cast<std::uint32_t>(pick(1001, 1008)));
    } else if (roll < 74) {
      tap(Mode::bike_rent, 301, start, 1);
      tap(Mode::bike_return, 301, later(pick(5, 120)), 2);
    } else if (roll < 78) {
      tap(Mode::entry, static_cast<std::uint32_t>(pick(0, 1) ? pick(601, 602) : pick(701, 702)), start, 0);
    } else if (roll < 80) {
      tap(Mode::entry, 401, start, 0, 0, pick(100, 600));  // refused for categories without love taxi
    } else if (roll < 88) {
      tap(Mode::pay, static_cast<std::uint32_t>(pick(0, 2) ? 901 : 801), start, 0, 0, pick(20, 800));
    } else if (roll < 97) {
      tap(Mode::identify, static_cast<std::uint32_t>(pick(0, 1) ? 501 : 511), start, 0);
    } else {
      tap(Mode::top_up, 901, start, 0, 0, 500);
    }
  }
  (void)category;
}

std::string cpu_model() {
  std::ifstream info("/proc/cpuinfo");
  std::string line;
  while (std::getline(info, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string first_line(const char* path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint32_t cards = 200'000;
  int days = 10;
  std::string rules_path = CITYCARD_SOURCE_DIR "/rules/city.toml";
  std::string out_path = CITYCARD_SOURCE_DIR "/bench/results/rules.json";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--cards") == 0) cards = static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
    else if (std::strcmp(argv[i], "--days") == 0) days = std::stoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--rules") == 0) rules_path = argv[i + 1];
    else if (std::strcmp(argv[i], "--out") == 0) out_path = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: bench_rules [--cards N] [--days D] [--rules FILE] [--out FILE]\n");
      return 2;
    }
  }
  if (cards == 0 || days < 1) {
    std::fprintf(stderr, "bench_rules: --cards and --days must be at least 1\n");
    return 2;
  }
  auto rule_set = load_rule_set(rules_path);
  if (!rule_set) {
    std::fprintf(stderr, "bench_rules: %s\n", rule_set.status().message().c_str());
    return 1;
  }

  std::mt19937_64 random(20250304);
  std::vector<CardState> states(cards);
  std::vector<CardTap> day;
  for (std::uint32_t card = 0; card < cards; ++card) {
    states[card].category = pick_category(random);
    states[card].wallet_minor = static_cast<std::int64_t>(random() % 2000);
    if (random() % 20 == 0) {
      states[card].media = Media::co_branded_credit;
      states[card].auto_top_up_enabled = true;
    }
    add_day(random, card, states[card].category, day);
  }
  std::stable_sort(day.begin(), day.end(), [](const CardTap& a, const CardTap& b) { return a.tap.event_time < b.tap.event_time; });

  std::uint64_t approved = 0;
  std::uint64_t postings = 0;
  std::int64_t checksum = 0;
  std::uint64_t ratings = 0;
  const auto started = std::chrono::steady_clock::now();
  for (int pass = 0; pass < days; ++pass) {
    const std::int64_t shift_us = pass * us_per_day;
    for (const CardTap& item : day) {
      Tap tap = item.tap;
      tap.event_time.unix_us += shift_us;
      CardState& state = states[item.card];
      const Rating rating = rate(*rule_set, state, tap);
      state = rating.state;
      approved += rating.approved() ? 1 : 0;
      postings += rating.posting_count;
      checksum += rating.fare_minor;
      ++ratings;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double per_second = static_cast<double>(ratings) / seconds;

  // The record the engine writes on every tap, for each card after the last
  // day: its size, the time to encode it, and to encode, decode and compare it.
  std::vector<std::size_t> sizes;
  sizes.reserve(states.size());
  const auto encode_started = std::chrono::steady_clock::now();
  for (const CardState& state : states) sizes.push_back(encode_card_state(state).size());
  const auto round_trip_started = std::chrono::steady_clock::now();
  std::size_t mismatches = 0;
  for (const CardState& state : states) {
    auto decoded = decode_card_state(encode_card_state(state));
    if (!decoded || !(*decoded == state)) ++mismatches;
  }
  const auto round_trip_ended = std::chrono::steady_clock::now();
  if (mismatches != 0) {
    std::fprintf(stderr, "bench_rules: %zu of %zu card states do not round-trip\n", mismatches, states.size());
    return 1;
  }
  const double count = static_cast<double>(states.size());
  const double encode_ns = std::chrono::duration<double, std::nano>(round_trip_started - encode_started).count() / count;
  const double round_trip_ns =
      std::chrono::duration<double, std::nano>(round_trip_ended - round_trip_started).count() / count;
  std::sort(sizes.begin(), sizes.end());
  double bytes_mean = 0;
  for (std::size_t size : sizes) bytes_mean += static_cast<double>(size) / count;
  const std::size_t bytes_p99 = sizes[(sizes.size() - 1) * 99 / 100];
  const std::size_t bytes_largest = sizes.back();

  utsname system{};
  uname(&system);
  const std::string cpu = cpu_model();
  const unsigned cores = static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN));
  const std::string load = first_line("/proc/loadavg");
  std::printf("machine: %s, nproc %u, %s %s, g++ %s, load %s\n", cpu.c_str(), cores, system.sysname, system.release,
              __VERSION__, load.c_str());
  std::printf("rule set: %s (version %u)\n", rules_path.c_str(), rule_set->version);
  std::printf("taps: %zu per day for %u cards, %d days: %llu ratings (%.1f%% approved, %.2f postings each)\n",
              day.size(), cards, days, static_cast<unsigned long long>(ratings),
              100.0 * static_cast<double>(approved) / static_cast<double>(ratings),
              static_cast<double>(postings) / static_cast<double>(ratings));
  std::printf("one core: %.3f s, %.2f M ratings/s, %.0f ns per rating (checksum %lld)\n", seconds, per_second / 1e6,
              1e9 / per_second, static_cast<long long>(checksum));
  std::printf("card state bytes (format v%u, %zu cards after the last day): mean %.1f / p99 %zu / max %zu (v1: 496); "
              "encode %.0f ns, encode + decode + compare %.0f ns per state\n",
              card_state_format_version, sizes.size(), bytes_mean, bytes_p99, bytes_largest, encode_ns, round_trip_ns);

  std::ofstream out(out_path);
  if (!out) {
    std::fprintf(stderr, "bench_rules: cannot write %s\n", out_path.c_str());
    return 1;
  }
  out << "{\n  \"bench\": \"rules\",\n  \"cpu\": \"" << cpu << "\",\n  \"nproc\": " << cores << ",\n  \"kernel\": \""
      << system.sysname << " " << system.release << "\",\n  \"compiler\": \"g++ " << __VERSION__
      << "\",\n  \"load_average\": \"" << load << "\",\n  \"cards\": " << cards << ",\n  \"taps_per_day\": " << day.size()
      << ",\n  \"days\": " << days << ",\n  \"ratings\": " << ratings << ",\n  \"approved_ratio\": "
      << static_cast<double>(approved) / static_cast<double>(ratings) << ",\n  \"postings_per_rating\": "
      << static_cast<double>(postings) / static_cast<double>(ratings) << ",\n  \"seconds\": " << seconds
      << ",\n  \"ratings_per_second\": " << static_cast<std::uint64_t>(per_second) << ",\n  \"ns_per_rating\": "
      << 1e9 / per_second << ",\n  \"card_state_format_version\": " << unsigned{card_state_format_version}
      << ",\n  \"card_state_bytes_mean\": " << bytes_mean << ",\n  \"card_state_bytes_p99\": " << bytes_p99
      << ",\n  \"card_state_bytes_max\": " << bytes_largest << ",\n  \"card_state_encode_ns\": " << encode_ns
      << ",\n  \"card_state_round_trip_ns\": " << round_trip_ns << "\n}\n";
  std::printf("wrote %s\n", out_path.c_str());
  return 0;
}
