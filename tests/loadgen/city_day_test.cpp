// The simulated city day: what the demo and the engine benches rely on.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <sstream>

#include "rule_set.h"
#include "rule_set_loader.h"
#include "card/cryptogram.h"
#include "loadgen/city_day.h"
#include "loadgen/city_map.h"
#include "loadgen/roster.h"

using namespace citycard;
using namespace citycard::loadgen;

namespace {

constexpr std::uint64_t test_cards = 40'000;

const CityMap& city() {
  static const CityMap map = CityMap::standard();
  return map;
}

const Roster& roster() {
  static const Roster value = Roster::make(PopulationMix{}.scaled_to(test_cards));
  return value;
}

const CityDay& school_day() {
  static const CityDay day = generate_city_day(city(), roster(), DayOptions{});
  return day;
}

double local_hour(const CityDay& day, const TimedTap& tap) {
  return static_cast<double>(tap.record.tap.event_time.unix_us - day.local_midnight_us) / 3.6e9;
}

}  // namespace

TEST_CASE("the same seed gives the same day, another seed another day") {
  CityDay again = generate_city_day(city(), roster(), DayOptions{});
  const CityDay& first = school_day();
  REQUIRE(again.tap_count() == first.tap_count());
  for (std::size_t i = 0; i < first.tap_count(); ++i) {
    const TimedTap& a = first.at(first.send_order[i]);
    const TimedTap& b = again.at(again.send_order[i]);
    REQUIRE(a.record == b.record);
    REQUIRE(a.send_us == b.send_us);
  }
  DayOptions other;
  other.seed = 2;
  CityDay different = generate_city_day(city(), roster(), other);
  bool differs = different.tap_count() != first.tap_count();
  for (std::size_t i = 0; !differs && i < first.tap_count(); ++i) {
    differs = !(first.at(first.send_order[i]).record == different.at(different.send_order[i]).record);
  }
  CHECK(differs);
}

TEST_CASE("a day of 40k cards has a realistic volume and most cards ride") {
  const CityDay& day = school_day();
  CHECK(day.tap_count() > 2 * test_cards);
  CHECK(day.tap_count() < 6 * test_cards);
  CHECK(day.cards_active > test_cards / 2);
}

TEST_CASE("sequence numbers per reader start at 1 and strictly increase, in send order") {
  const CityDay& day = school_day();
  for (std::size_t r = 0; r < day.readers.size(); ++r) {
    const auto& taps = day.readers[r].taps;
    for (std::size_t i = 0; i < taps.size(); ++i) {
      REQUIRE(taps[i].record.tap.id.reader == city().site(static_cast<std::uint32_t>(r)).reader);
      REQUIRE(taps[i].record.tap.id.sequence == i + 1);
      if (i > 0) REQUIRE(taps[i].send_us > taps[i - 1].send_us);
    }
  }
  // The global order is by send time and keeps each reader's order.
  std::map<std::uint32_t, std::uint64_t> last;
  for (std::size_t i = 1; i < day.send_order.size(); ++i) {
    REQUIRE(day.at(day.send_order[i - 1]).send_us <= day.at(day.send_order[i]).send_us);
  }
  for (const SendSlot& slot : day.send_order) {
    auto sequence = day.at(slot).record.tap.id.sequence;
    REQUIRE(sequence > last[slot.reader_index]);
    last[slot.reader_index] = sequence;
  }
}

TEST_CASE("reader ids are unique") {
  std::set<std::uint32_t> ids;
  for (const ReaderSite& site : city().readers) REQUIRE(ids.insert(site.reader.value).second);
}

