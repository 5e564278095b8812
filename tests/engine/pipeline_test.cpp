// The pipeline on a real ledger with the real city rule set: fares, refusals
// recorded, resends, ledger rejections, admin actions, deny list, busy.
#include "engine_fixture.h"


#include "decision_codec.h"

namespace citycard::engine::testing {
namespace {

constexpr std::int64_t hour_us = 3600LL * 1'000'000;
constexpr std::int64_t day_us = 24 * hour_us;
const std::string card_a = "04A1B2C3D4E5F6";
const std::string card_b = "04B1B2C3D4E5F6";
const std::string card_poor = "04C1B2C3D4E5F6";

IdempotencyKey op_key(std::uint64_t n) { return IdempotencyKey{Origin::operator_action, 4242, n}; }

}  // namespace

TEST_CASE("taps are rated with the city's fares and posted before they are answered") {
  TempDir dir("engine-fares");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 500);
  Pipeline pipeline(*ledger);
  std::int64_t t = monday_8am_us;

  auto bus = pipeline.tap(make_tap(17, 1, card_a, Mode::bus_board, 101, t));
  CHECK(bus.outcome == protocol::Outcome::approved);
  CHECK(bus.fare_minor == 15);
  CHECK(bus.balance_after_minor == 485);
  CHECK(bus.flags == 0);
  // Durable before the answer: the ledger already holds it.
  CHECK(wallet_of(*ledger, card_a) == 485);
  auto transfers = ledger->transfers_for(IdempotencyKey::for_tap(TapId{ReaderId{17}, 1}));
  REQUIRE(transfers);
  REQUIRE(transfers->size() == 1);
  CHECK(transfers->front().transfer.amount_minor == 15);
  CHECK(transfers->front().transfer.operator_id == OperatorId{101});
  CHECK(transfers->front().transfer.rule_set_version == city_rules().version);
  CHECK(transfers->front().transfer.event_time.unix_us == t);

  // Metro the next day (no transfer window), citizen discount 20% half up:
  // 65 -> 52 held at S01; S01 -> S03 costs 25 -> 20, so 32 comes back.
  auto in = pipeline.tap(make_tap(metro_gate, 2, card_a, Mode::metro_in, 201, t + day_us, 1001));
  CHECK(in.outcome == protocol::Outcome::approved);
  CHECK(in.fare_minor == 52);
  CHECK(in.balance_after_minor == 433);
  auto out = pipeline.tap(make_tap(metro_gate, 3, card_a, Mode::metro_out, 201, t + day_us + 20 * 60 * 1'000'000LL, 1003));
  CHECK(out.outcome == protocol::Outcome::approved);
  CHECK(out.fare_minor == -32);
  CHECK(out.balance_after_minor == 465);

  // Pool entry, citizen discount 20%: 110 -> 88.
  auto pool = pipeline.tap(make_tap(pool_gate, 4, card_a, Mode::entry, 601, t + 2 * day_us));
  CHECK(pool.outcome == protocol::Outcome::approved);
  CHECK(pool.fare_minor == 88);
  CHECK(pool.balance_after_minor == 377);
  CHECK(wallet_of(*ledger, card_a) == 377);

  // The card state survives a restart of the engine: a metro tap-out after a
  // restart still finds its open trip.
  auto in2 = pipeline.tap(make_tap(metro_gate, 5, card_a, Mode::metro_in, 201, t + 3 * day_us, 1001));
  CHECK(in2.fare_minor == 52);
  pipeline.engine->stop();
  Pipeline again(*ledger);
  auto out2 = again.tap(make_tap(metro_gate, 6, card_a, Mode::metro_out, 201, t + 3 * day_us + 600'000'000LL, 1002));
  CHECK(out2.outcome == protocol::Outcome::approved);
  CHECK(out2.fare_minor == -36);  // S01 -> S02: 20 -> 16
  CHECK(wallet_of(*ledger, card_a) == 377 - 16);
  CHECK(ledger->verify().ok());
}

