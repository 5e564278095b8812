// Tap records (engine/groups/tap_records.h): the codec, and every tap the
// pipeline decides -- approved, refused, identity, offline -- recorded once
// in the same write as its decision, its money agreeing with the ledger's
// transfers; the day's listing with its filters and pages.
#include <map>

#include "engine_fixture.h"
#include "tap_listing.h"
#include "tap_records.h"

namespace citycard::engine::testing {
namespace {

constexpr std::int64_t minute_us = 60LL * 1'000'000;
const std::string card_general = "04D1B2C3D4E5F6";
const std::string card_senior = "04D2B2C3D4E5F6";
const std::string card_unknown = "04D3B2C3D4E5F6";

RecordedTap full_record() {
  RecordedTap record;
  record.origin = Origin::service_given;
  record.business_day = 20'514;
  record.tap.id = TapId{ReaderId{4'000'000'000u}, 0xFFFF'FFFF'FFFFull};
  record.tap.card = *CardId::parse("0123456789ABCDEF0123456789ABCDEF");
  record.tap.media = Media::co_branded_credit;
  record.tap.event_time = EventTime{monday_8am_us};
  record.tap.mode = Mode::pay;
  record.tap.operator_id = OperatorId{801};
  record.tap.route = 7;
  record.tap.location = 123'456;
  record.tap.amount_minor = 250;
  record.tap.offline = true;
  record.arrival = EventTime{monday_8am_us - 5 * minute_us};  // a reader clock ahead of the engine's
  record.account = AccountId{1ull << 40};
  record.category = static_cast<std::uint8_t>(RiderCategory::disability_companion);
  record.outcome = protocol::Outcome::approved;
  record.fare_minor = -32;
  record.subsidy_minor = 8;
  record.points_redeemed = 480;
  record.rule_set_version = 3;
  return record;
}

// The day's records by tap key ("tap:R:S" / "svc:R:S").
std::map<std::string, nlohmann::json> day_records(const ledger::Ledger& ledger, std::int32_t day) {
  TapListing listing;
  listing.business_day = day;
  listing.limit = limits::history_page_max;
  auto page = tap_listing_json(*ledger.snapshot(), listing);
  INFO(page.status().to_string());
  REQUIRE(page);
  CHECK((*page)["next_cursor"] == "");
  std::map<std::string, nlohmann::json> by_tap;
  for (const auto& entry : (*page)["entries"]) CHECK(by_tap.emplace(entry["tap"].get<std::string>(), entry).second);
  return by_tap;
}

// What the ledger's transfers of the tap's group say, summed the way a record sums them.
struct Moved {
  std::int64_t subsidy = 0;
  std::int64_t points = 0;
};
Moved moved_for(const ledger::Ledger& ledger, TapId tap) {
  auto transfers = ledger.transfers_for(IdempotencyKey::for_tap(tap));
  REQUIRE(transfers);
  Moved moved;
  for (const auto& stored : *transfers) {
    const Transfer& transfer = stored.transfer;
    moved.subsidy += city_paid_minor(ledger, transfer);
    if (transfer.code == TransferCode::points_redeemed) moved.points += transfer.amount_minor;
  }
  return moved;
}

std::int32_t business_day_of(std::int64_t event_us) {
  const rules::RuleSet& rules = city_rules();
  return rules::LocalCalendar(rules.utc_offset_minutes, rules.business_day_start_minutes).business_day(EventTime{event_us});
}

}  // namespace

TEST_CASE("tap records: the codec keeps every field, and keys sort by business day then tap") {
  const RecordedTap record = full_record();
  const ledger::RecordWrite write = tap_record_write(record);
  CHECK(write.space == ledger::RecordSpace::tap_records);
  CHECK(write.key.size() == tap_record_key_bytes);
  auto decoded = decode_recorded_tap(write.key, write.value);
  INFO(decoded.status().to_string());
  REQUIRE(decoded);
  CHECK(*decoded == record);
  // Compact: the fields of a typical tap fit in well under a decision and a card state.
  CHECK(write.value.size() < 64);

  // Day order first (a negative day, before 1970, sorts before day 0), then origin, reader, sequence.
  const TapId early{ReaderId{9}, 900};
  const TapId late{ReaderId{10}, 1};
  CHECK(tap_record_key(-1, Origin::tap, late) < tap_record_key(0, Origin::tap, early));
  CHECK(tap_record_key(5, Origin::tap, early) < tap_record_key(5, Origin::tap, late));
  CHECK(tap_record_key(5, Origin::tap, late) < tap_record_key(5, Origin::service_given, early));
  CHECK(tap_records_day_begin(5) <= tap_record_key(5, Origin::tap, early));
  CHECK(tap_record_key(5, Origin::service_given, late) < tap_records_day_end(5));
  CHECK(tap_records_day_end(5) == tap_records_day_begin(6));
  CHECK(tap_record_key(std::numeric_limits<std::int32_t>::max(), Origin::refusal, late) <
        tap_records_day_end(std::numeric_limits<std::int32_t>::max()));
}

TEST_CASE("tap records: a value or key that is not a record is refused, naming the problem") {
  const ledger::RecordWrite good = tap_record_write(full_record());
  auto refused = [&](std::string key, std::string value, const std::string& words) {
    auto decoded = decode_recorded_tap(key, value);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.status().code() == StatusCode::corruption);
    INFO(decoded.status().message());
    CHECK(decoded.status().message().find(words) != std::string::npos);
  };
  refused(good.key.substr(1), good.value, "key of 16 bytes");
  std::string key = good.key;
  key[4] = static_cast<char>(Origin::operator_action);
  refused(key, good.value, "key origin 2");
  std::string value = good.value;
  value[0] = 2;
  refused(good.key, value, "format 2");
  value = good.value;
  value[1] = 0x04;  // bits 0 (offline) and 1 (anonymised) are known
  refused(good.key, value, "unknown flags");
  refused(good.key, good.value + '\0', "1 bytes past the end");
  for (std::size_t cut = 0; cut < good.value.size(); ++cut) {
    auto decoded = decode_recorded_tap(good.key, good.value.substr(0, cut));
    CHECK_FALSE(decoded);
  }
  // Enumerations out of range: category, media, mode, outcome, reason sit after the card and account.
  RecordedTap record = full_record();
  const std::string plain = encode_recorded_tap(record);
  const std::size_t category_at = 3 + record.tap.card.size() + 6;  // account 2^40 is a 6-byte varint
  REQUIRE(static_cast<std::uint8_t>(plain[category_at]) == record.category);
  for (auto [offset, bad, words] : {std::tuple{0, 7, "category 7"}, std::tuple{1, 4, "media 4"}, std::tuple{1, 0, "media 0"},
                                    std::tuple{2, 11, "mode 11"}, std::tuple{3, 3, "outcome 3"}, std::tuple{4, 22, "reason 22"}}) {
    std::string broken = plain;
    broken[category_at + static_cast<std::size_t>(offset)] = static_cast<char>(bad);
    refused(good.key, broken, words);
  }
  std::string disagreeing = plain;
  disagreeing[category_at + 4] = static_cast<char>(RefusalReason::card_blocked);  // approved, with a reason
  refused(good.key, disagreeing, "outcome and reason disagree");
}

TEST_CASE("tap records: every tap the pipeline decides is recorded once, with what the reader was told and the ledger's money") {
  TempDir dir("engine-tap-records");
  auto ledger = make_ledger(dir.path / "ledger");
  const CardRecord general = issue_card(*ledger, card_general, 500);
  const CardRecord senior = issue_card(*ledger, card_senior, 500, RiderCategory::senior);
  Pipeline pipeline(*ledger);
  const std::int64_t t = monday_8am_us;

  auto bus = pipeline.tap(make_tap(bus_reader, 1, card_general, Mode::bus_board, 101, t));
  REQUIRE(bus.outcome == protocol::Outcome::approved);
  auto metro = pipeline.tap(make_tap(metro_gate, 2, card_general, Mode::metro_in, 201, t + 30 * minute_us, 1001));
  REQUIRE(metro.outcome == protocol::Outcome::approved);
  auto senior_pool = pipeline.tap(make_tap(pool_gate, 3, card_senior, Mode::entry, 601, t + minute_us));
  REQUIRE(senior_pool.outcome == protocol::Outcome::approved);
  auto library = pipeline.tap(make_tap(library_desk, 4, card_general, Mode::identify, 501, t + 2 * minute_us, 77));
  REQUIRE(library.outcome == protocol::Outcome::approved);
  auto unknown = pipeline.tap(make_tap(bus_reader, 5, card_unknown, Mode::bus_board, 101, t + 3 * minute_us));
  REQUIRE(unknown.outcome == protocol::Outcome::refused);
  REQUIRE(unknown.reason == RefusalReason::card_unknown);
  auto offline_record = make_tap(bus_reader_2, 6, card_general, Mode::bus_board, 101, t + 4 * minute_us);
  offline_record.tap.offline = true;
  auto offline = pipeline.tap(offline_record);
  REQUIRE(offline.outcome == protocol::Outcome::approved);
  // A resend is answered from the stored decision: the same tap, no second record.
  auto again = pipeline.tap(make_tap(bus_reader, 1, card_general, Mode::bus_board, 101, t));
  CHECK((again.flags & protocol::DecisionFlags::replayed) != 0);

  const std::int32_t day = business_day_of(t);
  auto records = day_records(*ledger, day);
  REQUIRE(records.size() == 6);
  auto check = [&](std::uint32_t reader, std::uint64_t sequence, const protocol::DecisionRecord& told,
                   const CardRecord* card, Mode mode) {
    const TapId id{ReaderId{reader}, sequence};
    const std::string name = IdempotencyKey::for_tap(id).to_string();
    INFO(name);
    REQUIRE(records.count(name) == 1);
    const nlohmann::json& entry = records[name];
    CHECK(entry["mode"] == std::string(mode_name(mode)));
    CHECK(entry["outcome"] == (told.outcome == protocol::Outcome::approved ? "approved" : "refused"));
    CHECK(entry["reason"] == std::string(refusal_reason_name(told.reason)));
    CHECK(entry["fare_minor"] == told.fare_minor);
    CHECK(entry["arrival_us"] == Pipeline::engine_now_us);
    if (card != nullptr) {
      CHECK(entry["account"] == card->wallet_account.value);
      CHECK(entry["category"] == std::string(rider_category_name(card->category)));
      CHECK(entry["rule_set_version"] == city_rules().version);
    } else {
      CHECK(entry["account"] == 0);
      CHECK(entry["category"] == "unknown");
      CHECK(entry["rule_set_version"] == 0);
    }
    const Moved moved = moved_for(*ledger, id);
    CHECK(entry["subsidy_minor"] == moved.subsidy);
    CHECK(entry["points_redeemed"] == moved.points);
    return entry;
  };
  auto bus_entry = check(bus_reader, 1, bus, &general, Mode::bus_board);
  CHECK(bus_entry["card"] == card_general);
  CHECK(bus_entry["operator"] == 101);
  CHECK(bus_entry["route"] == 1);
  CHECK(bus_entry["event_time_us"] == t);
  CHECK(bus_entry["offline"] == false);
  CHECK(check(metro_gate, 2, metro, &general, Mode::metro_in)["location"] == 1001);
  // The senior swims on welfare points, which the city pays the pool for.
  auto senior_entry = check(pool_gate, 3, senior_pool, &senior, Mode::entry);
  CHECK(senior_entry["points_redeemed"].get<std::int64_t>() > 0);
  CHECK(senior_entry["subsidy_minor"].get<std::int64_t>() > 0);
  auto library_entry = check(library_desk, 4, library, &general, Mode::identify);
  CHECK(library_entry["location"] == 77);
  CHECK(library_entry["fare_minor"] == 0);
  check(bus_reader, 5, unknown, nullptr, Mode::bus_board);
  CHECK(check(bus_reader_2, 6, offline, &general, Mode::bus_board)["offline"] == true);

  // Nothing on the days around it.
  CHECK(day_records(*ledger, day - 1).empty());
  CHECK(day_records(*ledger, day + 1).empty());
}

TEST_CASE("tap records: the day's listing filters by card and reader and pages with a cursor") {
  TempDir dir("engine-tap-listing");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_general, 1000);
  issue_card(*ledger, card_senior, 1000, RiderCategory::senior);
  Pipeline pipeline(*ledger);
  const std::int64_t t = monday_8am_us;
  for (std::uint64_t i = 1; i <= 5; ++i) {
    const std::string& card = i % 2 == 0 ? card_senior : card_general;
    const std::uint32_t reader = i <= 3 ? library_desk : pool_gate;
    const Mode mode = reader == library_desk ? Mode::identify : Mode::entry;
    const std::uint32_t op = reader == library_desk ? 501 : 601;
    REQUIRE(pipeline.tap(make_tap(reader, i, card, mode, op, t + static_cast<std::int64_t>(i) * minute_us)).outcome ==
            protocol::Outcome::approved);
  }
  const std::int32_t day = business_day_of(t);
  auto list = [&](nlohmann::json request) {
    request["day"] = rules::format_date_days(day);
    auto listing = tap_listing_request(request);
    INFO(listing.status().to_string());
    REQUIRE(listing);
    auto page = tap_listing_json(*ledger->snapshot(), *listing);
    INFO(page.status().to_string());
    REQUIRE(page);
    return *page;
  };
  auto taps_of = [](const nlohmann::json& page) {
    std::vector<std::string> taps;
    for (const auto& entry : page["entries"]) taps.push_back(entry["tap"]);
    return taps;
  };
  CHECK(taps_of(list({{"card", card_senior}})) == std::vector<std::string>{"tap:19:4", "tap:20:2"});
  CHECK(taps_of(list({{"reader", library_desk}})) == std::vector<std::string>{"tap:20:1", "tap:20:2", "tap:20:3"});

