// Posting: conservation, limits, linked groups, idempotency.
#include <array>
#include <random>

#include "citycard/limits.h"
#include "ledger_fixture.h"

using namespace citycard;
using namespace citycard::testing;

namespace {

std::array<std::int64_t, 3> asset_sums(const ledger::Ledger& ledger) {
  std::array<std::int64_t, 3> sums{};
  for (std::uint64_t id = 1; id <= ledger.account_count(); ++id) {
    auto account = ledger.account(AccountId{id});
    REQUIRE(account);
    sums[static_cast<int>(account->spec.asset)] += account->balance_minor;
  }
  return sums;
}

}  // namespace

TEST_CASE("a top-up and a fare move money and conserve every asset") {
  LedgerFixture f;
  auto card = f.issue("04A1B2C3D4E5F6");
  auto topup = f.post_one(make_group(IdempotencyKey{Origin::operator_action, 1, 1},
                                     {make_transfer(f.system.topup_float, card.wallet_account, 500, TransferCode::top_up)}));
  REQUIRE(topup.posted);
  auto fare = f.post_one(make_group(tap_key(7, 1), {make_transfer(card.wallet_account, f.bus.payable_account, 15)}));
  REQUIRE(fare.posted);
  CHECK_FALSE(fare.duplicate);
  CHECK(fare.transfer_count == 1);
  CHECK(f.balance(card.wallet_account) == 485);
  CHECK(f.balance(f.bus.payable_account) == 15);
  CHECK(f.balance(f.system.topup_float) == -500);
  CHECK(asset_sums(*f.ledger) == std::array<std::int64_t, 3>{0, 0, 0});
  CHECK(f.ledger->last_sequence() == 2);
}

TEST_CASE("random batches keep every asset summing to zero") {
  LedgerFixture f;
  std::vector<CardRecord> cards;
  for (int i = 0; i < 20; ++i) cards.push_back(f.issue("AA" + std::to_string(10 + i)));
  std::mt19937_64 random(42);
  std::uint64_t sequence = 0;
  for (int batch_index = 0; batch_index < 30; ++batch_index) {
    std::vector<ledger::PostingGroup> batch;
    for (int g = 0; g < 50; ++g) {
      const auto& card = cards[random() % cards.size()];
      std::int64_t amount = 1 + static_cast<std::int64_t>(random() % 60);
      if (random() % 3 == 0) {
        batch.push_back(make_group(tap_key(1, ++sequence),
                                   {make_transfer(f.system.topup_float, card.wallet_account, amount, TransferCode::top_up)}));
      } else {
        batch.push_back(make_group(tap_key(1, ++sequence),
                                   {make_transfer(card.wallet_account, f.bus.payable_account, amount),
                                    make_transfer(f.system.subsidy_budget, f.bus.payable_account, amount / 2 + 1,
                                                  TransferCode::subsidy)}));
      }
    }
    REQUIRE(f.ledger->post(batch));
    REQUIRE(asset_sums(*f.ledger) == std::array<std::int64_t, 3>{0, 0, 0});
  }
  for (const auto& card : cards) CHECK(f.balance(card.wallet_account) >= 0);
  CHECK(f.ledger->verify().ok());
}

TEST_CASE("a wallet may not go below its floor unless the service was already given") {
  LedgerFixture f;
  auto card = f.issue("04000001");
  auto overdraft_card = f.issue("04000002", 30);

  auto refused = f.post_one(make_group(tap_key(7, 1), {make_transfer(card.wallet_account, f.bus.payable_account, 15)}));
  CHECK_FALSE(refused.posted);
  CHECK(refused.reason.code() == StatusCode::refused);
  CHECK_THAT(refused.reason.message(), Catch::Contains("below its floor of 0"));
  CHECK(f.balance(card.wallet_account) == 0);
  CHECK(f.ledger->last_sequence() == 0);

  auto within_overdraft =
      f.post_one(make_group(tap_key(7, 2), {make_transfer(overdraft_card.wallet_account, f.bus.payable_account, 30)}));
  CHECK(within_overdraft.posted);
  auto beyond_overdraft =
      f.post_one(make_group(tap_key(7, 3), {make_transfer(overdraft_card.wallet_account, f.bus.payable_account, 1)}));
  CHECK_FALSE(beyond_overdraft.posted);

  Transfer given = make_transfer(card.wallet_account, f.bus.payable_account, 15);
  given.flags = transfer_flag_service_given | transfer_flag_offline;
  auto offline = f.post_one(make_group(tap_key(7, 4), {given}));
  CHECK(offline.posted);
  CHECK(f.balance(card.wallet_account) == -15);  // visible as debt
  CHECK(f.ledger->verify().ok());
}

