// Test helper: the repricing tests' day (tests/engine/repricing_test.cpp,
// tap_explanation_test.cpp): three riders whose fares depend on the order
// their taps are rated in, and the orders they arrive in.
#pragma once

#include <algorithm>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "engine_fixture.h"
#include "settlement/settlement.h"

namespace citycard::engine::testing {

namespace st = citycard::settlement;

inline constexpr std::int64_t minute_us = 60'000'000LL;
inline const st::DayConfig taipei{480, 180};  // rules/city.toml: +08:00, business day from 03:00

inline const std::string commuter = "0CE10001";  // general: a day of city buses past the daily cap (150)
inline const std::string student = "0CE10002";   // student: buses and a metro trip past the student cap (100)
inline const std::string senior = "0CE10003";    // senior: pool in points, buses (concession cap 60)

// The day's taps, each with its fixed reader and sequence (the tap's identity).
inline std::vector<protocol::TapRecord> day_taps() {
  std::vector<protocol::TapRecord> taps;
  std::map<std::uint32_t, std::uint64_t> sequence;
  auto add = [&](std::uint32_t reader, const std::string& card, Mode mode, std::uint32_t op, std::int64_t minute,
                 std::uint32_t location) {
    taps.push_back(make_tap(reader, ++sequence[reader], card, mode, op, monday_8am_us + minute * minute_us, location));
  };
  for (int ride = 0; ride < 12; ++ride)  // 12 x 15 = 180 against a cap of 150
    add(ride % 2 ? bus_reader : bus_reader_2, commuter, Mode::bus_board, 101, 95 * ride, 10 + ride);
  for (int ride = 0; ride < 6; ++ride)
    add(ride % 2 ? bus_reader_2 : bus_reader, student, Mode::bus_board, 101, 7 + 110 * ride, 30 + ride);
  add(metro_gate, student, Mode::metro_in, 201, 400, 1001);
  add(metro_gate, student, Mode::metro_out, 201, 430, 1005);
  add(pool_gate, senior, Mode::entry, 601, 60, 77);
  for (int ride = 0; ride < 8; ++ride) add(ride % 2 ? bus_reader : bus_reader_2, senior, Mode::bus_board, 101, 120 + 80 * ride, 50 + ride);
  return taps;
}

// `taps` in an arrival order from `seed`, a metro exit never before its
// entry (the gate would refuse it: a refusal is not re-rated).
inline std::vector<protocol::TapRecord> arrival_order(std::vector<protocol::TapRecord> taps, unsigned seed) {
  if (seed == 0) {  // event order, as the replay sorts them
    std::sort(taps.begin(), taps.end(), [](const auto& a, const auto& b) {
      return std::tuple(a.tap.event_time.unix_us, a.tap.id.reader.value, a.tap.id.sequence) <
             std::tuple(b.tap.event_time.unix_us, b.tap.id.reader.value, b.tap.id.sequence);
    });
    return taps;
  }
  std::mt19937 random(seed);
  std::shuffle(taps.begin(), taps.end(), random);
  auto in = std::find_if(taps.begin(), taps.end(), [](const auto& t) { return t.tap.mode == Mode::metro_in; });
  auto out = std::find_if(taps.begin(), taps.end(), [](const auto& t) { return t.tap.mode == Mode::metro_out; });
  if (out < in) std::iter_swap(in, out);
  return taps;
}

}  // namespace citycard::engine::testing
