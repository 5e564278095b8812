// One account, many media (engine/groups/media_directory.h): the rating
// state (allotment, caps) is the account's, shared by linked media and
// continued by a replacement card; link, unlink and merge move money, state
// and media with an audit entry; taps of one account's media go to one shard.
#include <catch2/catch.hpp>

#include <cstdio>

#include "account_moves.h"
#include "card_history.h"
#include "engine_fixture.h"
#include "office_fixture.h"
#include "refusals.h"

namespace citycard::engine::testing {
namespace {

constexpr std::int64_t hour_us = 3'600'000'000LL;

// A linked medium issued in the ledger (as `card issue --linked-to` does).
CardRecord issue_linked(ledger::Ledger& ledger, const std::string& hex, const std::string& primary,
                        RiderCategory category = RiderCategory::general) {
  ledger::NewCard card;
  card.card = *CardId::parse(hex);
  card.category = category;
  card.media = Media::mobile;
  card.linked_to = *CardId::parse(primary);
  auto issued = ledger.issue_cards({card});
  INFO(issued.status().to_string());
  REQUIRE(issued);
  return issued->front();
}

std::int64_t points_of(const ledger::Ledger& ledger, const std::string& hex) {
  auto card = ledger.card(*CardId::parse(hex));
  REQUIRE(card);
  return ledger.account(card->points_account)->balance_minor;
}

std::uint64_t sequence_next = 1;

protocol::TapRecord ride(const std::string& card, std::int64_t at_us) {
  return make_tap(bus_reader, sequence_next++, card, Mode::bus_board, 101, at_us);
}

AdminCommand account_command(AdminAction action, const std::string& card, const std::string& other, std::uint64_t number) {
  AdminCommand command;
  command.action = action;
  command.card = *CardId::parse(card);
  if (!other.empty()) command.new_card = *CardId::parse(other);
  command.key = IdempotencyKey{Origin::operator_action, 7, number};
  command.time = EventTime{monday_8am_us + 12 * hour_us};
  command.operator_name = "alice";
  command.clerk_role = "supervisor";
  return command;
}

// The card office on a stopped ledger, as the CLI builds it: the media
// directory read afresh for each action.
struct AccountDesk {
  explicit AccountDesk(ledger::Ledger& ledger) : desk(ledger, 0) {}

  AdminResult act(AdminCommand command) {
    auto media = MediaDirectory::scan(desk.ledger);
    REQUIRE(media);
    const MediaDirectory directory(std::move(*media));
    CardBook book(desk.ledger, desk.log, 64, false);
    GroupBuilder builder(BuildContext{desk.ledger, *ledger::find_system_accounts(desk.ledger),
                                      rules::RuleBook::single(city_rules()), desk.log, nullptr, false, nullptr, 0,
                                      /*serves_deny_list=*/false, /*record_taps=*/true, &directory},
                         book);
    Draft draft;
    draft.admin() = std::move(command);
    builder.card_action(draft);
    // A refusal's audit entry is posted too, as the CLI posts it.
    if ((draft.admin_result().status.is_ok() && !draft.admin_result().duplicate) || records_refusal(draft.group)) desk.post(draft.group);
    last = draft;
    return draft.admin_result();
  }

  OfficeDesk desk;
  Draft last;
};

const std::string card_p = "04AC000001";  // a physical card, the primary
const std::string phone = "04AC000002";   // a phone linked to it
const std::string card_q = "04AC000003";  // another account of the same person
const std::string phone_q = "04AC000004"; // linked to card_q

}  // namespace

TEST_CASE("a physical card and its linked phone share one monthly allotment and one daily cap") {
  TempDir dir("accounts-share");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_p, 1000, RiderCategory::senior);
  issue_linked(*ledger, phone, card_p, RiderCategory::senior);
  Pipeline pipeline(*ledger);
  const std::int64_t t = monday_8am_us;

