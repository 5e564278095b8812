// Assembles every card's day into per-reader streams: sequence numbers in
// event-time order, coverage gaps of some buses (offline, uploaded late), and
// the global send order.
#include "city_day.h"

#include <algorithm>
#include <unordered_map>

#include "card/cryptogram.h"
#include "citycard/check.h"
#include "card_day.h"
#include "random.h"

namespace citycard::loadgen {

namespace {

constexpr std::int64_t online_send_delay_us_min = 80'000;    // reader -> engine, online
constexpr std::int64_t online_send_delay_us_max = 600'000;
constexpr std::int64_t upload_spacing_us = 2'000;            // between queued taps uploaded after a gap
constexpr std::int64_t gap_minutes_min = 10, gap_minutes_max = 60;
constexpr std::uint64_t coverage_stream = 0xC0FE'0000'0000'0000ull;  // keys of the readers' own streams

std::int64_t days_from_civil(int year, int month, int day) {
  // Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date.
  year -= month <= 2 ? 1 : 0;
  const int era = (year >= 0 ? year : year - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153u * static_cast<unsigned>(month + (month > 2 ? -3 : 9)) + 2u) / 5u + static_cast<unsigned>(day) - 1u;
  const unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct CoverageGap {
  std::int64_t start_us = 0;
  std::int64_t end_us = 0;  // the upload of the queued taps starts here
  bool any() const { return end_us > start_us; }
};

CoverageGap gap_for(const ReaderSite& site, std::uint32_t reader_index, const DayOptions& options, std::int64_t midnight_us) {
  if (site.kind != SiteKind::bus) return {};
  Random random(options.seed, coverage_stream + reader_index);
  if (!random.chance(options.offline_bus_fraction)) return {};
  std::int64_t start_minute = random.between(6 * 60, 20 * 60);
  std::int64_t minutes = random.between(gap_minutes_min, gap_minutes_max);
  CoverageGap gap;
  gap.start_us = midnight_us + start_minute * 60'000'000;
  gap.end_us = gap.start_us + minutes * 60'000'000;
  return gap;
}

}  // namespace

std::int64_t local_midnight_us(int year, int month, int day, std::int32_t utc_offset_minutes) {
  return (days_from_civil(year, month, day) * 86'400 - std::int64_t{utc_offset_minutes} * 60) * 1'000'000;
}

CityDay generate_city_day(const CityMap& map, const Roster& roster, const DayOptions& options) {
  CityDay day;
  day.local_midnight_us = local_midnight_us(options.year, options.month, options.day, options.utc_offset_minutes);

  std::vector<Event> events;
  events.reserve(roster.size() * 4);
  for (std::uint32_t card = 0; card < roster.size(); ++card) {
    if (plan_card_day(map, roster, card, options, day.local_midnight_us, events)) ++day.cards_active;
  }

  // Per reader, in event order: a stable sort by (reader, time, card) is one
  // total order, so the numbering does not depend on the sort's stability.
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.reader_index != b.reader_index) return a.reader_index < b.reader_index;
    if (a.event_us != b.event_us) return a.event_us < b.event_us;
    if (a.card_index != b.card_index) return a.card_index < b.card_index;
    return a.mode < b.mode;
  });

  day.readers.resize(map.readers.size());
  std::size_t next = 0;
  for (std::uint32_t reader = 0; reader < map.readers.size(); ++reader) {
    const ReaderSite& site = map.site(reader);
    const CoverageGap gap = gap_for(site, reader, options, day.local_midnight_us);
    Random delays(options.seed, coverage_stream + 0x1'0000'0000ull + reader);
    ReaderStream& stream = day.readers[reader];
    std::int64_t last_send_us = 0;
    std::uint64_t sequence = 0;
    for (; next < events.size() && events[next].reader_index == reader; ++next) {
      const Event& event = events[next];
      const RosterCard& card = roster[event.card_index];
      TimedTap timed;
      Tap& tap = timed.record.tap;
      tap.id = TapId{site.reader, ++sequence};
      tap.card = card.card;
      tap.media = card.media;
      tap.event_time = EventTime{event.event_us};
      tap.mode = event.mode;
      tap.operator_id = site.operator_id;
      tap.route = event.route;
      tap.location = event.location;
      tap.amount_minor = event.amount_minor;
      const bool in_gap = gap.any() && event.event_us >= gap.start_us && event.event_us < gap.end_us;
      tap.offline = in_gap;
      std::int64_t send_us = in_gap ? gap.end_us : event.event_us + delays.between(online_send_delay_us_min, online_send_delay_us_max);
      // A reader sends in sequence order: queued taps go out one after another.
      send_us = std::max(send_us, last_send_us + (in_gap ? upload_spacing_us : 1));
      timed.send_us = send_us;
      last_send_us = send_us;
      stream.taps.push_back(timed);
    }
  }

