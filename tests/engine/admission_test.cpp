// The trust boundary towards readers, on the real pipeline and ledger: a
// reader sends only what it is registered for, event times are bounded,
// offline money is bounded per card and per reader, a refusal the reader
// never heard does not become a free ride, and an unreadable stored decision
// refuses one tap instead of stopping the engine.
#include "engine_fixture.h"

#include "calendar.h"
#include "decision_codec.h"
#include "deny_records.h"

namespace citycard::engine::testing {
namespace {

constexpr std::int64_t hour_us = 3600LL * 1'000'000;
const std::string card_a = "04A1B2C3D4E5F6";
const std::string card_b = "04B1B2C3D4E5F6";

IdempotencyKey op_key(std::uint64_t n) { return IdempotencyKey{Origin::operator_action, 4343, n}; }

bool recorded_without_money(const ledger::Ledger& ledger, TapId tap) {
  auto transfers = ledger.transfers_for(IdempotencyKey::for_tap(tap));
  return transfers && transfers->empty();
}

AdminCommand reader_command(AdminAction action, ReaderRecord reader, std::uint64_t n) {
  AdminCommand command;
  command.action = action;
  command.reader = reader;
  command.key = op_key(n);
  return command;
}

ReaderRecord registration(std::uint32_t id, std::uint32_t operator_id, ReaderKind kind) {
  ReaderRecord reader;
  reader.id = ReaderId{id};
  reader.operator_id = OperatorId{operator_id};
  reader.kind = kind;
  reader.modes = rules::modes_for_kind(kind);
  return reader;
}

}  // namespace

TEST_CASE("a reader is refused every tap it is not registered for, and nothing moves") {
  TempDir dir("admission-reader");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 20);
  Pipeline pipeline(*ledger);
  const std::int64_t t = monday_8am_us;

  // A bus validator's certificate: a top-up of 5,000 (money from nothing),
  // a payment at a car park, a ride billed to the metro.
  auto top_up = make_tap(bus_reader, 1, card_a, Mode::top_up, 101, t);
  top_up.tap.amount_minor = 5000;
  auto pay = make_tap(bus_reader, 2, card_a, Mode::pay, 801, t);
  pay.tap.amount_minor = 10;
  auto other_operator = make_tap(bus_reader, 3, card_a, Mode::bus_board, 201, t);
  // A reader nobody registered.
  auto stranger = make_tap(99, 1, card_a, Mode::bus_board, 101, t);
  for (const auto& tap : {top_up, pay, other_operator, stranger}) {
    auto decision = pipeline.submit({tap}).front();
    INFO(tap.tap.id.reader.value << ":" << tap.tap.id.sequence);
    CHECK(decision.outcome == protocol::Outcome::refused);
    CHECK(decision.reason == RefusalReason::reader_not_allowed);
    CHECK(recorded_without_money(*ledger, tap.tap.id));
  }
  CHECK(wallet_of(*ledger, card_a) == 20);
  CHECK(pipeline.metrics.refusals(RefusalReason::reader_not_allowed) == 4);
  // What it is for still works.
  CHECK(pipeline.tap(make_tap(bus_reader, 4, card_a, Mode::bus_board, 101, t)).outcome == protocol::Outcome::approved);
  CHECK(wallet_of(*ledger, card_a) == 5);
  CHECK(ledger->verify().ok());
}

TEST_CASE("a reader's fixed place and amount bounds hold, and only machines and desks top up") {
  TempDir dir("admission-bounds");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 1000);
  // A car-park terminal at location 7 that takes at most 200 per payment,
  // and a top-up machine of the same operator.
  ReaderRecord park = registration(40, 801, ReaderKind::parking_terminal);
  park.location = 7;
  park.amount_max_minor = 200;
  REQUIRE(ledger->put_records({ledger::reader_record_write(park)}, {}));
  register_reader(*ledger, 41, 801, ReaderKind::top_up_machine);
  Pipeline pipeline(*ledger);
  const std::int64_t t = monday_8am_us;
  auto payment = [&](std::uint64_t sequence, std::uint32_t location, std::int64_t amount) {
    auto tap = make_tap(40, sequence, card_a, Mode::pay, 801, t, location);
    tap.tap.amount_minor = amount;
    return pipeline.tap(tap);
  };
  CHECK(payment(1, 7, 200).outcome == protocol::Outcome::approved);
  CHECK(payment(2, 7, 201).reason == RefusalReason::reader_not_allowed);
  CHECK(payment(3, 8, 50).reason == RefusalReason::reader_not_allowed);
  CHECK(wallet_of(*ledger, card_a) == 800);

  auto machine_top_up = make_tap(41, 1, card_a, Mode::top_up, 801, t);
  machine_top_up.tap.amount_minor = 500;
  auto topped = pipeline.tap(machine_top_up);
  INFO(refusal_reason_name(topped.reason));
  CHECK(topped.outcome == protocol::Outcome::approved);
  CHECK(wallet_of(*ledger, card_a) == 1300);

  // A stored registration that breaks the kind rule (written by hand) is
  // still refused a top-up.
  ReaderRecord forged = registration(42, 801, ReaderKind::shop_terminal);
  forged.modes |= mode_bit(Mode::top_up);
  CHECK(!rules::validate_registration(forged));
  CHECK(rules::reader_refusal(&forged, machine_top_up.tap) == RefusalReason::reader_not_allowed);
}