TEST_CASE("the metrics split a decision's latency into the shard queue and hand-over to durable") {
  TempDir dir("engine-stages");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 500);
  issue_card(*ledger, card_b, 500);
  Pipeline pipeline(*ledger);
  const std::int64_t t = monday_8am_us;
  auto decisions = pipeline.submit({make_tap(17, 1, card_a, Mode::bus_board, 101, t),
                                    make_tap(17, 2, card_b, Mode::bus_board, 101, t),
                                    make_tap(17, 3, card_a, Mode::bus_board, 101, t + hour_us)});
  REQUIRE(decisions.size() == 3);
  // No waiting: the committer observes a batch's hand-over before it answers
  // the batch's taps, so the decisions above bring their metrics with them.
  const auto waited = pipeline.metrics.shard_wait().counts();
  const auto handed = pipeline.metrics.handover_to_durable().counts();
  const auto decided = pipeline.metrics.decision_latency().counts();
  CHECK(waited.count == 3);  // every tap, as its shard took it
  CHECK(handed.count >= 1);  // every batch handed over, once durable
  CHECK(decided.count == 1);  // the submission
  // Both are parts of the submission's latency (compared by bucket: a sum
  // rounds each observation to a microsecond).
  CHECK(waited.max_bound() <= decided.max_bound());
  CHECK(handed.max_bound() <= decided.max_bound());
  const std::string text = pipeline.metrics.render(Gauges{});
  CHECK(text.find("citycard_shard_wait_seconds_count 3") != std::string::npos);
  CHECK(text.find("citycard_handover_to_durable_seconds_count " + std::to_string(handed.count)) != std::string::npos);
  // Its hops: every batch handed over was prepared, and every write of one committed.
  const auto prepared = pipeline.metrics.handover_to_prepared().counts();
  const auto queued = pipeline.metrics.commit_queue().counts();
  CHECK(prepared.count == handed.count);
  CHECK(queued.count >= 1);
  CHECK(prepared.max_bound() <= handed.max_bound());
  CHECK(queued.max_bound() <= handed.max_bound());
  CHECK(text.find("citycard_handover_to_prepared_seconds_count " + std::to_string(prepared.count)) != std::string::npos);
  CHECK(text.find("citycard_commit_queue_seconds_count " + std::to_string(queued.count)) != std::string::npos);
}

TEST_CASE("refused taps, identity taps and unknown cards are recorded and answered the same when resent") {
  TempDir dir("engine-refused");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_poor, 0);
  Pipeline pipeline(*ledger);
  std::int64_t t = monday_8am_us;

  auto poor = pipeline.tap(make_tap(17, 1, card_poor, Mode::bus_board, 101, t));
  CHECK(poor.outcome == protocol::Outcome::refused);
  CHECK(poor.reason == RefusalReason::insufficient_balance);
  auto unknown = pipeline.tap(make_tap(17, 2, "0102030405", Mode::bus_board, 101, t));
  CHECK(unknown.outcome == protocol::Outcome::refused);
  CHECK(unknown.reason == RefusalReason::card_unknown);
  auto library = pipeline.tap(make_tap(library_desk, 3, card_poor, Mode::identify, 501, t));
  CHECK(library.outcome == protocol::Outcome::approved);
  CHECK(library.fare_minor == 0);

  for (TapId tap : {TapId{ReaderId{17}, 1}, TapId{ReaderId{17}, 2}, TapId{ReaderId{library_desk}, 3}}) {
    auto recorded = ledger->transfers_for(IdempotencyKey::for_tap(tap));
    INFO(tap.sequence);
    REQUIRE(recorded);          // the key is in the ledger ...
    CHECK(recorded->empty());   // ... and moved nothing
  }
  // Resent (from memory, and after a restart from the ledger): same answer, replayed.
  auto resent = pipeline.submit({make_tap(17, 1, card_poor, Mode::bus_board, 101, t),
                                 make_tap(17, 2, "0102030405", Mode::bus_board, 101, t)});
  protocol::DecisionRecord expected_poor = poor;
  expected_poor.flags |= protocol::DecisionFlags::replayed;
  protocol::DecisionRecord expected_unknown = unknown;
  expected_unknown.flags |= protocol::DecisionFlags::replayed;
  CHECK(resent[0] == expected_poor);
  CHECK(resent[1] == expected_unknown);
  pipeline.engine->stop();
  Pipeline again(*ledger);
  auto after_restart = again.submit({make_tap(17, 1, card_poor, Mode::bus_board, 101, t)});
  CHECK(after_restart[0] == expected_poor);
  CHECK(again.metrics.taps(Mode::bus_board, TapResult::replayed) == 1);
}