TEST_CASE("a wallet may not exceed its ceiling") {
  LedgerFixture f;
  auto card = f.issue("04000003");
  auto over = f.post_one(make_group(IdempotencyKey{Origin::operator_action, 1, 1},
                                    {make_transfer(f.system.topup_float, card.wallet_account, 10'001, TransferCode::top_up)}));
  CHECK_FALSE(over.posted);
  CHECK_THAT(over.reason.message(), Catch::Contains("ceiling"));
  CHECK(f.balance(card.wallet_account) == 0);
}

TEST_CASE("impossible transfers are rejected with a reason and change nothing") {
  LedgerFixture f;
  auto card = f.issue("04000004");
  f.fund(card, 100);
  struct Case {
    const char* name;
    Transfer transfer;
    const char* message;
  };
  std::vector<Case> cases = {
      {"zero amount", make_transfer(card.wallet_account, f.bus.payable_account, 0), "not positive"},
      {"negative amount", make_transfer(card.wallet_account, f.bus.payable_account, -5), "not positive"},
      {"huge amount", make_transfer(card.wallet_account, f.bus.payable_account, 1'000'000'000), "exceeds the limit"},
      {"missing account", make_transfer(card.wallet_account, AccountId{9999}, 5), "no account 9999"},
      {"same account", make_transfer(card.wallet_account, card.wallet_account, 5), "the same account"},
      {"asset mismatch", make_transfer(card.points_account, f.bus.payable_account, 5, TransferCode::points_redeemed, Asset::points),
       "transfer in points"},
  };
  std::uint64_t sequence = 100;
  for (const auto& c : cases) {
    INFO(c.name);
    auto outcome = f.post_one(make_group(tap_key(3, ++sequence), {c.transfer}));
    CHECK_FALSE(outcome.posted);
    CHECK_THAT(outcome.reason.message(), Catch::Contains(c.message));
  }
  CHECK(f.balance(card.wallet_account) == 100);
  CHECK(f.ledger->last_sequence() == 1);
  CHECK(f.ledger->verify().ok());
}

TEST_CASE("a linked group applies all or nothing, and the rest of the batch still posts") {
  LedgerFixture f;
  auto rich = f.issue("05000001");
  auto poor = f.issue("05000002");
  REQUIRE(f.post_one(make_group(IdempotencyKey{Origin::operator_action, 1, 1},
                                {make_transfer(f.system.topup_float, rich.wallet_account, 100, TransferCode::top_up),
                                 make_transfer(f.system.topup_float, poor.wallet_account, 10, TransferCode::top_up)}))
              .posted);
  std::vector<ledger::PostingGroup> batch = {
      // fare + subsidy: both post
      make_group(tap_key(9, 1), {make_transfer(rich.wallet_account, f.bus.payable_account, 12),
                                 make_transfer(f.system.subsidy_budget, f.bus.payable_account, 12, TransferCode::subsidy)}),
      // subsidy would post alone, but the fare fails: neither posts
      make_group(tap_key(9, 2), {make_transfer(f.system.subsidy_budget, f.metro.payable_account, 5, TransferCode::subsidy),
                                 make_transfer(poor.wallet_account, f.metro.payable_account, 25)}),
      make_group(tap_key(9, 3), {make_transfer(poor.wallet_account, f.metro.payable_account, 10)}),
  };
  auto outcomes = f.ledger->post(batch);
  REQUIRE(outcomes);
  CHECK((*outcomes)[0].posted);
  CHECK_FALSE((*outcomes)[1].posted);
  CHECK_THAT((*outcomes)[1].reason.message(), Catch::Contains("transfer 1 of tap:9:2"));
  CHECK((*outcomes)[2].posted);
  CHECK(f.balance(f.metro.payable_account) == 10);  // the failed group's subsidy was rolled back
  CHECK(f.balance(f.bus.payable_account) == 24);
  CHECK(f.balance(poor.wallet_account) == 0);
  CHECK_FALSE(f.ledger->transfers_for(tap_key(9, 2)));
  CHECK(f.ledger->verify().ok());
}

TEST_CASE("posting the same key again returns the original outcome and moves nothing") {
  LedgerFixture f;
  auto card = f.issue("06000001");
  f.fund(card, 100);
  auto fare = make_group(tap_key(4, 77), {make_transfer(card.wallet_account, f.bus.payable_account, 15)});
  fare.outcome = "approved fare 15";

  SECTION("in the same batch") {
    auto outcomes = f.ledger->post({fare, fare});
    REQUIRE(outcomes);
    CHECK((*outcomes)[0].posted);
    CHECK_FALSE((*outcomes)[0].duplicate);
    CHECK((*outcomes)[1].duplicate);
    CHECK((*outcomes)[1].first_sequence == (*outcomes)[0].first_sequence);
  }
  SECTION("in a later batch, with a different amount") {
    REQUIRE(f.post_one(fare).posted);
    auto changed = fare;
    changed.transfers[0].amount_minor = 50;
    changed.outcome = "something else";
    auto again = f.post_one(changed);
    CHECK(again.posted);
    CHECK(again.duplicate);
    CHECK(again.outcome == "approved fare 15");
  }
  SECTION("after a restart") {
    REQUIRE(f.post_one(fare).posted);
    f.reopen();
    auto again = f.post_one(fare);
    CHECK(again.duplicate);
    CHECK(again.outcome == "approved fare 15");
    CHECK(again.first_sequence == 2);
  }
  CHECK(f.balance(card.wallet_account) == 85);
  CHECK(f.ledger->last_sequence() == 2);
  CHECK(f.ledger->verify().ok());
}

TEST_CASE("a rejected group leaves no trace and can be retried") {
  LedgerFixture f;
  auto card = f.issue("06000002");
  auto fare = make_group(tap_key(4, 1), {make_transfer(card.wallet_account, f.bus.payable_account, 15)});
  CHECK_FALSE(f.post_one(fare).posted);
  f.fund(card, 20);
  auto retried = f.post_one(fare);
  CHECK(retried.posted);
  CHECK_FALSE(retried.duplicate);
  CHECK(f.balance(card.wallet_account) == 5);
}

TEST_CASE("groups without transfers record an outcome (identity taps, refusals)") {
  LedgerFixture f;
  ledger::PostingGroup identify;
  identify.key = tap_key(30, 1);
  identify.outcome = "library entry approved";
  identify.records.push_back({ledger::RecordSpace::tap, "30:1", "library"});
  auto first = f.post_one(identify);
  CHECK(first.posted);
  CHECK(first.transfer_count == 0);
  auto again = f.post_one(identify);
  CHECK(again.duplicate);
  CHECK(again.outcome == "library entry approved");
  CHECK(*f.ledger->record(ledger::RecordSpace::tap, "30:1") == "library");
  CHECK(f.ledger->last_sequence() == 0);
}

TEST_CASE("records and card updates are written only when their group posts") {
  LedgerFixture f;
  auto card = f.issue("07000001");
  auto blocked = card;
  blocked.status = CardStatus::blocked;
  auto group = make_group(tap_key(5, 1), {make_transfer(card.wallet_account, f.bus.payable_account, 15)});
  group.card_updates.push_back(blocked);
  group.records.push_back({ledger::RecordSpace::card_state, "07000001", "state-after-fare"});
  CHECK_FALSE(f.post_one(group).posted);  // no money: the group fails
  CHECK(f.ledger->card(card.card)->status == CardStatus::active);
  CHECK_FALSE(f.ledger->record(ledger::RecordSpace::card_state, "07000001"));
}

TEST_CASE("bad batches are refused whole") {
  LedgerFixture f;
  std::vector<ledger::PostingGroup> huge(limits::batch_groups_max + 1);
  auto outcome = f.ledger->post(huge);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.status().code() == StatusCode::invalid_argument);

  auto card = f.issue("08000001");
  std::vector<Transfer> many(limits::group_transfers_max + 1,
                             make_transfer(f.system.topup_float, card.wallet_account, 1, TransferCode::top_up));
  auto too_long = f.post_one(make_group(tap_key(1, 1), many));
  CHECK_FALSE(too_long.posted);
  CHECK_THAT(too_long.reason.message(), Catch::Contains("at most 16"));
  CHECK(f.ledger->last_sequence() == 0);
}

TEST_CASE("a key below its reader's high-water mark that never posted still posts") {
  LedgerFixture f;
  auto card = f.issue("09000001");
  f.fund(card, 100);
  // An offline bus uploads out of order: 10, then 5, across a restart.
  REQUIRE(f.post_one(make_group(tap_key(6, 10), {make_transfer(card.wallet_account, f.bus.payable_account, 10)})).posted);
  f.reopen();
  auto late = f.post_one(make_group(tap_key(6, 5), {make_transfer(card.wallet_account, f.bus.payable_account, 5)}));
  CHECK(late.posted);
  CHECK_FALSE(late.duplicate);
  CHECK(f.post_one(make_group(tap_key(6, 10), {make_transfer(card.wallet_account, f.bus.payable_account, 10)})).duplicate);
  CHECK(f.post_one(make_group(tap_key(6, 5), {make_transfer(card.wallet_account, f.bus.payable_account, 5)})).duplicate);
  CHECK(f.balance(card.wallet_account) == 85);
}

TEST_CASE("balances survive checkpoints, partial passes and replay on open") {
  TempDir dir;
  const std::string path = dir.path() + "/ledger";
  ledger::Options options;
  options.create_if_missing = true;
  options.checkpoint_interval_transfers = 16;  // a pass every few batches
  options.checkpoint_accounts_per_batch = 3;   // written over several batches
  std::vector<std::int64_t> expected;
  std::vector<AccountId> wallets;
  AccountId payable;
  {
    auto opened = ledger::Ledger::open(path, options);
    REQUIRE(opened);
    auto& ledger = **opened;
    auto system = ledger::ensure_system_accounts(ledger);
    REQUIRE(system);
    payable = ledger.register_operator(OperatorId{1}, "Capital Bus")->payable_account;
    for (int i = 0; i < 12; ++i) {
      ledger::NewCard card;
      card.card = *CardId::parse("DD" + std::to_string(10 + i));
      wallets.push_back(ledger.issue_cards({card})->front().wallet_account);
      expected.push_back(0);
    }
    std::mt19937_64 random(3);
    std::uint64_t sequence = 0;
    for (int batch = 0; batch < 40; ++batch) {
      std::vector<ledger::PostingGroup> groups;
      for (int g = 0; g < 5; ++g) {
        std::size_t w = random() % wallets.size();
        std::int64_t amount = 1 + static_cast<std::int64_t>(random() % 50);
        groups.push_back(make_group(tap_key(1, ++sequence), {make_transfer(system->topup_float, wallets[w], amount, TransferCode::top_up)}));
        expected[w] += amount;
      }
      REQUIRE(ledger.post(groups));
      if (batch % 7 == 3) {
        auto snapshot = ledger.snapshot();
        for (std::size_t w = 0; w < wallets.size(); ++w) CHECK(snapshot->account(wallets[w])->balance_minor == expected[w]);
      }
    }
    REQUIRE(ledger.verify().ok());
  }
  // Reopen (the clean close wrote a full checkpoint) and check from disk.
  ledger::Options reopen;
  reopen.read_only = true;
  auto opened = ledger::Ledger::open(path, reopen);
  REQUIRE(opened);
  for (std::size_t w = 0; w < wallets.size(); ++w) CHECK((*opened)->account(wallets[w])->balance_minor == expected[w]);
  auto report = (*opened)->verify();
  CHECK(report.ok());
  CHECK(report.transfers == 200);
}

TEST_CASE("posted() tells what a key posted, from memory for keys above the high-water mark") {
  LedgerFixture f;
  auto card = f.issue("0A000001");
  auto group = make_group(IdempotencyKey{Origin::operator_action, 1, 5},
                          {make_transfer(f.system.topup_float, card.wallet_account, 100, TransferCode::top_up)});
  group.outcome = "topped up";
  CHECK_FALSE(f.ledger->posted(group.key)->has_value());
  REQUIRE(f.post_one(group).posted);
  auto found = f.ledger->posted(group.key);
  REQUIRE(found);
  REQUIRE(found->has_value());
  CHECK((*found)->outcome == "topped up");
  CHECK((*found)->transfer_count == 1);
  CHECK_FALSE(f.ledger->posted(IdempotencyKey{Origin::operator_action, 1, 4})->has_value());  // below the mark, never posted
  CHECK_FALSE(f.ledger->posted(IdempotencyKey{Origin::operator_action, 1, 6})->has_value());  // above the mark
  f.reopen();
  CHECK(f.ledger->posted(group.key)->has_value());
}

TEST_CASE("a reader's high-water mark is exact again after a restart, though only a lower bound is stored") {
  LedgerFixture f;
  auto card = f.issue("0A000002");
  f.fund(card, 1000);
  auto fare = [&](std::uint32_t reader, std::uint64_t sequence) {
    auto group = make_group(tap_key(reader, sequence), {make_transfer(card.wallet_account, f.bus.payable_account, 1)});
    group.outcome = "fare " + std::to_string(reader) + "/" + std::to_string(sequence);
    return group;
  };
  // Sequence 1 registers reader 8 on disk; 2..40 stay far below the stride
  // at which the stored bound is rewritten.
  for (std::uint64_t s = 1; s <= 40; ++s) REQUIRE(f.post_one(fare(8, s)).posted);
  REQUIRE(f.post_one(fare(9, 3)).posted);
  f.reopen();
  for (std::uint64_t s : {40u, 25u, 2u}) {
    auto again = f.post_one(fare(8, s));
    CHECK(again.duplicate);
    CHECK(again.outcome == "fare 8/" + std::to_string(s));
    auto found = f.ledger->posted(tap_key(8, s));
    REQUIRE(found);
    CHECK(found->has_value());
  }
  CHECK(f.post_one(fare(9, 3)).duplicate);
  CHECK_FALSE(f.ledger->posted(tap_key(8, 41))->has_value());
  CHECK_FALSE(f.post_one(fare(8, 41)).duplicate);
  CHECK(f.balance(card.wallet_account) == 1000 - 42);
  CHECK(f.ledger->verify().ok());
}