TEST_CASE("the card office registers, suspends and retires readers through the engine, effective at once") {
  TempDir dir("admission-admin");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 500);
  {
    Pipeline pipeline(*ledger);
    const std::int64_t t = monday_8am_us;
    ReaderRecord gate = registration(50, 201, ReaderKind::metro_gate);
    gate.location = 1001;
    CHECK(pipeline.tap(make_tap(50, 1, card_a, Mode::metro_in, 201, t, 1001)).reason == RefusalReason::reader_not_allowed);

    auto added = pipeline.admin(reader_command(AdminAction::reader_add, gate, 1));
    INFO(added.status.to_string());
    REQUIRE(added.status.is_ok());
    CHECK(added.reader == gate);
    CHECK(pipeline.tap(make_tap(50, 2, card_a, Mode::metro_in, 201, t, 1001)).outcome == protocol::Outcome::approved);
    // The same request again: done already, nothing changes.
    auto again = pipeline.admin(reader_command(AdminAction::reader_add, gate, 1));
    CHECK(again.status.is_ok());
    CHECK(again.duplicate);
    // A new request for a registered id, an unknown operator, a bus kind that tops up.
    CHECK(pipeline.admin(reader_command(AdminAction::reader_add, gate, 2)).status.code() == StatusCode::already_exists);
    CHECK(pipeline.admin(reader_command(AdminAction::reader_add, registration(51, 7777, ReaderKind::metro_gate), 3))
              .status.code() == StatusCode::not_found);
    ReaderRecord bad = registration(52, 101, ReaderKind::bus_validator);
    bad.modes |= mode_bit(Mode::top_up);
    auto refused = pipeline.admin(reader_command(AdminAction::reader_add, bad, 4));
    CHECK(refused.status.code() == StatusCode::invalid_argument);
    CHECK(refused.status.message().find("top_up") != std::string::npos);
    CHECK(!ledger::load_reader(*ledger, ReaderId{52}));

    ReaderRecord suspend = gate;
    suspend.status = ReaderStatus::suspended;
    REQUIRE(pipeline.admin(reader_command(AdminAction::reader_status, suspend, 5)).status.is_ok());
    CHECK(pipeline.tap(make_tap(50, 3, card_a, Mode::metro_out, 201, t + hour_us, 1001)).reason ==
          RefusalReason::reader_not_allowed);
    ReaderRecord activate = gate;
    activate.status = ReaderStatus::active;
    REQUIRE(pipeline.admin(reader_command(AdminAction::reader_status, activate, 6)).status.is_ok());
    CHECK(pipeline.tap(make_tap(50, 4, card_a, Mode::metro_out, 201, t + hour_us, 1001)).outcome ==
          protocol::Outcome::approved);
    ReaderRecord retire = gate;
    retire.status = ReaderStatus::retired;
    REQUIRE(pipeline.admin(reader_command(AdminAction::reader_status, retire, 7)).status.is_ok());
    CHECK(pipeline.admin(reader_command(AdminAction::reader_status, activate, 8)).status.code() == StatusCode::refused);
    CHECK(pipeline.engine->readers().find(ReaderId{50})->status == ReaderStatus::retired);
  }
  // Durable, with an audit record per action, and loaded at the next start.
  auto stored = ledger::load_reader(*ledger, ReaderId{50});
  REQUIRE(stored);
  CHECK(stored->status == ReaderStatus::retired);
  CHECK(ledger->record(ledger::RecordSpace::audit, op_key(1).to_string()));
  CHECK(ledger->record(ledger::RecordSpace::audit, op_key(7).to_string()));
  Pipeline restarted(*ledger);
  CHECK(restarted.tap(make_tap(50, 5, card_a, Mode::metro_in, 201, monday_8am_us + 2 * hour_us, 1001)).reason ==
        RefusalReason::reader_not_allowed);
  CHECK(ledger->verify().ok());
}