  day.send_order.reserve(events.size());
  for (std::uint32_t reader = 0; reader < day.readers.size(); ++reader) {
    for (std::uint32_t i = 0; i < day.readers[reader].taps.size(); ++i) day.send_order.push_back({reader, i});
  }
  std::sort(day.send_order.begin(), day.send_order.end(), [&day](const SendSlot& a, const SendSlot& b) {
    std::int64_t send_a = day.at(a).send_us, send_b = day.at(b).send_us;
    if (send_a != send_b) return send_a < send_b;
    if (a.reader_index != b.reader_index) return a.reader_index < b.reader_index;
    return a.tap_index < b.tap_index;
  });
  return day;
}

namespace {

constexpr std::uint64_t challenge_stream = 0xC4A1'0000'0000'0000ull;

}  // namespace

Status prove_city_day(CityDay& day, const Roster& roster, card::CardKeySource& keys, std::uint64_t seed,
                      std::uint32_t atc_base) {
  std::unordered_map<CardId, std::uint32_t, CardIdHash> index_of;
  index_of.reserve(roster.size());
  for (std::uint32_t i = 0; i < roster.size(); ++i) index_of.emplace(roster[i].card, i);
  struct CardTap {
    std::uint32_t card_index;
    std::uint32_t reader_index;
    std::uint32_t tap_index;
  };
  std::vector<CardTap> card_taps;
  card_taps.reserve(day.tap_count());
  for (std::uint32_t reader = 0; reader < day.readers.size(); ++reader) {
    const auto& taps = day.readers[reader].taps;
    for (std::uint32_t i = 0; i < taps.size(); ++i) {
      auto found = index_of.find(taps[i].record.tap.card);
      if (found == index_of.end()) return Status::invalid_argument("tap of a card not in the roster");
      card_taps.push_back({found->second, reader, i});
    }
  }
  // Each card's taps in event-time order (ties: reader, sequence).
  auto event_us = [&day](const CardTap& t) { return day.readers[t.reader_index].taps[t.tap_index].record.tap.event_time.unix_us; };
  std::sort(card_taps.begin(), card_taps.end(), [&](const CardTap& a, const CardTap& b) {
    if (a.card_index != b.card_index) return a.card_index < b.card_index;
    if (event_us(a) != event_us(b)) return event_us(a) < event_us(b);
    if (a.reader_index != b.reader_index) return a.reader_index < b.reader_index;
    return a.tap_index < b.tap_index;
  });
  if (atc_base == 0) {
    constexpr std::int64_t days_1970_to_2020 = 18'262;
    atc_base = static_cast<std::uint32_t>(std::max<std::int64_t>(0, day.local_midnight_us / 86'400'000'000LL - days_1970_to_2020) * 64);
  }
  card::CmacContext cmac;
  std::size_t i = 0;
  while (i < card_taps.size()) {
    const std::uint32_t card_index = card_taps[i].card_index;
    const RosterCard& holder = roster[card_index];
    card::CardData record;
    record.key_version = 1;
    record.category = holder.category;
    record.media = holder.media;
    record.card_id = holder.card;
    auto key = keys.card_key(record.key_version, holder.card);
    if (!key) return key.status();
    if (Status keyed = cmac.use_key(key->bytes); !keyed) return keyed;
    Random challenges(seed, challenge_stream + card_index);
    std::uint32_t atc = atc_base;
    for (; i < card_taps.size() && card_taps[i].card_index == card_index; ++i) {
      protocol::TapRecord& tap_record = day.readers[card_taps[i].reader_index].taps[card_taps[i].tap_index].record;
      card::TapProof proof;
      proof.record = record;
      proof.atc = ++atc;
      for (std::size_t b = 0; b < proof.challenge.size(); b += 8) {
        std::uint64_t bits = challenges.next();
        for (std::size_t k = 0; k < 8; ++k) proof.challenge[b + k] = static_cast<std::uint8_t>(bits >> (8 * k));
      }
      auto mac = cmac.mac(card::cryptogram_input(record, proof.atc, proof.challenge, tap_record.tap));
      if (!mac) return mac.status();
      proof.cryptogram = *mac;
      card::Bytes wire = card::encode_proof(proof);
      tap_record.cryptogram.size = static_cast<std::uint8_t>(wire.size());
      std::copy(wire.begin(), wire.end(), tap_record.cryptogram.bytes.begin());
    }
  }
  return Status::ok();
}

void append_city_day(CityDay& into, CityDay next) {
  CITYCARD_CHECK_EQ(into.readers.size(), next.readers.size());
  std::vector<std::uint32_t> offsets(into.readers.size());
  for (std::size_t r = 0; r < into.readers.size(); ++r) {
    auto& taps = into.readers[r].taps;
    offsets[r] = static_cast<std::uint32_t>(taps.size());
    for (TimedTap& tap : next.readers[r].taps) {
      tap.record.tap.id.sequence += offsets[r];
      taps.push_back(std::move(tap));
    }
  }
  into.send_order.reserve(into.send_order.size() + next.send_order.size());
  for (SendSlot slot : next.send_order) {
    slot.tap_index += offsets[slot.reader_index];
    into.send_order.push_back(slot);
  }
  into.cards_active = std::max(into.cards_active, next.cards_active);
}

}  // namespace citycard::loadgen
