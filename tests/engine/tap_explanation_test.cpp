// "Why was I charged this?" (engine/groups/tap_explanation.h) on taps the
// real pipeline decided: before the close each tap's explained fare is the
// one the ledger holds; after a close that repriced the day, the explained
// fare is the repriced one (posted + correction), equal to what the same
// taps cost in event order; and each bad request gets its error.
#include <atomic>
#include <memory>

#include "account_replay.h"
#include "engine_fixture.h"
#include "ledger/system_accounts.h"
#include "repricer.h"
#include "repricing_fixture.h"
#include "settlement/keys.h"
#include "tap_explanation.h"
#include "tap_retention.h"
#include "tap_token.h"

namespace citycard::engine::testing {
namespace {

// The engine's clock moves on by a microsecond at each look, so that every
// batch has its own arrival time (as it does in service) and the records
// say the order the taps arrived in.
EngineOptions ticking_clock() {
  EngineOptions options = Pipeline::quick_options();
  auto tick = std::make_shared<std::atomic<std::int64_t>>(0);
  options.clock = [tick] { return EventTime{Pipeline::engine_now_us + tick->fetch_add(1)}; };
  return options;
}

struct PlayedDay {
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<Pipeline> pipeline;
};

PlayedDay play(const std::filesystem::path& dir, const std::vector<protocol::TapRecord>& order) {
  PlayedDay day;
  day.ledger = make_ledger(dir);
  issue_card(*day.ledger, commuter, 2000);
  issue_card(*day.ledger, student, 2000, RiderCategory::student);
  issue_card(*day.ledger, senior, 2000, RiderCategory::senior);
  day.pipeline = std::make_unique<Pipeline>(*day.ledger, ticking_clock());
  for (const auto& tap : order) REQUIRE(day.pipeline->tap(tap).outcome == protocol::Outcome::approved);
  return day;
}

TapExplanation explained(const ledger::Ledger& ledger, TapId tap) {
  auto explanation = explain_recorded_tap(*ledger.snapshot(), *rules::RuleBook::single(city_rules()), tap);
  INFO(tap.reader.value << ":" << tap.sequence << " " << explanation.status().to_string());
  REQUIRE(explanation);
  return std::move(*explanation);
}

bool any_step(const std::vector<TapExplanation>& all, const std::string& part) {
  for (const auto& e : all)
    for (const auto& step : e.steps)
      if (step.find(part) != std::string::npos) return true;
  return false;
}

bool any_remark(const TapExplanation& e, const std::string& part) {
  for (const auto& remark : e.remarks)
    if (remark.find(part) != std::string::npos) return true;
  return false;
}

std::string text_of(const TapExplanation& e) {
  std::string text;
  for (const auto& line : tap_explanation_lines(e)) text += line + "\n";
  return text;
}

std::optional<RepriceOutcome> close_day(PlayedDay& day, const std::filesystem::path& dir) {
  const std::string keys = (dir / "keys").string();
  REQUIRE(st::generate_keys(keys));
  auto system = ledger::find_system_accounts(*day.ledger);
  REQUIRE(system);
  std::optional<RepriceOutcome> repriced;
  st::Options options;
  options.day = taipei;
  options.out_dir = (dir / "out").string();
  options.key_dir = keys;
  options.before_close = repricing_before_close(engine_repricer(*day.pipeline->engine, *day.ledger, *system), repriced);
  auto closed = st::Settlement(*day.ledger, options)
                    .close(st::business_day_of(EventTime{monday_8am_us}, taipei), EventTime{Pipeline::engine_now_us});
  INFO(closed.status().to_string());
  REQUIRE(closed);
  return repriced;
}

// Latest first (the metro exit still after its entry): the capped rides are
// the early ones now, and the student's transfer falls to another leg.
std::vector<protocol::TapRecord> latest_first(const std::vector<protocol::TapRecord>& taps) {
  auto order = arrival_order(taps, 0);
  std::reverse(order.begin(), order.end());
  auto in = std::find_if(order.begin(), order.end(), [](const auto& t) { return t.tap.mode == Mode::metro_in; });
  auto out = std::find_if(order.begin(), order.end(), [](const auto& t) { return t.tap.mode == Mode::metro_out; });
  if (out < in) std::iter_swap(in, out);
  return order;
}

// The fare each tap was charged on arrival, by its reader and sequence.
std::map<TapId, std::int64_t> charged(const ledger::Ledger& ledger, const std::vector<protocol::TapRecord>& taps) {
  std::map<TapId, std::int64_t> fares;
  for (const auto& tap : taps) fares[tap.tap.id] = explained(ledger, tap.tap.id).charged_fare_minor;
  return fares;
}

}  // namespace

TEST_CASE("explain: before the close every tap of a day gives the fare the ledger holds, in arrival order") {
  TempDir dir("explain-open-day");
  const auto taps = day_taps();
  PlayedDay day = play(dir.path / "ledger", arrival_order(taps, 1));
  std::vector<TapExplanation> all;
  for (const auto& tap : taps) {
    TapExplanation e = explained(*day.ledger, tap.tap.id);
    INFO(text_of(e));
    CHECK_FALSE(e.refused);
    CHECK(e.order == ReplayOrder::arrival);
    CHECK_FALSE(e.day_closed);
    CHECK(e.replay_approved);
    CHECK(e.agrees);
    CHECK(e.replay_fare_minor == e.record.fare_minor);
    CHECK(e.replay_points == e.record.points_redeemed);
    CHECK(e.replay_subsidy_minor == e.record.subsidy_minor);
    CHECK(e.correction_key.empty());
    CHECK(any_remark(e, "is not closed yet: the close may still reprice this tap"));
    CHECK(text_of(e).find("the ledger agrees") != std::string::npos);
    all.push_back(std::move(e));
  }
  // The day's steps: the student's bus-to-metro transfer, the caps, the senior's points.
  CHECK(any_step(all, "transfer from leg group"));
  CHECK(any_step(all, "daily fare cap"));
  CHECK(any_step(all, "points spent"));
  std::int64_t commuter_total = 0;
  for (const auto& e : all)
    if (e.record.tap.card == *CardId::parse(commuter)) commuter_total += e.replay_fare_minor;
  CHECK(commuter_total == 150);
  CHECK(commuter_total == 2000 - wallet_of(*day.ledger, commuter));
}

TEST_CASE("explain: after a close that repriced the day, the fare is the repriced one, posted plus correction") {
  TempDir dir("explain-closed-day");
  const auto taps = day_taps();
  // What each tap costs in event order: the canonical fares.
  std::map<TapId, std::int64_t> canonical;
  {
    PlayedDay in_order = play(dir.path / "event-order", arrival_order(taps, 0));
    canonical = charged(*in_order.ledger, taps);
  }
  PlayedDay day = play(dir.path / "latest-first", latest_first(taps));
  const auto on_arrival = charged(*day.ledger, taps);
  REQUIRE(on_arrival != canonical);  // the arrival order changed some fares
  auto repriced = close_day(day, dir.path);
  REQUIRE(repriced);
  REQUIRE(repriced->plan.taps_repriced > 0);

  std::size_t with_correction = 0;
  for (const auto& tap : taps) {
    TapExplanation e = explained(*day.ledger, tap.tap.id);
    INFO(text_of(e));
    CHECK(e.day_closed);
    CHECK(e.order == ReplayOrder::event);
    CHECK(e.agrees);
    CHECK(e.charged_fare_minor == on_arrival.at(tap.tap.id));
    CHECK(e.ledger_fare_minor == e.charged_fare_minor + e.correction_fare_minor);
    CHECK(e.replay_fare_minor == e.ledger_fare_minor);
    CHECK(e.replay_fare_minor == canonical.at(tap.tap.id));
    if (e.correction_fare_minor != 0) {
      ++with_correction;
      CHECK(e.correction_key == "rpt:" + std::to_string(tap.tap.id.reader.value) + ":" + std::to_string(tap.tap.id.sequence));
      CHECK(any_remark(e, "repriced to " + std::to_string(e.ledger_fare_minor) + " TWD at the close of 2026-03-02"));
    }
    CHECK_FALSE(any_remark(e, "not closed yet"));
  }
  CHECK(with_correction > 0);

  // A closed day whose opening state was not kept cannot be replayed: it says so, with the ledger's money.
  auto card = day.ledger->card(*CardId::parse(commuter));
  REQUIRE(card);
  const std::int32_t business_day = st::business_day_of(EventTime{monday_8am_us}, taipei).days_since_epoch;
  ledger::RecordWrite erase = opening_state_write(business_day, card->card, {}, 0);
  erase.change = ledger::RecordChange::erase;
  REQUIRE(day.ledger->put_records({erase}, {}));
  auto lost = explain_recorded_tap(*day.ledger->snapshot(), *rules::RuleBook::single(city_rules()), taps.front().tap.id);
  REQUIRE_FALSE(lost);
  CHECK(lost.status().code() == StatusCode::refused);
  CHECK(lost.status().message().find("was not kept") != std::string::npos);
  CHECK(lost.status().message().find("charged on arrival") != std::string::npos);

  // The retention deletes the day's records and, with them, its opening states.
  TapRetentionPolicy policy;
  policy.keep_days = 1;
  TapRetentionRun run;
  run.today = business_day + 2;
  auto retained = apply_tap_retention(*day.ledger, policy, nullptr, run, nullptr);
  INFO(retained.status().to_string());
  REQUIRE(retained);
  CHECK(retained->deleted == taps.size());
  CHECK(retained->opening_states_deleted == 2);  // the student's and the senior's; the commuter's was erased above
  std::size_t states_left = 0;
  REQUIRE(day.ledger->snapshot()->scan_records(ledger::RecordSpace::reprice, opening_states_prefix(),
                                               [&](std::string_view, std::string_view) { return ++states_left, true; }));
  CHECK(states_left == 0);
  auto gone = explain_recorded_tap(*day.ledger->snapshot(), *rules::RuleBook::single(city_rules()), taps.front().tap.id);
  REQUIRE_FALSE(gone);
  CHECK(gone.status().code() == StatusCode::not_found);
}

TEST_CASE("explain: a tap that arrived after its day closed is left out of the closed day's replay") {
  TempDir dir("explain-late-arrival");
  const auto taps = day_taps();
  const CardId commuter_card = *CardId::parse(commuter);
  // The commuter's first ride of the day comes from an offline bus after the close.
  auto order = latest_first(taps);
  const auto held = std::find_if(order.begin(), order.end(), [&](const auto& t) {
    return t.tap.card == commuter_card && t.tap.event_time.unix_us == monday_8am_us;
  });
  REQUIRE(held != order.end());
  const protocol::TapRecord late = *held;
  order.erase(held);
  PlayedDay day = play(dir.path / "ledger", order);
  REQUIRE(close_day(day, dir.path));
  REQUIRE(day.pipeline->tap(late).outcome == protocol::Outcome::approved);
  // The close capped the 11 rides it saw at 150; the late ride met the cap on arrival.
  CHECK(wallet_of(*day.ledger, commuter) == 2000 - 150);

  std::int64_t replayed_total = 0;
  for (const auto& tap : taps) {
    if (tap.tap.card != commuter_card || tap.tap.id == late.tap.id) continue;
    TapExplanation e = explained(*day.ledger, tap.tap.id);
    INFO(text_of(e));
    CHECK(e.day_closed);
    CHECK_FALSE(e.arrived_after_close);
    CHECK(e.taps_after_close == 1);
    // With the late ride first in event order, the replay would charge it and cap a later ride instead.
    CHECK(e.agrees);
    CHECK(e.replay_fare_minor == e.ledger_fare_minor);
    CHECK(any_remark(e, "1 tap of the account arrived after the close of 2026-03-02 and is not in its replay"));
    replayed_total += e.replay_fare_minor;
  }
  CHECK(replayed_total == 150);

  TapExplanation e = explained(*day.ledger, late.tap.id);
  INFO(text_of(e));
  CHECK(e.day_closed);
  CHECK(e.arrived_after_close);
  CHECK(e.taps_before == 11);
  CHECK(e.correction_key.empty());
  CHECK(e.ledger_fare_minor == e.charged_fare_minor);
  CHECK(e.agrees);
  CHECK(any_remark(e, "keeps the " + std::to_string(e.charged_fare_minor) + " TWD charged on arrival"));
  CHECK(text_of(e).find("charged on arrival (not replayed)") != std::string::npos);
  const nlohmann::json json = tap_explanation_json(e);
  CHECK(json.at("arrived_after_close") == true);
  CHECK(json.at("replay").is_null());

  // An opening state written before the count was kept (the state alone): every tap of the day is replayed.
  const std::int32_t business_day = st::business_day_of(EventTime{monday_8am_us}, taipei).days_since_epoch;
  auto opening = read_opening_state(*day.ledger->snapshot(), business_day, commuter_card);
  REQUIRE(opening);
  REQUIRE(opening->has_value());
  CHECK((*opening)->taps_replayed == std::optional<std::uint32_t>(11));
  ledger::RecordWrite state_only = opening_state_write(business_day, commuter_card, (*opening)->state, 11);
  state_only.value.erase(0, 5);
  REQUIRE(day.ledger->put_records({state_only}, {}));
  auto old_format = read_opening_state(*day.ledger->snapshot(), business_day, commuter_card);
  REQUIRE(old_format);
  REQUIRE(old_format->has_value());
  CHECK_FALSE((*old_format)->taps_replayed.has_value());
  CHECK((*old_format)->state == (*opening)->state);
  CHECK(explained(*day.ledger, taps.front().tap.id).taps_after_close == 0);
}

TEST_CASE("explain: a malformed id, an unknown tap, a refused tap and an anonymised record") {
  CHECK(parse_explained_tap("17:5") == TapId{ReaderId{17}, 5});
  CHECK(parse_explained_tap("tap:17:5") == TapId{ReaderId{17}, 5});
  CHECK(parse_explained_tap("rpt:17:5") == TapId{ReaderId{17}, 5});
  CHECK(parse_explained_tap("svc:17:5") == TapId{ReaderId{17}, 5});
  for (const char* bad : {"", "17", "tap:17", "17:", ":5", "0:5", "17:5:1", "x17:5", "op:17:5", "17:-5", "4294967296:1"}) {
    INFO(bad);
    CHECK_FALSE(parse_explained_tap(bad));
  }

  TempDir dir("explain-errors");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, commuter, 2000);
  Pipeline pipeline(*ledger, ticking_clock());
  REQUIRE(pipeline.tap(make_tap(bus_reader, 1, commuter, Mode::bus_board, 101, monday_8am_us, 10)).outcome ==
          protocol::Outcome::approved);
  // A card the city never issued: refused.
  REQUIRE(pipeline.tap(make_tap(bus_reader, 2, "0CE1FFFF", Mode::bus_board, 101, monday_8am_us + minute_us, 10)).outcome ==
          protocol::Outcome::refused);
  const auto book = rules::RuleBook::single(city_rules());