TEST_CASE("a tap dated far ahead or older than offline retention moves nothing, and an offline one is kept for review") {
  TempDir dir("admission-time");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 500, RiderCategory::senior);
  EngineOptions options = Pipeline::quick_options();
  const std::int64_t now = monday_8am_us;
  options.clock = [now] { return EventTime{now}; };
  options.event_time_bounds.future_skew_us = 5 * 60'000'000LL;
  options.event_time_bounds.offline_retention_us = 7 * 24 * hour_us;
  Pipeline pipeline(*ledger, options);

  // 2096: would open a new points month and cap window if it were rated.
  auto future = make_tap(bus_reader, 1, card_a, Mode::bus_board, 101, EventTime::from_unix_seconds(3'976'000'000).unix_us);
  auto decision = pipeline.tap(future);
  CHECK(decision.reason == RefusalReason::event_time_invalid);
  CHECK((decision.flags & protocol::DecisionFlags::review) == 0);
  CHECK(recorded_without_money(*ledger, future.tap.id));
  // Just within the skew: rated.
  CHECK(pipeline.tap(make_tap(bus_reader, 2, card_a, Mode::bus_board, 101, now + 4 * 60'000'000LL)).outcome ==
        protocol::Outcome::approved);
  // Eight days old, uploaded offline: refused, flagged, kept for review.
  auto stale = make_tap(bus_reader, 3, card_a, Mode::bus_board, 101, now - 8 * 24 * hour_us);
  stale.tap.offline = true;
  auto upload = pipeline.tap(stale);
  CHECK(upload.reason == RefusalReason::event_time_invalid);
  CHECK((upload.flags & protocol::DecisionFlags::review) != 0);
  auto review = ledger->record(ledger::RecordSpace::engine,
                               std::string(review_record_prefix) + IdempotencyKey::for_tap(stale.tap.id).to_string());
  REQUIRE(review);
  CHECK(review->find("\"reason\":\"event_time_invalid\"") != std::string::npos);
  CHECK(review->find(card_a) != std::string::npos);
  // Only the one ride moved money; points were never allotted for 2096.
  auto card = ledger->card(*CardId::parse(card_a));
  auto history = ledger->history(card->points_account, 0, 50);
  REQUIRE(history);
  for (const auto& entry : history->entries) CHECK(entry.transfer.event_time.unix_us < now + hour_us);
  CHECK(ledger->verify().ok());
}

TEST_CASE("offline money is bounded: a card's debt by the rule set, a reader's day by its registration") {
  TempDir dir("admission-offline");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 20);
  issue_card(*ledger, card_b, 0);
  // A car park terminal allowed 1,000 TWD offline a day.
  register_reader(*ledger, 60, 801, ReaderKind::parking_terminal, 1000);
  const std::int64_t t = monday_8am_us;
  auto offline_pay = [&](std::uint64_t sequence, const std::string& card, std::int64_t amount, std::int64_t when) {
    auto tap = make_tap(60, sequence, card, Mode::pay, 801, when);
    tap.tap.amount_minor = amount;
    tap.tap.offline = true;
    return tap;
  };
  {
    Pipeline pipeline(*ledger);
    // Ten payments of 900 from a card holding 20: the first leaves -880 of
    // debt, past the rule set's 500, so it is refused; 400 is within.
    CHECK(pipeline.tap(offline_pay(1, card_a, 900, t)).reason == RefusalReason::offline_limit_exceeded);
    auto within = pipeline.tap(offline_pay(2, card_a, 400, t));
    CHECK(within.outcome == protocol::Outcome::approved);
    CHECK(within.balance_after_minor == -380);
    CHECK((within.flags & protocol::DecisionFlags::deny_listed) != 0);
    CHECK(pipeline.tap(offline_pay(3, card_a, 200, t)).reason == RefusalReason::offline_limit_exceeded);
    CHECK(wallet_of(*ledger, card_a) == -380);
    // The reader has 600 of its 1,000 left today: 500 on another card passes, the next 200 does not.
    CHECK(pipeline.tap(offline_pay(4, card_b, 500, t)).outcome == protocol::Outcome::approved);
    CHECK(pipeline.engine->readers().offline_spent(ReaderId{60}, rules::LocalCalendar(480, 180).business_day(EventTime{t})) == 900);
  }
  const std::string card_c = "04C1B2C3D4E5F6";
  issue_card(*ledger, card_c, 1000);
  Pipeline restarted(*ledger);
  // The day's total survived the restart: a card that can pay is refused ...
  auto refused = restarted.tap(offline_pay(5, card_c, 200, t + hour_us));
  CHECK(refused.reason == RefusalReason::offline_limit_exceeded);
  // ... online it pays as usual, and the next business day starts afresh.
  auto online = offline_pay(6, card_c, 200, t + hour_us);
  online.tap.offline = false;
  CHECK(restarted.tap(online).outcome == protocol::Outcome::approved);
  CHECK(restarted.tap(offline_pay(7, card_c, 200, t + 24 * hour_us)).outcome == protocol::Outcome::approved);
  CHECK(wallet_of(*ledger, card_c) == 600);
  CHECK(ledger->verify().ok());
}