TEST_CASE("offline taps are uploaded after they happened, and some arrive out of order") {
  const CityDay& day = school_day();
  std::size_t offline = 0, late_behind_others = 0;
  std::int64_t newest_event_sent = 0;
  for (const SendSlot& slot : day.send_order) {
    const TimedTap& tap = day.at(slot);
    REQUIRE(tap.record.tap.event_time.unix_us <= tap.send_us);
    if (tap.record.tap.offline) {
      ++offline;
      REQUIRE(city().site(slot.reader_index).kind == SiteKind::bus);
      if (tap.record.tap.event_time.unix_us < newest_event_sent) ++late_behind_others;
    }
    newest_event_sent = std::max(newest_event_sent, tap.record.tap.event_time.unix_us);
  }
  CHECK(offline > 0);
  CHECK(offline < day.tap_count() / 10);
  CHECK(late_behind_others > 0);
}

TEST_CASE("the roster has the city's category mix") {
  const Roster full = Roster::make(PopulationMix{});
  REQUIRE(full.size() == 1'307'000);
  std::map<std::pair<RiderCategory, Media>, std::uint64_t> counts;
  std::set<CardId> ids;
  for (const RosterCard& card : full.cards()) {
    ++counts[{card.category, card.media}];
  }
  CHECK(counts[{RiderCategory::general, Media::physical_card}] + counts[{RiderCategory::employee, Media::physical_card}] ==
        641'000);
  CHECK(counts[{RiderCategory::student, Media::physical_card}] == 360'000);
  CHECK(counts[{RiderCategory::senior, Media::physical_card}] == 195'000);
  CHECK(counts[{RiderCategory::disability, Media::physical_card}] == 53'000);
  CHECK(counts[{RiderCategory::disability_companion, Media::physical_card}] == 31'000);
  CHECK(counts[{RiderCategory::general, Media::mobile}] + counts[{RiderCategory::general, Media::co_branded_credit}] ==
        27'000);
  for (std::size_t i = 0; i < 200'000; ++i) REQUIRE(ids.insert(full[i].card).second);

  // A scaled roster keeps the proportions within a card, and its prefix too.
  const Roster& small = roster();
  REQUIRE(small.size() == test_cards);
  std::map<RiderCategory, double> share;
  for (std::size_t i = 0; i < 10'000; ++i) share[small[i].category] += 1.0 / 10'000;
  CHECK(share[RiderCategory::student] == Approx(360.0 / 1307).margin(0.02));
  CHECK(share[RiderCategory::senior] == Approx(195.0 / 1307).margin(0.015));
  CHECK(share[RiderCategory::disability] == Approx(53.0 / 1307).margin(0.01));
}

TEST_CASE("the roster CSV is what `citycard card import` reads") {
  Roster tiny = Roster::make(PopulationMix{}.scaled_to(3));
  std::ostringstream out;
  REQUIRE(tiny.write_csv(out).is_ok());
  std::istringstream in(out.str());
  std::string line;
  std::getline(in, line);
  CHECK(line == "card,category,media");
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    auto first = line.find(','), second = line.find(',', first + 1);
    REQUIRE(second != std::string::npos);
    CHECK(CardId::parse(line.substr(0, first)).has_value());
    CHECK(parse_rider_category(line.substr(first + 1, second - first - 1)).has_value());
    CHECK(parse_media(line.substr(second + 1)).has_value());
  }
  CHECK(lines == 3);
}

TEST_CASE("time of day: morning and evening peaks, students early, seniors mid-morning") {
  const CityDay& day = school_day();
  std::array<double, 27> hours{};
  std::map<RiderCategory, std::array<double, 27>> by_category;
  std::map<CardId, RiderCategory> category_of;
  for (const RosterCard& card : roster().cards()) category_of[card.card] = card.category;
  for (const SendSlot& slot : day.send_order) {
    const TimedTap& tap = day.at(slot);
    double hour = local_hour(day, tap);
    REQUIRE(hour >= 5.0);
    REQUIRE(hour < 26.0);
    auto index = static_cast<std::size_t>(hour);
    hours[index] += 1;
    by_category[category_of.at(tap.record.tap.card)][index] += 1;
  }
  const double morning = hours[7] + hours[8];
  const double evening = hours[17] + hours[18];
  const double afternoon = hours[13] + hours[14];
  const double night = hours[2 + 24 - 24] + hours[23];
  CHECK(morning > 2.0 * afternoon);
  CHECK(evening > 2.0 * afternoon);
  CHECK(afternoon > night);

  auto share = [](const std::array<double, 27>& h, std::size_t from, std::size_t to) {
    double in = 0, all = 0;
    for (std::size_t i = 0; i < h.size(); ++i) {
      all += h[i];
      if (i >= from && i < to) in += h[i];
    }
    return in / all;
  };
  // Students ride to school before 08:00; seniors go out 09-12.
  CHECK(share(by_category[RiderCategory::student], 6, 8) > 0.30);
  CHECK(share(by_category[RiderCategory::senior], 9, 12) > 0.35);
  CHECK(share(by_category[RiderCategory::senior], 7, 9) < share(by_category[RiderCategory::senior], 9, 12) / 2);

  // No school: fewer student taps.
  DayOptions holiday;
  holiday.school_day = false;
  CityDay off = generate_city_day(city(), roster(), holiday);
  double students_school = 0, students_off = 0;
  for (double h : by_category[RiderCategory::student]) students_school += h;
  for (const SendSlot& slot : off.send_order) {
    if (category_of.at(off.at(slot).record.tap.card) == RiderCategory::student) students_off += 1;
  }
  CHECK(students_off < 0.7 * students_school);
}

TEST_CASE("every tap names codes that exist in rules/city.toml") {
  auto loaded = rules::load_rule_set(CITYCARD_CITY_RULES);
  REQUIRE(loaded.has_value());
  const rules::RuleSet& rule_set = *loaded;
  const CityDay& day = school_day();
  std::map<Mode, std::uint64_t> modes;
  for (const SendSlot& slot : day.send_order) {
    const Tap& tap = day.at(slot).record.tap;
    ++modes[tap.mode];
    const rules::OperatorRule* op = rule_set.find_operator(tap.operator_id);
    REQUIRE(op != nullptr);
    switch (tap.mode) {
      case Mode::bus_board:
      case Mode::bus_alight: {
        REQUIRE(op->kind == rules::ServiceKind::bus);
        rules::Index network = rule_set.find_network(tap.operator_id, tap.route, rules::ServiceKind::bus);
        REQUIRE(network != rules::no_index);
        if (rule_set.networks[network].collection == rules::FareCollection::board_and_alight) {
          REQUIRE(rule_set.find_area(network, tap.location) != rules::no_index);
        }
        break;
      }
      case Mode::metro_in:
      case Mode::metro_out: {
        REQUIRE(op->kind == rules::ServiceKind::metro);
        rules::Index network = rule_set.find_network(tap.operator_id, tap.route, rules::ServiceKind::metro);
        REQUIRE(network != rules::no_index);
        REQUIRE(rule_set.find_area(network, tap.location) != rules::no_index);
        break;
      }
      case Mode::bike_rent:
      case Mode::bike_return: REQUIRE(rule_set.find_bike(tap.operator_id) != nullptr); break;
      case Mode::entry: {
        const rules::Venue* venue = rule_set.find_venue(tap.operator_id);
        REQUIRE(venue != nullptr);
        if (venue->product == rules::no_index) {
          REQUIRE(tap.amount_minor > 0);
          REQUIRE(tap.amount_minor <= venue->amount_max_minor);
        }
        break;
      }
      case Mode::pay: {
        const rules::PaymentRule* payment = rule_set.find_payment(tap.operator_id);
        REQUIRE(payment != nullptr);
        REQUIRE(tap.amount_minor > 0);
        REQUIRE(tap.amount_minor <= payment->payment_max_minor);
        break;
      }
      case Mode::identify: {
        bool identity_operator = op->kind == rules::ServiceKind::library || op->kind == rules::ServiceKind::door ||
                                 op->kind == rules::ServiceKind::meeting;
        REQUIRE(identity_operator);
        break;
      }
      case Mode::top_up:
        REQUIRE(tap.amount_minor > 0);
        REQUIRE(tap.amount_minor <= rule_set.wallet.top_up_max_minor);
        break;
    }
  }
  // Every mode occurs.
  for (int m = 1; m <= mode_count; ++m) CHECK(modes[static_cast<Mode>(m)] > 0);
}

TEST_CASE("a proven day: every tap carries its card's proof of exactly that tap, counters growing per card in event-time "
          "order") {
  const Roster small = Roster::make(PopulationMix{}.scaled_to(2000));
  CityDay day = generate_city_day(city(), small, DayOptions{});
  card::MasterKeySource keys(card::MasterKey{*card::parse_key_hex("000102030405060708090A0B0C0D0E0F"), 1});
  REQUIRE(prove_city_day(day, small, keys, 1).is_ok());
  std::map<CardId, std::vector<std::pair<std::int64_t, std::uint32_t>>> by_card;   // event time, counter
  for (const SendSlot& slot : day.send_order) {
    const protocol::TapRecord& record = day.at(slot).record;
    REQUIRE(record.cryptogram.size == card::proof_bytes);
    auto proof = card::decode_proof(card::ByteView(record.cryptogram.bytes.data(), record.cryptogram.size));
    REQUIRE(proof.has_value());
    REQUIRE(card::verify_tap_proof(keys, record.tap, *proof).is_ok());
    by_card[record.tap.card].push_back({record.tap.event_time.unix_us, proof->atc});
  }
  for (auto& [card, taps] : by_card) {
    std::sort(taps.begin(), taps.end());
    for (std::size_t i = 1; i < taps.size(); ++i) REQUIRE(taps[i].second == taps[i - 1].second + 1);
  }
  // The next day's counters start above this day's.
  DayOptions next;
  next.day = 13;
  CityDay tomorrow = generate_city_day(city(), small, next);
  REQUIRE(prove_city_day(tomorrow, small, keys, 1).is_ok());
  const protocol::TapRecord& first = tomorrow.at(tomorrow.send_order.front()).record;
  auto proof = card::decode_proof(card::ByteView(first.cryptogram.bytes.data(), first.cryptogram.size));
  REQUIRE(proof.has_value());
  CHECK(proof->atc > by_card.begin()->second.back().second);
  // A card missing from the key source: the source's error, not a tap without a proof.
  card::MasterKeySource empty;
  CHECK(prove_city_day(day, small, empty, 1).code() == StatusCode::not_found);
}

TEST_CASE("days appended one after another keep each reader's sequence numbers going and every tap in send order") {
  CityDay days = school_day();
  DayOptions next_options;
  next_options.day = 13;
  next_options.seed = 2;
  CityDay next = generate_city_day(city(), roster(), next_options);
  const std::size_t first_count = days.tap_count();
  const std::size_t next_count = next.tap_count();
  const TimedTap first_of_next = next.at(next.send_order.front());
  append_city_day(days, std::move(next));
  REQUIRE(days.tap_count() == first_count + next_count);
  // Each reader: sequences 1, 2, ... without a gap across the two days.
  for (const ReaderStream& stream : days.readers) {
    for (std::size_t i = 0; i < stream.taps.size(); ++i) {
      REQUIRE(stream.taps[i].record.tap.id.sequence == i + 1);
    }
  }
  // The second day's taps come after the first's, as they were in their own day.
  const TimedTap& appended = days.at(days.send_order[first_count]);
  CHECK(appended.send_us == first_of_next.send_us);
  CHECK(appended.record.tap.card == first_of_next.record.tap.card);
  CHECK(appended.record.tap.id.reader == first_of_next.record.tap.id.reader);
  const std::size_t reader_taps_day_one = school_day().readers[days.send_order[first_count].reader_index].taps.size();
  CHECK(appended.record.tap.id.sequence == first_of_next.record.tap.id.sequence + reader_taps_day_one);
  std::set<std::pair<std::uint32_t, std::uint64_t>> ids;
  for (const SendSlot& slot : days.send_order) {
    const Tap& tap = days.at(slot).record.tap;
    ids.emplace(tap.id.reader.value, tap.id.sequence);
  }
  CHECK(ids.size() == days.tap_count());
}
