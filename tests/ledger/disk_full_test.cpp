// The ledger on a small filesystem of its own (a tmpfs the test mounts):
// below free_bytes_min it refuses writes before RocksDB sees them, voids
// the batches prepared meanwhile, and recover() takes writes again once
// there is room, with memory read back from disk. Not root: skipped.
#include <catch2/catch.hpp>

#include "ledger/rocks_ledger.h"
#include "ledger_fixture.h"
#include "small_disk.h"

using namespace citycard;
using namespace citycard::testing;

namespace {

ledger::PostingGroup fare(const CardRecord& card, const ledger::OperatorRecord& op, std::uint64_t sequence) {
  return make_group(tap_key(7, sequence), {make_transfer(card.wallet_account, op.payable_account, 10)});
}

}  // namespace

TEST_CASE("a full disk voids the batches in flight and recover() takes writes again once there is room") {
  SmallDisk disk(32u << 20);
  if (!disk.mounted()) {
    WARN("skipped: " << disk.refusal());
    return;
  }
  const std::string path = (disk.root() / "ledger").string();
  ledger::Options options;
  options.create_if_missing = true;
  options.write_buffer_bytes = 1u << 20;
  options.free_bytes_min = 4u << 20;
  auto opened = ledger::Ledger::open(path, options);
  REQUIRE(opened);
  std::unique_ptr<ledger::Ledger> ledger = std::move(*opened);
  auto system = ledger::ensure_system_accounts(*ledger);
  REQUIRE(system);
  auto bus = ledger->register_operator(OperatorId{1}, "Capital Bus");
  REQUIRE(bus);
  ledger::NewCard wanted;
  wanted.card = *CardId::parse("04CC0007");
  auto cards = ledger->issue_cards({wanted});
  REQUIRE(cards);
  const CardRecord card = cards->front();
  REQUIRE(ledger->post({make_group(IdempotencyKey{Origin::operator_action, 1, 1},
                                   {make_transfer(system->topup_float, card.wallet_account, 100, TransferCode::top_up)})}));
  REQUIRE(ledger->post({fare(card, *bus, 1)}));

  auto doomed = ledger->prepare({fare(card, *bus, 2)});
  auto after = ledger->prepare({fare(card, *bus, 3)});
  REQUIRE(doomed);
  REQUIRE(after);
  disk.fill_leaving(1u << 20);
  Status failed = ledger->commit(**doomed);
  INFO(failed.to_string());
  CHECK(is_out_of_space(failed));
  // Not while a voided batch still waits for its commit, nor while full.
  CHECK(ledger->recover().code() == StatusCode::busy);
  CHECK(ledger->commit(**after).code() == StatusCode::io_error);
  CHECK(is_out_of_space(ledger->recover()));
  CHECK(ledger->post({fare(card, *bus, 4)}).status().code() == StatusCode::io_error);
  CHECK(ledger->account(card.wallet_account)->balance_minor == 90);  // reads go on, the voided batches unseen

  disk.free_filler();
  REQUIRE(ledger->recover());
  // The writer's view is the disk's: the voided batches' keys are free and
  // their money never moved.
  auto resent = ledger->post({fare(card, *bus, 2), fare(card, *bus, 3)});
  REQUIRE(resent);
  CHECK((*resent)[0].posted);
  CHECK_FALSE((*resent)[0].duplicate);
  CHECK(ledger->account(card.wallet_account)->balance_minor == 70);
  ledger::NewCard another;
  another.card = *CardId::parse("04CC0008");
  CHECK(ledger->issue_cards({another}));
  CHECK(ledger->verify().ok());

  ledger.reset();
  auto reopened = ledger::Ledger::open(path, ledger::Options{});
  REQUIRE(reopened);
  CHECK((*reopened)->account(card.wallet_account)->balance_minor == 70);
  auto report = (*reopened)->verify();
  for (const auto& problem : report.problems) INFO(problem.kind + ": " + problem.detail);
  CHECK(report.ok());
}