TEST_CASE("a resent tap gets its first decision and moves no money twice") {
  TempDir dir("engine-resend");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  std::int64_t t = monday_8am_us;
  protocol::DecisionRecord first;
  {
    Pipeline pipeline(*ledger);
    // The same tap twice in one batch, and again in a batch of its own.
    auto decisions = pipeline.submit({make_tap(17, 7, card_a, Mode::bus_board, 101, t),
                                      make_tap(17, 7, card_a, Mode::bus_board, 101, t)});
    first = decisions[0];
    CHECK(first.outcome == protocol::Outcome::approved);
    CHECK(first.flags == 0);
    CHECK(decisions[1].flags == protocol::DecisionFlags::replayed);
    CHECK(decisions[1].fare_minor == 15);
    auto again = pipeline.tap(make_tap(17, 7, card_a, Mode::bus_board, 101, t));
    CHECK(again.flags == protocol::DecisionFlags::replayed);
    CHECK(again.balance_after_minor == 85);
    CHECK(wallet_of(*ledger, card_a) == 85);
  }
  // After a restart the decision comes from the ledger, not from memory, and
  // the card's next tap is rated from the state the first one left.
  Pipeline restarted(*ledger);
  auto replayed = restarted.tap(make_tap(17, 7, card_a, Mode::bus_board, 101, t));
  protocol::DecisionRecord expected = first;
  expected.flags = protocol::DecisionFlags::replayed;
  CHECK(replayed == expected);
  auto next = restarted.tap(make_tap(17, 8, card_a, Mode::bus_board, 101, t + hour_us));
  CHECK(next.balance_after_minor == 70);
  CHECK(wallet_of(*ledger, card_a) == 70);
  CHECK(ledger->verify().ok());
}

TEST_CASE("a group the ledger rejects is answered refused, recorded, and the card reloaded") {
  TempDir dir("engine-reject");
  auto ledger = make_ledger(dir.path / "ledger");
  auto card = issue_card(*ledger, card_a, 20);
  Pipeline pipeline(*ledger);
  std::int64_t t = monday_8am_us;
  CHECK(pipeline.tap(make_tap(17, 1, card_a, Mode::bus_board, 101, t)).balance_after_minor == 5);

  // Money leaves the wallet behind the engine's back: its mirror still says 5.
  // (Nothing does this in production -- card office actions go through the
  // engine -- but the ledger is the judge either way.)
  auto system = ledger::find_system_accounts(*ledger);
  REQUIRE(system);
  ledger::PostingGroup drain;
  drain.key = IdempotencyKey{Origin::system, 7, 1};
  Transfer transfer;
  transfer.debit_account = card.wallet_account;
  transfer.credit_account = system->refunds;
  transfer.amount_minor = 5;
  transfer.code = TransferCode::refund;
  drain.transfers.push_back(transfer);
  auto top = ledger->post({drain});
  REQUIRE(top);
  REQUIRE(top->front().posted);

  // A parking payment of 5: the mirror allows it, the ledger does not.
  auto pay = make_tap(shop_terminal, 2, card_a, Mode::pay, 801, t + hour_us);
  pay.tap.amount_minor = 5;
  auto refused = pipeline.tap(pay);
  CHECK(refused.outcome == protocol::Outcome::refused);
  CHECK(refused.reason == RefusalReason::insufficient_balance);
  CHECK(pipeline.metrics.render(Gauges{}).find("citycard_ledger_rejections_total 1") != std::string::npos);
  auto recorded = ledger->transfers_for(IdempotencyKey::for_tap(TapId{ReaderId{shop_terminal}, 2}));
  REQUIRE(recorded);
  CHECK(recorded->empty());
  // Resent: refused again, replayed, from the recorded refusal.
  auto resent = pipeline.tap(pay);
  CHECK(resent.reason == RefusalReason::insufficient_balance);
  CHECK(resent.flags == protocol::DecisionFlags::replayed);
  // The card was reloaded: the next payment is refused by rating, not by the ledger.
  pay.tap.id.sequence = 3;
  auto next = pipeline.tap(pay);
  CHECK(next.reason == RefusalReason::insufficient_balance);
  CHECK(next.balance_after_minor == 0);
  CHECK(pipeline.metrics.render(Gauges{}).find("citycard_ledger_rejections_total 1") != std::string::npos);
  CHECK(wallet_of(*ledger, card_a) == 0);
  CHECK(ledger->verify().ok());
}