  // Pages of two, in key order, the cursor carrying on where the last one stopped.
  std::vector<std::string> all;
  nlohmann::json request = {{"limit", 2}};
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 5);
    auto page = list(request);
    auto taps = taps_of(page);
    CHECK(taps.size() <= 2);
    all.insert(all.end(), taps.begin(), taps.end());
    const std::string next = page["next_cursor"];
    if (next.empty()) break;
    request["after"] = next;
  }
  CHECK(all == std::vector<std::string>{"tap:19:4", "tap:19:5", "tap:20:1", "tap:20:2", "tap:20:3"});

  // Requests the listing cannot answer say why.
  auto refused = [&](nlohmann::json bad, const std::string& words) {
    auto listing = tap_listing_request(bad);
    if (listing) {
      auto page = tap_listing_json(*ledger->snapshot(), *listing);
      REQUIRE_FALSE(page);
      INFO(page.status().message());
      CHECK(page.status().message().find(words) != std::string::npos);
      return;
    }
    INFO(listing.status().message());
    CHECK(listing.status().message().find(words) != std::string::npos);
  };
  refused(nlohmann::json::object(), "names its business day");
  refused({{"day", "2026-13-01"}}, "is not a date");
  refused({{"day", "2026-03-02"}, {"card", "xyz"}}, "card must be");
  refused({{"day", "2026-03-02"}, {"reader", 0}}, "reader must be");
  refused({{"day", "2026-03-02"}, {"limit", 0}}, "limit must be");
  refused({{"day", "2026-03-02"}, {"after", "00"}}, "is not one this day's listing gave");
}

}  // namespace citycard::engine::testing