  auto first = pipeline.tap(ride(card_p, t));
  REQUIRE(first.outcome == protocol::Outcome::approved);
  CHECK(first.points_after == 800 - 8);  // March's allotment, less the senior fare paid in points
  // The phone's first tap of the month allots nothing: the account had it.
  auto on_phone = pipeline.tap(ride(phone, t + hour_us));
  REQUIRE(on_phone.outcome == protocol::Outcome::approved);
  CHECK(on_phone.points_after == 800 - 16);
  CHECK(points_of(*ledger, card_p) == 800 - 16);

  // Rides on both media reach the concession day cap (60) once, paid in points.
  std::int64_t paid = first.fare_minor + on_phone.fare_minor;
  for (int i = 0; i < 10; ++i) paid += pipeline.tap(ride(i % 2 ? card_p : phone, t + (2 + i) * hour_us)).fare_minor;
  CHECK(paid == 0);
  CHECK(points_of(*ledger, card_p) == 800 - 60);
  CHECK(wallet_of(*ledger, card_p) == 1000);
  CHECK(ledger->verify().ok());
}

TEST_CASE("a replacement card continues the allotment and the cap of the card it replaces") {
  TempDir dir("accounts-replace");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_p, 1000, RiderCategory::senior);
  issue_linked(*ledger, phone, card_p, RiderCategory::senior);
  Pipeline pipeline(*ledger);
  const std::int64_t t = monday_8am_us;
  std::int64_t paid = 0;
  for (int i = 0; i < 3; ++i) {
    auto decision = pipeline.tap(ride(card_p, t + i * hour_us));
    REQUIRE(decision.outcome == protocol::Outcome::approved);
    paid += decision.fare_minor;
  }
  REQUIRE(paid < 60);
  AdminCommand replace = account_command(AdminAction::replace, card_p, card_q, 1);
  auto replaced = pipeline.admin(replace);
  INFO(replaced.status.to_string());
  REQUIRE(replaced.status.is_ok());
  CHECK(replaced.moved_points == 800 - 3 * 8);
  REQUIRE(replaced.media_moved.size() == 1);
  CHECK(replaced.media_moved.front() == *CardId::parse(phone));

  // The new card's first tap of the month: no second allotment.
  auto on_new = pipeline.tap(ride(card_q, t + 3 * hour_us));
  REQUIRE(on_new.outcome == protocol::Outcome::approved);
  CHECK(on_new.points_after == 800 - 4 * 8);
  paid += on_new.fare_minor;
  // Its cap continues the old card's day; the phone followed the new card.
  for (int i = 0; i < 6; ++i) paid += pipeline.tap(ride(i % 2 ? phone : card_q, t + (4 + i) * hour_us)).fare_minor;
  CHECK(paid == 0);  // senior bus fares are paid in points
  CHECK(points_of(*ledger, card_q) == 800 - 60);
  CHECK(ledger->card(*CardId::parse(phone))->linked_to == *CardId::parse(card_q));
  CHECK(wallet_of(*ledger, card_q) == 1000);
  CHECK(points_of(*ledger, card_p) == 0);
  CHECK(ledger->verify().ok());
}

TEST_CASE("link moves a medium's balances to the account and unlink leaves it with nothing") {
  TempDir dir("accounts-link");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_p, 300);
  issue_card(*ledger, phone, 45);  // issued on its own, linked later
  AccountDesk office(*ledger);

  auto linked = office.act(account_command(AdminAction::link, phone, card_p, 1));
  INFO(linked.status.to_string());
  REQUIRE(linked.status.is_ok());
  CHECK(linked.moved_wallet_minor == 45);
  CHECK(wallet_of(*ledger, card_p) == 345);
  const CardRecord after = *ledger->card(*CardId::parse(phone));
  CHECK(after.linked_to == *CardId::parse(card_p));
  CHECK(after.wallet_account == ledger->card(*CardId::parse(card_p))->wallet_account);
  AuditEntry audit = office.desk.audit("op:7:1");
  CHECK(audit.action == "link");
  CHECK(audit.detail.find("moved 45 TWD") != std::string::npos);
  // The same reference again is a retry: nothing moves twice.
  auto again = office.act(account_command(AdminAction::link, phone, card_p, 1));
  CHECK(again.duplicate);
  CHECK(wallet_of(*ledger, card_p) == 345);

  // The phone's history still shows its top-up, and says where it went.
  auto history = card_history_json(*ledger, *CardId::parse(phone), 20, 0);
  REQUIRE(history);
  REQUIRE((*history)["moves"].size() == 1);
  CHECK((*history)["moves"][0]["account"] == card_p);
  bool top_up_seen = false;
  for (const auto& row : (*history)["entries"]) top_up_seen |= row["code"] == "top_up" && row["amount_minor"] == 45;
  CHECK(top_up_seen);

  auto unlinked = office.act(account_command(AdminAction::unlink, phone, "", 2));
  INFO(unlinked.status.to_string());
  REQUIRE(unlinked.status.is_ok());
  const CardRecord alone = *ledger->card(*CardId::parse(phone));
  CHECK(alone.linked_to.empty());
  CHECK(alone.wallet_account != after.wallet_account);
  CHECK(wallet_of(*ledger, phone) == 0);
  CHECK(wallet_of(*ledger, card_p) == 345);  // the account keeps its money
  CHECK(ledger->card_of_account(alone.wallet_account)->card == *CardId::parse(phone));
  CHECK(office.desk.audit("op:7:2").action == "unlink");
  CHECK(ledger->verify().ok());
}