TEST_CASE("card office actions go through the card's shard: top-up, refund, block, replace") {
  TempDir dir("engine-admin");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  Pipeline pipeline(*ledger);
  std::int64_t t = monday_8am_us;
  auto command = [&](AdminAction action, std::uint64_t n) {
    AdminCommand c;
    c.action = action;
    c.card = *CardId::parse(card_a);
    c.key = op_key(n);
    c.time = EventTime{t};
    return c;
  };

  auto top_up = command(AdminAction::top_up, 1);
  top_up.amount_minor = 200;
  auto topped = pipeline.admin(top_up);
  REQUIRE(topped.status.is_ok());
  CHECK(topped.wallet_minor == 300);
  auto repeated = pipeline.admin(top_up);
  REQUIRE(repeated.status.is_ok());
  CHECK(repeated.duplicate);
  CHECK(wallet_of(*ledger, card_a) == 300);
  CHECK(pipeline.tap(make_tap(17, 1, card_a, Mode::bus_board, 101, t)).balance_after_minor == 285);

  auto refund = command(AdminAction::refund, 2);
  refund.amount_minor = 1000;
  CHECK(pipeline.admin(refund).status.code() == StatusCode::refused);
  refund.amount_minor = 85;
  CHECK(pipeline.admin(refund).wallet_minor == 200);

  auto block = command(AdminAction::set_status, 3);
  block.status = CardStatus::blocked;
  REQUIRE(pipeline.admin(block).status.is_ok());
  CHECK(ledger->card(*CardId::parse(card_a))->status == CardStatus::blocked);
  auto delta = pipeline.engine->deny_list().delta_since(0, 100);
  REQUIRE(delta.added.size() == 1);
  CHECK(delta.added[0] == *CardId::parse(card_a));
  auto blocked_tap = pipeline.tap(make_tap(library_desk, 2, card_a, Mode::identify, 501, t));
  CHECK(blocked_tap.reason == RefusalReason::card_blocked);
  CHECK((blocked_tap.flags & protocol::DecisionFlags::deny_listed) != 0);
  {
    // The deny list is loaded from the ledger at start.
    pipeline.engine->stop();
    Pipeline restarted(*ledger);
    CHECK(restarted.engine->deny_list().delta_since(0, 100).added.size() == 1);
  }
  Pipeline pipeline2(*ledger);
  auto unblock = command(AdminAction::set_status, 4);
  unblock.status = CardStatus::active;
  REQUIRE(pipeline2.admin(unblock).status.is_ok());
  CHECK(pipeline2.engine->deny_list().delta_since(0, 100).added.empty());

  auto replace = command(AdminAction::replace, 5);
  replace.new_card = *CardId::parse(card_b);
  auto replaced = pipeline2.admin(replace);
  INFO(replaced.status.to_string());
  REQUIRE(replaced.status.is_ok());
  CHECK(replaced.moved_wallet_minor == 200);
  CHECK(wallet_of(*ledger, card_a) == 0);
  CHECK(wallet_of(*ledger, card_b) == 200);
  auto old_record = ledger->card(*CardId::parse(card_a));
  CHECK(old_record->status == CardStatus::replaced);
  CHECK(old_record->replaced_by == *CardId::parse(card_b));
  CHECK(pipeline2.tap(make_tap(17, 3, card_a, Mode::bus_board, 101, t)).reason == RefusalReason::card_replaced);
  CHECK(pipeline2.tap(make_tap(17, 4, card_b, Mode::bus_board, 101, t)).balance_after_minor == 185);
  CHECK(ledger->verify().ok());
}

TEST_CASE("offline taps may take a wallet negative and put the card on the deny list, a top-up clears it") {
  TempDir dir("engine-offline");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 10);
  Pipeline pipeline(*ledger);
  auto tap = make_tap(17, 1, card_a, Mode::bus_board, 101, monday_8am_us);
  tap.tap.offline = true;
  auto decision = pipeline.tap(tap);
  CHECK(decision.outcome == protocol::Outcome::approved);
  CHECK(decision.balance_after_minor == -5);
  CHECK((decision.flags & protocol::DecisionFlags::debt) != 0);
  CHECK((decision.flags & protocol::DecisionFlags::deny_listed) != 0);
  CHECK(pipeline.engine->deny_list().delta_since(0, 10).added.size() == 1);
  AdminCommand top_up;
  top_up.action = AdminAction::top_up;
  top_up.card = *CardId::parse(card_a);
  top_up.amount_minor = 50;
  top_up.key = op_key(9);
  REQUIRE(pipeline.admin(top_up).status.is_ok());
  CHECK(pipeline.engine->deny_list().delta_since(0, 10).added.empty());
  CHECK(wallet_of(*ledger, card_a) == 45);
}

