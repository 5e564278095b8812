// A seeded, deterministic day of taps in the simulated city.
//
// Model (docs/loadgen.md has the numbers): every card in the roster lives one
// day drawn from its own random stream (seed, card index), so a card's day
// does not depend on the population around it:
// - general riders commute (out around 08:00, back around 18:15) by city bus,
//   metro, bus + metro, the two-segment mountain line or a public bike, and
//   some go out again in the evening; employees also badge City Hall's doors
//   and sign in to meetings;
// - students ride to school around 07:10 and home around 16:40 on school
//   days, and less, later and spread out on other days;
// - seniors and riders with a disability go out mid-morning (around 09:45,
//   back around 12:15), ride love taxis, swim and use sports centres, paid
//   partly in points; companions travel like them;
// - extras by category: shops, car parks, libraries, pools, sports centres,
//   government fees;
// - cash top-ups (at a station machine or a shop till) whenever the card's
//   estimated wallet would not cover the next charge: freshly issued cards
//   start at DayOptions::opening_balance_minor.
// Readers: each tap happens at one reader of the CityMap (a bus's validator,
// a station gate, ...). A reader numbers its taps 1, 2, ... in event-time
// order. A share of the buses lose coverage for a while: their taps in that
// window are flagged offline and uploaded together when it ends, so they
// reach the engine late and out of order with everyone else's (send time
// after event time). Per reader, send order equals sequence order.
#pragma once

#include <cstdint>
#include <vector>

#include "city_map.h"
#include "card/crypto.h"
#include "citycard/status.h"
#include "protocol/messages.h"
#include "roster.h"

namespace citycard::loadgen {

struct DayOptions {
  std::uint64_t seed = 1;
  int year = 2025, month = 3, day = 12;       // the local date; default Wednesday 2025-03-12
  bool school_day = true;                     // default true
  std::int32_t utc_offset_minutes = 480;      // Asia/Taipei, as rules/city.toml; default +480
  double offline_bus_fraction = 0.06;         // buses that lose coverage once; default 6%
  std::int64_t opening_balance_minor = 0;     // wallet at the start of the day; default 0 (freshly issued)
  std::int64_t top_up_minor = 500;            // one cash top-up, TWD; default 500
};

struct TimedTap {
  protocol::TapRecord record;   // record.tap.id.sequence is the reader's number
  std::int64_t send_us = 0;     // when the reader sends it (unix us); >= event time
};

struct ReaderStream {
  std::vector<TimedTap> taps;   // sequence 1, 2, ... in send order
};

struct SendSlot {
  std::uint32_t reader_index = 0;  // into CityDay::readers (== CityMap::readers)
  std::uint32_t tap_index = 0;     // into that reader's taps
};

struct CityDay {
  std::int64_t local_midnight_us = 0;  // 00:00 local of the simulated date, unix us
  std::vector<ReaderStream> readers;   // parallel to CityMap::readers
  std::vector<SendSlot> send_order;    // every tap, by send time (ties: reader, sequence)
  std::uint64_t cards_active = 0;      // cards with at least one tap

  std::size_t tap_count() const noexcept { return send_order.size(); }
  const TimedTap& at(const SendSlot& slot) const noexcept { return readers[slot.reader_index].taps[slot.tap_index]; }
};

// Deterministic: the same map, roster and options give the same CityDay.
CityDay generate_city_day(const CityMap& map, const Roster& roster, const DayOptions& options);

// Days one after another from the same readers (a sustained load longer than
// a day's taps): `next`'s taps go after `into`'s, each reader's sequence
// numbers carrying on from its last. Before prove_city_day: a proof covers
// the tap's id. cards_active becomes the larger of the two.
void append_city_day(CityDay& into, CityDay next);

// Puts in every tap of the day the proof its card makes (docs/card-protocol.md:
// the whole tap signed under the card's key of version 1, with a counter that
// grows by one per tap of the card in event-time order, starting above
// atc_base; the challenge from the day's seed). atc_base 0: from the date, 64
// per day since 2020-01-01, so later simulated days never reuse a counter on
// one engine. One AES key setup per card and one CMAC per tap (the card's key
// schedule is kept across its taps). The key source's error (a card missing
// from the personalisation export) if a card has no key.
Status prove_city_day(CityDay& day, const Roster& roster, card::CardKeySource& keys, std::uint64_t seed,
                      std::uint32_t atc_base = 0);

// 00:00 local time of a date, as unix microseconds.
std::int64_t local_midnight_us(int year, int month, int day, std::int32_t utc_offset_minutes);

}  // namespace citycard::loadgen