TEST_CASE("bad link, unlink and merge requests are refused and change nothing") {
  TempDir dir("accounts-refused");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_p, 300);
  issue_linked(*ledger, phone, card_p);
  issue_card(*ledger, card_q, 50);
  AccountDesk office(*ledger);
  std::uint64_t number = 10;
  auto refused = [&](AdminAction action, const std::string& card, const std::string& other, const std::string& why) {
    const std::uint64_t transfers = ledger->last_sequence();
    auto result = office.act(account_command(action, card, other, number++));
    INFO(result.status.to_string());
    CHECK_FALSE(result.status.is_ok());
    CHECK(says(result, why));
    CHECK(ledger->last_sequence() == transfers);
  };
  refused(AdminAction::link, "04AC0000FF", card_p, "no card 04AC0000FF");
  refused(AdminAction::link, card_q, "04AC0000FF", "no card 04AC0000FF");
  refused(AdminAction::link, card_q, card_q, "other than the medium itself");
  refused(AdminAction::link, card_q, phone, "is a medium of " + card_p);
  refused(AdminAction::link, phone, card_q, "already a medium of " + card_p);
  refused(AdminAction::link, card_p, card_q, "has media of its own; merge");
  refused(AdminAction::unlink, card_q, "", "nothing to unlink");
  refused(AdminAction::merge, card_p, card_p, "other than the card merged into it");
  refused(AdminAction::merge, phone, card_q, "merge accounts by their primary cards");
  CHECK(ledger->card(*CardId::parse(card_q))->linked_to.empty());
  CHECK(ledger->card(*CardId::parse(phone))->linked_to == *CardId::parse(card_p));
  CHECK(wallet_of(*ledger, card_p) == 300);
  CHECK(wallet_of(*ledger, card_q) == 50);
  // Each refusal is on the audit trail, as the engine records one.
  CHECK(office.desk.audit("rfs:7:13").outcome == "refused");
}