TEST_CASE("a tap refused online that the reader let through offline is charged once, as service given") {
  TempDir dir("admission-late");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 5);
  Pipeline pipeline(*ledger);
  const std::int64_t t = monday_8am_us;
  auto online = make_tap(bus_reader, 1, card_a, Mode::bus_board, 101, t);
  auto first = pipeline.tap(online);
  CHECK(first.reason == RefusalReason::insufficient_balance);
  // The reader heard nothing in time and admitted the rider: it uploads the
  // same tap id flagged offline.
  auto upload = online;
  upload.tap.offline = true;
  auto charged = pipeline.tap(upload);
  CHECK(charged.outcome == protocol::Outcome::approved);
  CHECK((charged.flags & protocol::DecisionFlags::replayed) == 0);
  CHECK(charged.balance_after_minor == -10);
  CHECK(wallet_of(*ledger, card_a) == -10);
  auto service = ledger->transfers_for(IdempotencyKey::for_service_given(online.tap.id));
  REQUIRE(service);
  CHECK(!service->empty());
  // Uploaded again, or the online copy resent: no second charge.
  auto again = pipeline.tap(upload);
  CHECK(again.outcome == protocol::Outcome::approved);
  CHECK((again.flags & protocol::DecisionFlags::replayed) != 0);
  CHECK(pipeline.tap(online).reason == RefusalReason::insufficient_balance);
  CHECK(wallet_of(*ledger, card_a) == -10);

  // Approved online and uploaded offline: the online charge stands, once.
  issue_card(*ledger, card_b, 100);
  auto paid = make_tap(bus_reader, 2, card_b, Mode::bus_board, 101, t);
  CHECK(pipeline.tap(paid).outcome == protocol::Outcome::approved);
  paid.tap.offline = true;
  CHECK((pipeline.tap(paid).flags & protocol::DecisionFlags::replayed) != 0);
  CHECK(wallet_of(*ledger, card_b) == 85);
  // Refused when it first came offline: stays refused (an upload resent).
  auto over = make_tap(shop_terminal, 9, card_b, Mode::pay, 801, t);
  over.tap.amount_minor = 700;
  over.tap.offline = true;
  CHECK(pipeline.tap(over).reason == RefusalReason::offline_limit_exceeded);
  auto resent = pipeline.tap(over);
  CHECK(resent.reason == RefusalReason::offline_limit_exceeded);
  CHECK((resent.flags & protocol::DecisionFlags::replayed) != 0);
  CHECK(ledger->verify().ok());
}

TEST_CASE("the engine tells a reader the last sequence it holds") {
  TempDir dir("admission-sequence");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  {
    Pipeline pipeline(*ledger);
    CHECK(pipeline.engine->last_sequence(ReaderId{bus_reader}) == 0);
    pipeline.submit({make_tap(bus_reader, 41, card_a, Mode::bus_board, 101, monday_8am_us),
                     make_tap(bus_reader, 7, card_a, Mode::bus_board, 101, monday_8am_us + hour_us)});
    CHECK(pipeline.engine->last_sequence(ReaderId{bus_reader}) == 41);
    CHECK(pipeline.engine->last_sequence(ReaderId{bus_reader_2}) == 0);
  }
  Pipeline restarted(*ledger);
  CHECK(restarted.engine->last_sequence(ReaderId{bus_reader}) == 41);
}

TEST_CASE("an unreadable stored decision refuses that tap internal and the engine carries on") {
  TempDir dir("admission-damaged");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  // A tap key whose stored outcome is not a decision.
  ledger::PostingGroup damaged;
  damaged.key = IdempotencyKey::for_tap(TapId{ReaderId{bus_reader}, 5});
  damaged.outcome = "not a decision";
  auto posted = ledger->post({damaged});
  REQUIRE(posted);
  REQUIRE(posted->front().posted);
  Pipeline pipeline(*ledger);
  auto decisions = pipeline.submit({make_tap(bus_reader, 5, card_a, Mode::bus_board, 101, monday_8am_us),
                                    make_tap(bus_reader, 6, card_a, Mode::bus_board, 101, monday_8am_us)});
  CHECK(decisions[0].outcome == protocol::Outcome::refused);
  CHECK(decisions[0].reason == RefusalReason::internal);
  CHECK(decisions[1].outcome == protocol::Outcome::approved);
  CHECK(pipeline.metrics.refusals(RefusalReason::internal) == 1);
  CHECK(wallet_of(*ledger, card_a) == 85);
}

}  // namespace citycard::engine::testing