  auto missing = explain_recorded_tap(*ledger->snapshot(), *book, TapId{ReaderId{bus_reader}, 99});
  REQUIRE_FALSE(missing);
  CHECK(missing.status().code() == StatusCode::not_found);
  CHECK(missing.status().message() == "no tap record of 17:99 (never decided, or deleted by the records' retention)");

  auto refused = explain_recorded_tap(*ledger->snapshot(), *book, TapId{ReaderId{bus_reader}, 2});
  REQUIRE(refused);
  CHECK(refused->refused);
  CHECK(refused->refusal == "card_unknown");
  CHECK(text_of(*refused).find("refused: card_unknown; no money moved") != std::string::npos);
  CHECK(tap_explanation_json(*refused)["refusal"] == "card_unknown");

  auto fine = explain_recorded_tap(*ledger->snapshot(), *book, TapId{ReaderId{bus_reader}, 1});
  REQUIRE(fine);
  CHECK(fine->agrees);
  CHECK(fine->replay_fare_minor == 15);
  CHECK(tap_explanation_json(*fine)["ledger"]["fare_minor"] == 15);
  CHECK(tap_explanation_json(*fine)["replay"]["order"] == "arrival");

  // The retention replaced the card by its token: nothing left to replay.
  RecordedTap record = fine->record;
  record.anonymised = true;
  record.account = AccountId{};
  const std::uint8_t token[tap_token_bytes] = {0x7a, 0x11, 0x5e};
  record.tap.card = CardId::from_bytes(token, tap_token_bytes);
  REQUIRE(ledger->put_records({tap_record_write(record)}, {}));
  auto anonymised = explain_recorded_tap(*ledger->snapshot(), *book, TapId{ReaderId{bus_reader}, 1});
  REQUIRE_FALSE(anonymised);
  CHECK(anonymised.status().code() == StatusCode::refused);
  CHECK(anonymised.status().message().find("anonymised by the records' retention") != std::string::npos);
}