TEST_CASE("a shard queue that cannot take a whole batch answers busy and takes nothing") {
  TempDir dir("engine-busy");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 10000);
  EngineOptions options = Pipeline::quick_options();
  options.queue_depth = limits::batch_taps_max;
  Pipeline pipeline(*ledger, options);
  std::vector<protocol::TapRecord> taps;
  for (std::uint64_t i = 1; i <= limits::batch_taps_max + 1; ++i) {
    taps.push_back(make_tap(library_desk, i, card_a, Mode::identify, 501, monday_8am_us));
  }
  auto result = pipeline.submit_raw(taps);
  CHECK(result.kind == net::SubmitResult::Kind::busy);
  CHECK(!ledger->transfers_for(IdempotencyKey::for_tap(TapId{ReaderId{library_desk}, 1})));
  taps.pop_back();
  auto decided = pipeline.submit_raw(taps);
  REQUIRE(decided.kind == net::SubmitResult::Kind::decided);
  CHECK(decided.decisions.size() == limits::batch_taps_max);
}

TEST_CASE("many cards over several shards: every decision durable, balances match") {
  TempDir dir("engine-shards");
  auto ledger = make_ledger(dir.path / "ledger");
  constexpr int cards = 40;
  auto hex = [](int i) {
    char text[16];
    std::snprintf(text, sizeof text, "0A%08X", i);
    return std::string(text);
  };
  for (int i = 0; i < cards; ++i) issue_card(*ledger, hex(i), 1000);
  EngineOptions options = Pipeline::quick_options();
  options.shards = 3;
  options.card_cache_max = 8;  // forces eviction and reloads
  Pipeline pipeline(*ledger, options);
  std::vector<std::int64_t> paid(cards, 0);
  std::uint64_t sequence = 0;
  for (int round = 0; round < 6; ++round) {
    std::vector<protocol::TapRecord> taps;
    for (int i = 0; i < cards; ++i) {
      taps.push_back(make_tap(30, ++sequence, hex(i), Mode::bus_board, 101, monday_8am_us + round * 3 * hour_us));
    }
    auto decisions = pipeline.submit(taps);
    for (int i = 0; i < cards; ++i) {
      CHECK(decisions[static_cast<std::size_t>(i)].tap == taps[static_cast<std::size_t>(i)].tap.id);
      paid[static_cast<std::size_t>(i)] += decisions[static_cast<std::size_t>(i)].fare_minor;
    }
  }
  for (int i = 0; i < cards; ++i) CHECK(wallet_of(*ledger, hex(i)) == 1000 - paid[static_cast<std::size_t>(i)]);
  CHECK(paid[0] == 6 * 15);
  CHECK(ledger->verify().ok());
}

TEST_CASE("the stored decision codec round-trips and rejects damage") {
  protocol::DecisionRecord decision;
  decision.tap = TapId{ReaderId{5}, 1234567890123ULL};
  decision.outcome = protocol::Outcome::refused;
  decision.reason = RefusalReason::card_blocked;
  decision.balance_after_minor = -40;
  decision.points_after = 480;
  decision.flags = protocol::DecisionFlags::deny_listed;
  auto bytes = encode_decision(decision);
  // format, reader (1), sequence (6), outcome, reason, fare 0, balance -40 (1), points 480 (2), flags
  REQUIRE(bytes.size() == 1 + 1 + 6 + 1 + 1 + 1 + 1 + 2 + 1);
  CHECK(bytes.size() <= decision_bytes_max);
  auto back = decode_decision(bytes);
  REQUIRE(back);
  CHECK(*back == decision);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    INFO(cut);
    CHECK(!decode_decision(bytes.substr(0, cut)));
  }
  CHECK(!decode_decision(bytes + '\0'));
  std::string wrong_outcome = bytes;
  wrong_outcome[8] = 1;  // approved with a reason
  auto refused = decode_decision(wrong_outcome);
  REQUIRE_FALSE(refused);
  CHECK(refused.status().message() == "stored decision's reason contradicts its outcome");
  std::string wrong_version = bytes;
  wrong_version[0] = 9;
  auto unknown = decode_decision(wrong_version);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.status().message() == "stored decision has an unknown format 9");
}

}  // namespace citycard::engine::testing
