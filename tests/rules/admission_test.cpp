// The admission rules as pure functions: what each kind of reader may be
// registered for, which taps a registration admits, event time bounds, the
// card office's registration changes, and the offline debt limit in rating.
#include <catch2/catch.hpp>

#include "admission.h"
#include "rating.h"
#include "rule_set_loader.h"

namespace citycard::rules {
namespace {

ReaderRecord reader_of(ReaderKind kind, std::uint32_t operator_id = 101) {
  ReaderRecord reader;
  reader.id = ReaderId{17};
  reader.operator_id = OperatorId{operator_id};
  reader.kind = kind;
  reader.modes = modes_for_kind(kind);
  return reader;
}

Tap tap_of(Mode mode, std::uint32_t operator_id = 101) {
  Tap tap;
  tap.id = TapId{ReaderId{17}, 1};
  tap.card = *CardId::parse("04A1B2C3D4E5F6");
  tap.mode = mode;
  tap.operator_id = OperatorId{operator_id};
  tap.event_time = EventTime::from_unix_seconds(1'772'409'600);
  return tap;
}

}  // namespace

TEST_CASE("rules: only top-up machines and the card office's desks may be registered to top up") {
  for (int i = 1; i <= reader_kind_count; ++i) {
    auto kind = static_cast<ReaderKind>(i);
    INFO(reader_kind_name(kind));
    ReaderRecord reader = reader_of(kind);
    CHECK(validate_registration(reader));
    reader.modes |= mode_bit(Mode::top_up);
    const bool may_top_up = kind == ReaderKind::top_up_machine || kind == ReaderKind::office_desk;
    CHECK(validate_registration(reader).is_ok() == may_top_up);
  }
  CHECK(default_kind_for(mode_bit(Mode::bus_board)) == ReaderKind::bus_validator);
  CHECK(default_kind_for(mode_bit(Mode::top_up)) == ReaderKind::top_up_machine);
  CHECK(default_kind_for(mode_bit(Mode::pay) | mode_bit(Mode::top_up)) == ReaderKind::office_desk);
  CHECK(!default_kind_for(mode_bit(Mode::bus_board) | mode_bit(Mode::metro_in)));
  CHECK(!default_kind_for(0));
}

TEST_CASE("rules: a registration names the field that is wrong") {
  auto message = [](ReaderRecord reader) { return validate_registration(reader).message(); };
  ReaderRecord reader = reader_of(ReaderKind::shop_terminal, 801);
  CHECK(message([&] { auto r = reader; r.id = ReaderId{0}; return r; }()).find("reader id") != std::string::npos);
  CHECK(message([&] { auto r = reader; r.operator_id = OperatorId{0}; return r; }()).find("operator") != std::string::npos);
  CHECK(message([&] { auto r = reader; r.modes = 0; return r; }()).find("modes") != std::string::npos);
  CHECK(message([&] { auto r = reader; r.amount_max_minor = -1; return r; }()).find("amount-max") != std::string::npos);
  CHECK(message([&] { auto r = reader; r.offline_max_minor = -5; return r; }()).find("offline-max") != std::string::npos);
  CHECK(message([] { auto r = reader_of(ReaderKind::bus_validator); r.amount_max_minor = 100; return r; }())
            .find("only for readers that send pay or top_up") != std::string::npos);
}

TEST_CASE("rules: a tap passes only the registration it was made under") {
  ReaderRecord bus = reader_of(ReaderKind::bus_validator);
  CHECK(reader_refusal(&bus, tap_of(Mode::bus_board)) == RefusalReason::none);
  CHECK(reader_refusal(nullptr, tap_of(Mode::bus_board)) == RefusalReason::reader_not_allowed);
  CHECK(reader_refusal(&bus, tap_of(Mode::top_up)) == RefusalReason::reader_not_allowed);
  CHECK(reader_refusal(&bus, tap_of(Mode::pay)) == RefusalReason::reader_not_allowed);
  CHECK(reader_refusal(&bus, tap_of(Mode::bus_board, 102)) == RefusalReason::reader_not_allowed);
  for (auto status : {ReaderStatus::suspended, ReaderStatus::retired}) {
    ReaderRecord stopped = bus;
    stopped.status = status;
    CHECK(reader_refusal(&stopped, tap_of(Mode::bus_board)) == RefusalReason::reader_not_allowed);
  }
  ReaderRecord fixed = bus;
  fixed.route = 5;
  Tap on_route = tap_of(Mode::bus_board);
  on_route.route = 5;
  CHECK(reader_refusal(&fixed, on_route) == RefusalReason::none);
  on_route.route = 6;
  CHECK(reader_refusal(&fixed, on_route) == RefusalReason::reader_not_allowed);

  ReaderRecord shop = reader_of(ReaderKind::shop_terminal, 901);
  shop.amount_max_minor = 300;
  shop.location = 12;
  Tap pay = tap_of(Mode::pay, 901);
  pay.location = 12;
  pay.amount_minor = 300;
  CHECK(reader_refusal(&shop, pay) == RefusalReason::none);
  pay.amount_minor = 301;
  CHECK(reader_refusal(&shop, pay) == RefusalReason::reader_not_allowed);
  pay.amount_minor = 10;
  pay.location = 13;
  CHECK(reader_refusal(&shop, pay) == RefusalReason::reader_not_allowed);
}

TEST_CASE("rules: event times are bounded by the clock skew ahead and offline retention behind") {
  const EventTimeBounds bounds;  // 5 minutes, 7 days
  const EventTime arrival = EventTime::from_unix_seconds(1'772'409'600);
  auto at = [&](std::int64_t offset_us) {
    Tap tap = tap_of(Mode::bus_board);
    tap.event_time = EventTime{arrival.unix_us + offset_us};
    return event_time_refusal(tap, arrival, bounds);
  };
  CHECK(at(0) == RefusalReason::none);
  CHECK(at(bounds.future_skew_us) == RefusalReason::none);
  CHECK(at(bounds.future_skew_us + 1) == RefusalReason::event_time_invalid);
  CHECK(at(-bounds.offline_retention_us) == RefusalReason::none);
  CHECK(at(-bounds.offline_retention_us - 1) == RefusalReason::event_time_invalid);
  Tap extreme = tap_of(Mode::bus_board);
  for (std::int64_t t : {INT64_MIN, INT64_MAX, std::int64_t{0}}) {
    extreme.event_time = EventTime{t};
    CHECK(event_time_refusal(extreme, arrival, bounds) == RefusalReason::event_time_invalid);
  }
}

TEST_CASE("rules: registration changes are planned once for the engine and the CLI") {
  ReaderRecord gate = reader_of(ReaderKind::metro_gate, 201);
  auto added = plan_reader_change(ReaderChangeKind::add, gate, std::nullopt, true);
  REQUIRE(added);
  CHECK(added->after.status == ReaderStatus::active);
  CHECK(added->audit.find("registered") != std::string::npos);
  CHECK(plan_reader_change(ReaderChangeKind::add, gate, gate, true).status().code() == StatusCode::already_exists);
  CHECK(plan_reader_change(ReaderChangeKind::add, gate, std::nullopt, false).status().code() == StatusCode::not_found);
  ReaderRecord suspend = gate;
  suspend.status = ReaderStatus::suspended;
  CHECK(plan_reader_change(ReaderChangeKind::set_status, suspend, std::nullopt, true).status().code() == StatusCode::not_found);
  auto suspended = plan_reader_change(ReaderChangeKind::set_status, suspend, gate, true);
  REQUIRE(suspended);
  CHECK(suspended->after.status == ReaderStatus::suspended);
  CHECK(suspended->after.modes == gate.modes);
  ReaderRecord retired = gate;
  retired.status = ReaderStatus::retired;
  CHECK(plan_reader_change(ReaderChangeKind::set_status, gate, retired, true).status().code() == StatusCode::refused);
}

TEST_CASE("rules: an offline charge may leave at most the rule set's offline debt") {
  auto loaded = load_rule_set(CITYCARD_CITY_RULES);
  REQUIRE(loaded);
  const RuleSet& rules = *loaded;
  REQUIRE(rules.wallet.offline_debt_max_minor == 500);
  CardState card;
  card.category = RiderCategory::general;
  card.wallet_minor = 20;
  Tap pay = tap_of(Mode::pay, 901);
  pay.offline = true;
  pay.amount_minor = 520;
  Rating within = rate(rules, card, pay);
  CHECK(within.approved());
  CHECK(within.balance_after_minor == -500);
  pay.amount_minor = 521;
  Rating over = rate(rules, card, pay);
  CHECK(over.refusal == RefusalReason::offline_limit_exceeded);
  CHECK(over.posting_count == 0);
  pay.offline = false;
  CHECK(rate(rules, card, pay).refusal == RefusalReason::insufficient_balance);
}

}  // namespace citycard::rules
