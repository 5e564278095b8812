// The group builder on a real ledger, without threads: the posting group and
// the answer it makes for taps and card-office actions, and how its card
// book follows. The engine's shards and the CLI's stopped-ledger path both
// use it (engine/groups/group_builder.h).
#include <catch2/catch.hpp>

#include "card_book.h"
#include "deny_records.h"
#include "engine_fixture.h"
#include "group_builder.h"
#include "hashing.h"

using namespace citycard;
using namespace citycard::engine;
using namespace citycard::engine::testing;

namespace {

const std::string card_a = "04A1B2C3D4E501";
const std::string card_b = "04A1B2C3D4E502";

struct Builder {
  explicit Builder(ledger::Ledger& ledger)
      : log(std::tmpfile()),
        book(ledger, log, 64, false),
        builder(BuildContext{ledger, *ledger::find_system_accounts(ledger), rules::RuleBook::single(city_rules()), log, nullptr, false, nullptr,
                             limits::four_eyes_minor_default},
                book) {}
  Log log;
  CardBook book;
  GroupBuilder builder;
};

AdminCommand action(AdminAction kind, const std::string& card, std::int64_t amount, const std::string& ref) {
  AdminCommand command;
  command.action = kind;
  command.card = *CardId::parse(card);
  command.amount_minor = amount;
  command.key = *IdempotencyKey::parse(ref);
  command.time = EventTime{monday_8am_us};
  return command;
}

bool has_record(const ledger::PostingGroup& group, ledger::RecordSpace space, const std::string& key) {
  for (const auto& record : group.records) {
    if (record.space == space && record.key == key) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("group builder: a refund is at most the wallet, on every path") {
  TempDir dir("builder-refund");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 50);
  Builder b(*ledger);
  Draft over;
  over.admin() = action(AdminAction::refund, card_a, 80, "op:1:1");
  b.builder.card_action(over);
  CHECK(over.admin_result().status.code() == StatusCode::refused);
  CHECK(over.admin_result().status.message().find("holds 50 TWD; cannot refund 80") != std::string::npos);
  CHECK(over.group.transfers.empty());

  Draft fine;
  fine.admin() = action(AdminAction::refund, card_a, 30, "op:1:2");
  b.builder.card_action(fine);
  REQUIRE(fine.admin_result().status.is_ok());
  CHECK(fine.admin_result().wallet_minor == 20);
  REQUIRE(fine.group.transfers.size() == 1);
  CHECK(fine.group.transfers[0].amount_minor == 30);
  CHECK(fine.group.transfers[0].code == TransferCode::refund);
  CHECK(has_record(fine.group, ledger::RecordSpace::audit, "op:1:2"));
  // The book follows the group before it is durable: a second refund sees 20.
  Draft second;
  second.admin() = action(AdminAction::refund, card_a, 30, "op:1:3");
  b.builder.card_action(second);
  CHECK(second.admin_result().status.code() == StatusCode::refused);
}

TEST_CASE("group builder: blocking a card writes its deny-list record with the status") {
  TempDir dir("builder-block");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 50);
  Builder b(*ledger);
  Draft block;
  block.admin() = action(AdminAction::set_status, card_a, 0, "op:1:1");
  block.admin().status = CardStatus::blocked;
  b.builder.card_action(block);
  REQUIRE(block.admin_result().status.is_ok());
  CHECK(block.admin_result().card_status == CardStatus::blocked);
  REQUIRE(block.group.card_updates.size() == 1);
  CHECK(block.group.card_updates[0].status == CardStatus::blocked);
  REQUIRE(block.deny_after.has_value());
  CHECK(*block.deny_after);
  const auto deny = deny_record(*CardId::parse(card_a), true);
  CHECK(has_record(block.group, deny.space, deny.key));
  CHECK(block.card == *CardId::parse(card_a));
}

TEST_CASE("group builder: a reference used again is a retry only for the same request") {
  TempDir dir("builder-ref");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 50);
  {
    Builder b(*ledger);
    Draft first;
    first.admin() = action(AdminAction::top_up, card_a, 100, "op:7:1");
    b.builder.card_action(first);
    REQUIRE(first.admin_result().status.is_ok());
    auto posted = ledger->post({first.group});
    REQUIRE(posted);
    REQUIRE(posted->front().posted);
  }
  Builder b(*ledger);
  Draft retry;
  retry.admin() = action(AdminAction::top_up, card_a, 100, "op:7:1");
  b.builder.card_action(retry);
  CHECK(retry.admin_result().status.is_ok());
  CHECK(retry.admin_result().duplicate);
  CHECK(retry.admin_result().wallet_minor == 150);
  CHECK(retry.group.transfers.empty());

  Draft other;
  other.admin() = action(AdminAction::top_up, card_a, 500, "op:7:1");
  b.builder.card_action(other);
  CHECK(other.admin_result().status.code() == StatusCode::invalid_argument);
  CHECK(other.admin_result().status.message().find("op:7:1 was used for another request") != std::string::npos);
  CHECK_FALSE(other.admin_result().duplicate);
  CHECK(wallet_of(*ledger, card_a) == 150);
}

TEST_CASE("group builder: a tap is rated into its group and advances the card") {
  TempDir dir("builder-tap");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  Builder b(*ledger);
  Draft tap;
  tap.tap = make_tap(bus_reader, 1, card_a, Mode::bus_board, 101, monday_8am_us);
  tap.key = IdempotencyKey::for_tap(tap.tap.tap.id);
  b.builder.rate_tap(tap);
  REQUIRE(tap.decision.outcome == protocol::Outcome::approved);
  CHECK(tap.decision.fare_minor == 15);
  CHECK(tap.decision.balance_after_minor == 85);
  CHECK(has_record(tap.group, ledger::RecordSpace::card_state, card_key(*CardId::parse(card_a))));
  CHECK(tap.card == *CardId::parse(card_a));
  CardEntry* entry = b.book.cached(*CardId::parse(card_a));
  REQUIRE(entry != nullptr);
  CHECK(entry->wallet->balance_minor == 85);
  CHECK(entry->pending == 1);
  CHECK_FALSE(tap.holds_action());  // a tap's draft stays without the card-office part

  Draft unknown;
  unknown.tap = make_tap(bus_reader, 2, card_b, Mode::bus_board, 101, monday_8am_us);
  unknown.key = IdempotencyKey::for_tap(unknown.tap.tap.id);
  b.builder.rate_tap(unknown);
  CHECK(unknown.decision.reason == RefusalReason::card_unknown);
  CHECK(unknown.group.transfers.empty());
  CHECK(unknown.card.empty());
  CHECK_FALSE(unknown.holds_action());
}