TEST_CASE("merge moves balances, debt and media to the survivor and combines the caps") {
  TempDir dir("accounts-merge");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_p, 500);
  issue_card(*ledger, card_q, 40);
  issue_linked(*ledger, phone_q, card_q);
  const std::int64_t t = monday_8am_us;
  {
    Pipeline pipeline(*ledger);
    // 4 rides on each account the same day: 60 + 60 of the 150 cap.
    for (int i = 0; i < 4; ++i) {
      REQUIRE(pipeline.tap(ride(card_p, t + i * hour_us)).fare_minor == 15);
      // The last two offline: the readers let the rider on, into debt.
      protocol::TapRecord on_q = ride(i % 2 ? card_q : phone_q, t + i * hour_us);
      on_q.tap.offline = i >= 2;
      REQUIRE(pipeline.tap(on_q).fare_minor == 15);
    }
    REQUIRE(wallet_of(*ledger, card_q) == -20);
  }
  const AccountId q_wallet = ledger->card(*CardId::parse(card_q))->wallet_account;
  AccountDesk office(*ledger);
  auto merged = office.act(account_command(AdminAction::merge, card_q, card_p, 1));
  INFO(merged.status.to_string());
  REQUIRE(merged.status.is_ok());
  CHECK(merged.moved_wallet_minor == -20);
  CHECK(wallet_of(*ledger, card_p) == 500 - 60 - 20);
  CHECK(ledger->account(q_wallet)->balance_minor == 0);     // the absorbed wallet, paid back to zero
  CHECK(wallet_of(*ledger, card_q) == 500 - 60 - 20);        // its card spends from the survivor's now
  CHECK(ledger->card(*CardId::parse(card_q))->linked_to == *CardId::parse(card_p));
  CHECK(ledger->card(*CardId::parse(phone_q))->linked_to == *CardId::parse(card_p));
  AuditEntry audit = office.desk.audit("op:7:1");
  CHECK(audit.action == "merge");
  CHECK(audit.detail.find(card_q) != std::string::npos);
  CHECK(audit.detail.find(card_p) != std::string::npos);

  // The survivor's day counts what both paid (120 of 150): 30 more, then free.
  Pipeline pipeline(*ledger);
  std::int64_t paid = 0;
  for (int i = 0; i < 4; ++i) paid += pipeline.tap(ride(i % 2 ? phone_q : card_q, t + (5 + i) * hour_us)).fare_minor;
  CHECK(paid == 30);
  // The absorbed card's history still shows its own rides, and where it went.
  auto history = card_history_json(*ledger, *CardId::parse(card_q), 50, 0);
  REQUIRE(history);
  CHECK((*history)["moves"][0]["account"] == card_p);
  CHECK(ledger->verify().ok());
}

TEST_CASE("taps of one account's media go to the account's shard") {
  TempDir dir("accounts-route");
  auto ledger = make_ledger(dir.path / "ledger");
  constexpr std::size_t shards = 4;
  // A primary and a phone whose ids hash to different shards.
  std::string primary = "04AD000001";
  std::string medium;
  for (int i = 2; medium.empty(); ++i) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "04AD%06X", static_cast<unsigned>(i));
    if (shard_for(*CardId::parse(hex), shards) != shard_for(*CardId::parse(primary), shards)) medium = hex;
  }
  issue_card(*ledger, primary, 200, RiderCategory::senior);
  issue_linked(*ledger, medium, primary, RiderCategory::senior);
  const std::size_t account_shard = shard_for(*CardId::parse(primary), shards);
  EngineOptions options = Pipeline::quick_options();
  options.shards = shards;
  options.drive = Drive::steps;
  Metrics metrics;
  Log log(std::tmpfile());
  auto started = Engine::start(*ledger, city_rules(), options, metrics, log);
  REQUIRE(started);
  Engine& engine = **started;
  std::vector<protocol::DecisionRecord> decisions;
  engine.submit(ReaderId{bus_reader}, {ride(primary, monday_8am_us), ride(medium, monday_8am_us + hour_us)},
                [&](net::SubmitResult result) { decisions = result.decisions; });
  const PipelineStats queued = engine.stats();
  for (std::size_t shard = 0; shard < shards; ++shard) {
    INFO(shard);
    CHECK(queued.shard_queue_depths[shard] == (shard == account_shard ? 2u : 0u));
  }
  for (int round = 0; decisions.empty() && round < 100; ++round) {
    for (std::size_t shard = 0; shard < shards; ++shard) engine.turn_shard(shard, true);
    REQUIRE(engine.turn_prepare());
    REQUIRE(engine.turn_commit());
  }
  REQUIRE(decisions.size() == 2);
  CHECK(decisions[0].points_after == 800 - 8);  // each senior bus fare paid in points
  CHECK(decisions[1].points_after == 800 - 16);  // one allotment for the account
  while (!engine.idle()) {
    REQUIRE(engine.turn_commit());
    for (std::size_t shard = 0; shard < shards; ++shard) engine.turn_shard(shard, true);
    REQUIRE(engine.turn_prepare());
  }
  engine.stop();
}

}  // namespace citycard::engine::testing
