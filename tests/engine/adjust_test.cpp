// Adjustments and refused requests in the group builder
// (engine/groups/group_adjust.cpp, refusals.h), on a real ledger without
// threads -- as the CLI's stopped-ledger path uses it -- and once through
// the engine's shards, which must come to the same ledger.
#include <catch2/catch.hpp>

#include "approvals.h"
#include "office_fixture.h"
#include "refusals.h"
#include "tap_adjustments.h"

using namespace citycard;
using namespace citycard::engine;
using namespace citycard::engine::testing;

namespace {

const std::string card_a = "04ADADAD01";
const std::string card_b = "04ADADAD02";
constexpr std::int64_t bus_fare_minor = 15;  // rules/city.toml, a general rider boarding a bus

struct Office : OfficeDesk {
  explicit Office(ledger::Ledger& ledger, std::int64_t four_eyes_minor = limits::four_eyes_minor_default)
      : OfficeDesk(ledger, four_eyes_minor) {}

  Draft build(AdminAction kind, const std::string& card, std::int64_t amount, const std::string& ref,
              std::optional<TapId> tap = std::nullopt, const std::string& clerk = "mei", const std::string& reason = "overcharged") {
    Draft draft;
    draft.admin().action = kind;
    draft.admin().card = *CardId::parse(card);
    draft.admin().amount_minor = amount;
    draft.admin().tap = tap;
    draft.admin().key = *IdempotencyKey::parse(ref);
    draft.admin().time = EventTime{monday_8am_us + 3'600'000'000LL};
    draft.admin().operator_name = clerk;
    draft.admin().clerk_role = clerk == "mei" ? "clerk" : "supervisor";
    draft.admin().reason = reason;
    builder.card_action(draft);
    return draft;
  }
  // Built and, when it is ok and new, posted.
  AdminResult act(AdminAction kind, const std::string& card, std::int64_t amount, const std::string& ref,
                  std::optional<TapId> tap = std::nullopt, const std::string& clerk = "mei") {
    Draft draft = build(kind, card, amount, ref, tap, clerk);
    if (draft.admin_result().status.is_ok() && !draft.admin_result().duplicate) post(draft.group);
    return draft.admin_result();
  }
  std::int64_t wallet(const std::string& card) { return wallet_of(ledger, card); }
  std::int64_t payable(std::uint32_t operator_id) {
    return ledger.account(ledger.operator_record(OperatorId{operator_id})->payable_account)->balance_minor;
  }
  std::int64_t adjustments() { return ledger.account(ledger::find_system_accounts(ledger)->adjustments)->balance_minor; }
};

}  // namespace

TEST_CASE("adjustment: a credit naming a tap comes back from the operator that got its fare, at most the fare in all") {
  TempDir dir("adjust-credit");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  Office office(*ledger);
  const TapId tap = office.ride(card_a, 1);
  REQUIRE(office.wallet(card_a) == 100 - bus_fare_minor);
  const std::int64_t payable_before = office.payable(101);

  Draft first = office.build(AdminAction::adjust, card_a, 10, "op:1:1", tap);
  REQUIRE(first.admin_result().status.is_ok());
  REQUIRE(first.group.transfers.size() == 1);
  const Transfer& back = first.group.transfers[0];
  CHECK(back.code == TransferCode::adjustment);
  CHECK(back.debit_account == ledger->operator_record(OperatorId{101})->payable_account);
  CHECK(back.credit_account == ledger->card(*CardId::parse(card_a))->wallet_account);
  CHECK(back.amount_minor == 10);
  CHECK(back.operator_id.value == 101);
  CHECK(back.mode == Mode::bus_board);  // the settlement line says which ride it corrects
  CHECK(first.admin_result().wallet_minor == 95);
  // Before the first is durable, the book already counts it: 5 are left.
  Draft too_much = office.build(AdminAction::adjust, card_a, 6, "op:1:2", tap);
  CHECK(says(too_much.admin_result(), "tap tap:17:1 charged card 04ADADAD01 15 TWD and 10 TWD of it was credited back already: at most 5 more, not 6"));
  office.post(first.group);
  CHECK(office.wallet(card_a) == 95);
  CHECK(office.payable(101) == payable_before - 10);

  // The record beside the tap, and the audit entry, in the same write.
  auto adjusted = load_tap_adjusted(*ledger, tap);
  REQUIRE(adjusted);
  CHECK(adjusted->credited_minor() == 10);
  AuditEntry entry = office.audit("op:1:1");
  CHECK(entry.action == "adjustment");
  CHECK(entry.card == card_a);
  CHECK(entry.amount_minor == 10);
  CHECK(entry.reason == "overcharged");
  CHECK(entry.tap == "tap:17:1");
  CHECK(entry.outcome == "done");
  CHECK(entry.detail.find("10 TWD from operator 101") != std::string::npos);

  // A fresh book (the CLI, or a reloaded card) reads the same from the ledger.
  Office again(*ledger);
  CHECK(says(again.act(AdminAction::adjust, card_a, 6, "op:1:3", tap), "at most 5 more, not 6"));
  REQUIRE(again.act(AdminAction::adjust, card_a, 5, "op:1:4", tap).status.is_ok());
  CHECK(says(again.act(AdminAction::adjust, card_a, 1, "op:1:5", tap), "at most 0 more, not 1"));
  CHECK(office.wallet(card_a) == 100);
  CHECK(office.payable(101) == payable_before - bus_fare_minor);
  CHECK(ledger->verify().ok());
}

TEST_CASE("adjustment: a debit naming a tap pays its operator, and widens what may be credited back") {
  TempDir dir("adjust-debit");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  Office office(*ledger);
  const TapId tap = office.ride(card_a, 1);
  const std::int64_t payable_before = office.payable(101);
  Draft missed = office.build(AdminAction::adjust, card_a, -7, "op:2:1", tap, "mei", "second zone not charged");
  REQUIRE(missed.admin_result().status.is_ok());
  REQUIRE(missed.group.transfers.size() == 1);
  CHECK(missed.group.transfers[0].debit_account == ledger->card(*CardId::parse(card_a))->wallet_account);
  CHECK(missed.group.transfers[0].credit_account == ledger->operator_record(OperatorId{101})->payable_account);
  office.post(missed.group);
  CHECK(office.wallet(card_a) == 100 - bus_fare_minor - 7);
  CHECK(office.payable(101) == payable_before + 7);
  CHECK(office.audit("op:2:1").amount_minor == -7);
  // The tap has now charged 22: that much may come back, no more.
  CHECK(says(office.act(AdminAction::adjust, card_a, 23, "op:2:2", tap), "charged card 04ADADAD01 22 TWD"));
  REQUIRE(office.act(AdminAction::adjust, card_a, 22, "op:2:3", tap).status.is_ok());
  CHECK(office.wallet(card_a) == 100);
  CHECK(office.payable(101) == payable_before - bus_fare_minor);
  CHECK(ledger->verify().ok());
}

TEST_CASE("adjustment: without a tap the adjustments account gives or takes, and a debit keeps to the refund's wallet rule") {
  TempDir dir("adjust-goodwill");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 40);
  Office office(*ledger);
  REQUIRE(office.act(AdminAction::adjust, card_a, 25, "op:3:1").status.is_ok());
  CHECK(office.wallet(card_a) == 65);
  CHECK(office.adjustments() == -25);
  REQUIRE(office.act(AdminAction::adjust, card_a, -5, "op:3:2").status.is_ok());
  CHECK(office.wallet(card_a) == 60);
  CHECK(office.adjustments() == -20);
  // The refund's rule, word for word: no debit past what a refund could take.
  CHECK(says(office.act(AdminAction::adjust, card_a, -61, "op:3:3"), "card 04ADADAD01 holds 60 TWD; cannot debit 61"));
  CHECK(says(office.act(AdminAction::refund, card_a, 61, "op:3:4"), "card 04ADADAD01 holds 60 TWD; cannot refund 61"));
  // And the wallet's ceiling (10 000 TWD) holds for a credit, before the ledger is asked.
  CHECK(says(office.act(AdminAction::adjust, card_a, 9'941, "op:3:5"), "9941 more would pass its ceiling of 10000 TWD"));
  CHECK(office.wallet(card_a) == 60);
  // A retry is a duplicate; the reference for another amount is refused.
  CHECK(office.act(AdminAction::adjust, card_a, 25, "op:3:1").duplicate);
  CHECK(says(office.act(AdminAction::adjust, card_a, 26, "op:3:1"), "op:3:1 was used for another request"));
  CHECK(office.wallet(card_a) == 60);
  CHECK(ledger->verify().ok());
}

TEST_CASE("adjustment: bad requests of every kind are refused by name and change nothing") {
  TempDir dir("adjust-bad");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  issue_card(*ledger, card_b, 100);
  Office office(*ledger);
  const TapId tap_b = office.ride(card_b, 1);
  Draft refused_tap;
  refused_tap.tap = make_tap(bus_reader, 2, "04ADADADFF", Mode::bus_board, 101, monday_8am_us);  // no such card
  refused_tap.key = IdempotencyKey::for_tap(refused_tap.tap.tap.id);
  office.builder.rate_tap(refused_tap);
  office.post(refused_tap.group);
  const std::uint64_t transfers_before = ledger->last_sequence();

  CHECK(says(office.act(AdminAction::adjust, card_a, 0, "op:4:1"), "must not be 0"));
  CHECK(says(office.act(AdminAction::adjust, card_a, limits::transfer_amount_minor_max + 1, "op:4:2"), "must be within"));
  CHECK(says(office.act(AdminAction::adjust, card_a, std::numeric_limits<std::int64_t>::min(), "op:4:3"), "must be within"));
  Draft no_reason = office.build(AdminAction::adjust, card_a, 5, "op:4:4", std::nullopt, "mei", "");
  CHECK(says(no_reason.admin_result(), "an adjustment needs a reason"));
  CHECK(says(office.act(AdminAction::adjust, "04ADADAD99", 5, "op:4:5"), "no card 04ADADAD99"));
  CHECK(says(office.act(AdminAction::adjust, card_a, 5, "op:4:6", TapId{ReaderId{bus_reader}, 99}), "no tap tap:17:99 in the ledger"));
  CHECK(says(office.act(AdminAction::adjust, card_a, 5, "op:4:7", tap_b), "tap tap:17:1 was a tap of card 04ADADAD02, not of card 04ADADAD01"));
  CHECK(says(office.act(AdminAction::adjust, card_a, 5, "op:4:8", refused_tap.tap.tap.id), "tap tap:17:2 moved no money of any card"));
  // A replaced card: its wallet moved; the new card is the one to adjust,
  // and it may name the old card's taps.
  {
    Draft draft;
    draft.admin().action = AdminAction::replace;
    draft.admin().card = *CardId::parse(card_b);
    draft.admin().new_card = *CardId::parse("04ADADAD03");
    draft.admin().key = *IdempotencyKey::parse("op:4:11");
    draft.admin().time = EventTime{monday_8am_us};
    office.builder.card_action(draft);
    REQUIRE(draft.admin_result().status.is_ok());
    office.post(draft.group);
  }
  const std::uint64_t after_replace = ledger->last_sequence();
  CHECK(says(office.act(AdminAction::adjust, card_b, 5, "op:4:12", tap_b), "card 04ADADAD02 was replaced by 04ADADAD03; adjust 04ADADAD03"));
  CHECK(ledger->last_sequence() == after_replace);
  REQUIRE(office.act(AdminAction::adjust, "04ADADAD03", 5, "op:4:13", tap_b).status.is_ok());
  CHECK(office.wallet("04ADADAD03") == 100 - bus_fare_minor + 5);
  CHECK(ledger->last_sequence() > transfers_before);
  CHECK(office.wallet(card_a) == 100);
  CHECK(ledger->verify().ok());
}

TEST_CASE("adjustment: a refused request writes its audit entry alone, under a key of its own") {
  TempDir dir("adjust-refused");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 30);
  Office office(*ledger);
  Draft refused = office.build(AdminAction::adjust, card_a, -50, "op:5:1");
  REQUIRE(refused.admin_result().status.code() == StatusCode::refused);
  REQUIRE(records_refusal(refused.group));
  CHECK(refused.group.key.to_string() == "rfs:5:1");
  CHECK(refused.group.transfers.empty());
  CHECK(refused.group.card_updates.empty());
  REQUIRE(refused.group.records.size() == 1);
  CHECK(refused.card.empty());  // nothing of the card is pending
  office.post(refused.group);
  AuditEntry entry = office.audit("rfs:5:1");
  CHECK(entry.outcome == "refused");
  CHECK(entry.clerk == "mei");
  CHECK(entry.role == "clerk");
  CHECK(entry.action == "adjustment");
  CHECK(entry.card == card_a);
  CHECK(entry.amount_minor == -50);
  CHECK(entry.detail == "card 04ADADAD01 holds 30 TWD; cannot debit 50");
  // Refused again under the same reference: the same write, a duplicate.
  CHECK(office.post(office.build(AdminAction::adjust, card_a, -50, "op:5:1").group).duplicate);
  // The reference was not used: a request that is allowed takes it.
  AdminResult allowed = office.act(AdminAction::adjust, card_a, -20, "op:5:1");
  REQUIRE(allowed.status.is_ok());
  CHECK_FALSE(allowed.duplicate);
  CHECK(office.wallet(card_a) == 10);
  // Refused by the role table before any rule: recorded the same way.
  Draft by_role;
  by_role.admin().action = AdminAction::adjust;
  by_role.admin().card = *CardId::parse(card_a);
  by_role.admin().amount_minor = 5;
  by_role.admin().key = *IdempotencyKey::parse("op:5:2");
  by_role.admin().operator_name = "vic";
  by_role.admin().clerk_role = "viewer";
  by_role.admin().refusal = Status::refused("clerk vic (viewer) may not adjust charges");
  office.builder.card_action(by_role);
  CHECK(by_role.admin_result().status.message() == "clerk vic (viewer) may not adjust charges");
  REQUIRE(records_refusal(by_role.group));
  office.post(by_role.group);
  CHECK(office.audit("rfs:5:2").detail == "clerk vic (viewer) may not adjust charges");
  CHECK(office.wallet(card_a) == 10);
  // Nobody signed in, or no decision (a ledger that failed): nothing to record.
  Draft anonymous = office.build(AdminAction::adjust, card_a, -50, "op:5:3", std::nullopt, "");
  CHECK_FALSE(anonymous.admin_result().status.is_ok());
  CHECK_FALSE(records_refusal(anonymous.group));
  CHECK(anonymous.group.records.empty());
  CHECK(ledger->verify().ok());
}

TEST_CASE("adjustment: four eyes -- one over the limit either way waits, and is approved or rejected like a refund") {
  TempDir dir("adjust-four-eyes");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 5000);
  Office office(*ledger, 1000);
  const TapId tap = office.ride(card_a, 1);
  // At the limit: at once. Over it, a debit too: waits, moves nothing.
  REQUIRE(office.act(AdminAction::adjust, card_a, -1000, "op:6:1").status.is_ok());
  Draft asked = office.build(AdminAction::adjust, card_a, -1500, "op:6:2", std::nullopt, "mei", "fare evasion settled");
  REQUIRE(asked.admin_result().status.is_ok());
  CHECK(asked.admin_result().pending);
  CHECK(asked.group.key.to_string() == "apv:6:2");
  CHECK(asked.group.transfers.empty());
  office.post(asked.group);
  auto waiting = load_approval(*ledger, *IdempotencyKey::parse("op:6:2"));
  REQUIRE(waiting);
  REQUIRE(waiting->has_value());
  CHECK((*waiting)->action == AdminAction::adjust);
  CHECK((*waiting)->amount_minor == -1500);
  CHECK(office.audit("apv:6:2").outcome == "pending");
  CHECK(office.audit("apv:6:2").action == "adjustment");
  const std::int64_t wallet_before = office.wallet(card_a);

  // The asker may not decide; a second supervisor approves: it posts once.
  CHECK(says(office.act(AdminAction::approve, card_a, 0, "op:6:2", std::nullopt, "mei"),
             "may not approve adjustment op:6:2: mei asked for it"));
  REQUIRE(office.act(AdminAction::approve, card_a, 0, "op:6:2", std::nullopt, "sue").status.is_ok());
  CHECK(office.wallet(card_a) == wallet_before - 1500);
  AuditEntry approved = office.audit("op:6:2");
  CHECK(approved.outcome == "approved");
  CHECK(approved.action == "adjustment");
  CHECK(approved.amount_minor == -1500);
  CHECK(approved.detail.find("asked for by mei (clerk): fare evasion settled") != std::string::npos);
  CHECK(says(office.act(AdminAction::reject, card_a, 0, "op:6:2", std::nullopt, "ann"), "adjustment op:6:2 was already approved by sue"));
  CHECK(office.act(AdminAction::adjust, card_a, -1500, "op:6:2").duplicate);

  // A tap's credit over the limit waits with its tap, and a rejection moves nothing.
  Office big(*ledger, 10);
  REQUIRE(big.act(AdminAction::adjust, card_a, 12, "op:6:3", tap).pending);
  auto with_tap = load_approval(*ledger, *IdempotencyKey::parse("op:6:3"));
  REQUIRE((*with_tap)->tap == tap);
  REQUIRE(big.act(AdminAction::reject, card_a, 0, "op:6:3", std::nullopt, "sue").status.is_ok());
  CHECK(office.wallet(card_a) == wallet_before - 1500);
  CHECK(office.audit("op:6:3").outcome == "rejected");
  CHECK(office.audit("op:6:3").tap == "tap:17:1");
  CHECK(says(big.act(AdminAction::adjust, card_a, 12, "op:6:3", tap), "adjustment op:6:3 was rejected by sue"));
  // Approval checks the tap again: credited meanwhile, it no longer fits.
  REQUIRE(big.act(AdminAction::adjust, card_a, 12, "op:6:4", tap).pending);
  REQUIRE(big.act(AdminAction::adjust, card_a, 10, "op:6:5", tap).status.is_ok());
  CHECK(says(big.act(AdminAction::approve, card_a, 0, "op:6:4", std::nullopt, "sue"), "at most 5 more, not 12"));
  CHECK(ledger->verify().ok());
}

TEST_CASE("adjustment: the engine's shards and the stopped-ledger path leave the same ledger") {
  // One history of taps and office work, replayed on two ledgers: through
  // the running pipeline, and through the builder as the CLI posts it.
  TempDir dir("adjust-paths");
  auto through_engine = make_ledger(dir.path / "engine");
  auto on_ledger = make_ledger(dir.path / "direct");
  for (auto* ledger : {through_engine.get(), on_ledger.get()}) issue_card(*ledger, card_a, 200);
  auto command = [](std::int64_t amount, const std::string& ref, std::optional<TapId> tap) {
    AdminCommand c;
    c.action = AdminAction::adjust;
    c.card = *CardId::parse(card_a);
    c.amount_minor = amount;
    c.tap = tap;
    c.key = *IdempotencyKey::parse(ref);
    c.time = EventTime{monday_8am_us + 60'000'000};
    c.operator_name = "mei";
    c.clerk_role = "clerk";
    c.reason = "fare dispute";
    return c;
  };
  const TapId tap{ReaderId{bus_reader}, 1};
  const std::vector<AdminCommand> work = {command(10, "op:7:1", tap), command(-30, "op:7:2", std::nullopt),
                                          command(9, "op:7:3", tap), command(-500, "op:7:4", std::nullopt),
                                          command(5, "op:7:5", tap)};
  std::vector<Status> engine_said;
  {
    Pipeline pipeline(*through_engine);
    REQUIRE(pipeline.tap(make_tap(bus_reader, 1, card_a, Mode::bus_board, 101, monday_8am_us)).outcome ==
            protocol::Outcome::approved);
    for (const AdminCommand& c : work) engine_said.push_back(pipeline.admin(c).status);
    pipeline.engine->stop();
  }
  std::vector<Status> ledger_said;
  {
    Office office(*on_ledger);
    office.ride(card_a, 1);
    for (const AdminCommand& c : work) {
      Draft draft;
      draft.admin() = c;
      office.builder.card_action(draft);
      if (draft.admin_result().status.is_ok() || records_refusal(draft.group)) office.post(draft.group);
      ledger_said.push_back(draft.admin_result().status);
    }
  }
  REQUIRE(engine_said.size() == ledger_said.size());
  for (std::size_t i = 0; i < work.size(); ++i) {
    INFO(work[i].key.to_string() << ": " << engine_said[i].to_string() << " / " << ledger_said[i].to_string());
    CHECK(engine_said[i].code() == ledger_said[i].code());
    CHECK(engine_said[i].message() == ledger_said[i].message());
  }
  CHECK_FALSE(engine_said[2].is_ok());  // past the tap's fare: 5 are left of it
  CHECK_FALSE(engine_said[3].is_ok());  // past the wallet
  CHECK(engine_said[4].is_ok());
  CHECK(wallet_of(*through_engine, card_a) == wallet_of(*on_ledger, card_a));
  CHECK(wallet_of(*on_ledger, card_a) == 200 - bus_fare_minor + 10 - 30 + 5);
  Office engine_view(*through_engine);
  Office ledger_view(*on_ledger);
  CHECK(engine_view.payable(101) == ledger_view.payable(101));
  CHECK(engine_view.adjustments() == ledger_view.adjustments());
  for (const char* key : {"op:7:1", "op:7:2", "rfs:7:3", "rfs:7:4", "op:7:5"}) {
    AuditEntry a = engine_view.audit(key);
    AuditEntry b = ledger_view.audit(key);
    CHECK(audit_json(a) == audit_json(b));
  }
  CHECK(through_engine->verify().ok());
  CHECK(on_ledger->verify().ok());
}