TEST_CASE("explain: a replay that does not give the ledger's fare says so") {
  TempDir dir("explain-disagrees");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, commuter, 2000);
  Pipeline pipeline(*ledger, ticking_clock());
  REQUIRE(pipeline.tap(make_tap(bus_reader, 1, commuter, Mode::bus_board, 101, monday_8am_us, 10)).outcome ==
          protocol::Outcome::approved);
  // The record says 40 TWD were charged; the ledger's rules give 15.
  auto first = explain_recorded_tap(*ledger->snapshot(), *rules::RuleBook::single(city_rules()), TapId{ReaderId{bus_reader}, 1});
  REQUIRE(first);
  RecordedTap record = first->record;
  record.fare_minor = 40;
  REQUIRE(ledger->put_records({tap_record_write(record)}, {}));
  auto e = explain_recorded_tap(*ledger->snapshot(), *rules::RuleBook::single(city_rules()), TapId{ReaderId{bus_reader}, 1});
  REQUIRE(e);
  CHECK_FALSE(e->agrees);
  CHECK(any_remark(*e, "the replay does not match the ledger: it gives 15 TWD"));
  CHECK(text_of(*e).find("the ledger holds 40 TWD: the replay does NOT agree") != std::string::npos);
  CHECK(text_of(*e).find("the ledger agrees") == std::string::npos);
}

}  // namespace citycard::engine::testing
