// The engine's deny list across restarts, on a real ledger: derived from the
// ledger's truth at start (cards changed without the engine are on it),
// versions that carry on after a clean stop, a new epoch after a crash or
// when the records were changed behind the engine's back.
#include "engine_fixture.h"

#include "deny_list_store.h"
#include "deny_records.h"

namespace citycard::engine::testing {
namespace {

const std::string card_a = "04A1B2C3D4E5F6";
const std::string card_b = "04B1B2C3D4E5F6";
const std::string card_c = "04C1B2C3D4E5F6";
const std::string card_d = "04D1B2C3D4E5F6";

CardId id(const std::string& hex) { return *CardId::parse(hex); }
IdempotencyKey op_key(std::uint64_t n) { return IdempotencyKey{Origin::operator_action, 4343, n}; }

// What the CLI does to a card on a stopped ledger (commands_ledger.cpp,
// run_card_status): the card record and an audit line, no "deny/" record.
void set_status_without_engine(ledger::Ledger& ledger, const std::string& hex, CardStatus status) {
  auto card = ledger.card(id(hex));
  REQUIRE(card);
  card->status = status;
  ledger::RecordWrite audit{ledger::RecordSpace::audit, op_key(900 + static_cast<std::uint64_t>(status)).to_string(),
                            "card status changed without the engine"};
  REQUIRE(ledger.put_records({audit}, {*card}).is_ok());
}

// An offline ride taken into debt, posted straight to the ledger (an import).
void debit_without_engine(ledger::Ledger& ledger, const std::string& hex, std::int64_t amount, std::uint64_t n) {
  auto card = ledger.card(id(hex));
  auto system = ledger::find_system_accounts(ledger);
  REQUIRE(card);
  REQUIRE(system);
  ledger::PostingGroup group;
  group.key = op_key(n);
  Transfer transfer;
  transfer.debit_account = card->wallet_account;
  transfer.credit_account = system->refunds;
  transfer.amount_minor = amount;
  transfer.code = TransferCode::refund;
  group.transfers.push_back(transfer);
  auto posted = ledger.post({group});
  REQUIRE(posted);
  REQUIRE(posted->front().posted);
}

std::vector<CardId> cards_of(const net::MemoryDenyList& list) { return list.contents().cards; }

AdminCommand block(const std::string& hex, std::uint64_t n) {
  AdminCommand command;
  command.action = AdminAction::set_status;
  command.status = CardStatus::blocked;
  command.card = id(hex);
  command.key = op_key(n);
  return command;
}

}  // namespace

TEST_CASE("deny list at the first start: a new epoch holding every card the ledger lists, records written") {
  TempDir dir("deny-first");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  issue_card(*ledger, card_b, 100);
  ledger::NewCard overdraft;
  overdraft.card = id(card_c);
  overdraft.overdraft_minor = 50;
  REQUIRE(ledger->issue_cards({overdraft}));
  issue_card(*ledger, card_d, 0);
  set_status_without_engine(*ledger, card_b, CardStatus::lost);
  debit_without_engine(*ledger, card_c, 20, 1);
  set_status_without_engine(*ledger, card_d, CardStatus::replaced);

  auto listed = listed_cards_in_ledger(*ledger);
  REQUIRE(listed);
  CHECK(*listed == std::vector<CardId>{id(card_b), id(card_c), id(card_d)});
  net::MemoryDenyList list;
  auto opened = open_deny_list(*ledger, *listed, list);
  INFO(opened.status().to_string());
  REQUIRE(opened);
  CHECK(opened->epoch == 1);
  CHECK_FALSE(opened->continued);
  CHECK(opened->version == deny_version(1, 0));
  CHECK(list.current_version() == deny_version(1, 0));
  CHECK(cards_of(list) == *listed);
  CHECK(opened->listed == 3);
  // The records now say what is served.
  CHECK(*load_denied_cards(*ledger) == *listed);
  // A reader with nothing, or with a version of the engine before epochs (small numbers), gets it all.
  CHECK(list.delta_since(0, 100).added == *listed);
  CHECK((list.delta_since(57, 100).flags & protocol::DenyListDelta::flag_full) != 0);
}

TEST_CASE("deny list after a clean restart: the same version, and deltas from before it still apply") {
  TempDir dir("deny-clean");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  issue_card(*ledger, card_b, 100);
  std::uint64_t before_block = 0;
  std::uint64_t after_block = 0;
  {
    Pipeline pipeline(*ledger);
    before_block = pipeline.engine->deny_list().current_version();
    REQUIRE(pipeline.admin(block(card_a, 1)).status.is_ok());
    after_block = pipeline.engine->deny_list().current_version();
    CHECK(after_block == before_block + 1);
    pipeline.engine->stop();
  }
  Pipeline restarted(*ledger);
  const auto& list = restarted.engine->deny_list();
  CHECK(list.current_version() == after_block);
  CHECK(cards_of(list) == std::vector<CardId>{id(card_a)});
  // A reader at the version before the block gets the block as a delta, not a snapshot.
  auto delta = list.delta_since(before_block, 100);
  CHECK(delta.flags == 0);
  CHECK(delta.from_version == before_block);
  CHECK(delta.to_version == after_block);
  CHECK(delta.added == std::vector<CardId>{id(card_a)});
  // A reader at the current version is told it is current.
  delta = list.delta_since(after_block, 100);
  CHECK(delta.from_version == delta.to_version);
  CHECK(delta.added.empty());
}

TEST_CASE("deny list: cards blocked, unblocked or taken into debt while the engine was stopped are new versions") {
  TempDir dir("deny-stopped");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  issue_card(*ledger, card_b, 100);
  ledger::NewCard overdraft;
  overdraft.card = id(card_c);
  overdraft.overdraft_minor = 50;
  REQUIRE(ledger->issue_cards({overdraft}));
  std::uint64_t stopped_at = 0;
  {
    Pipeline pipeline(*ledger);
    REQUIRE(pipeline.admin(block(card_a, 1)).status.is_ok());
    stopped_at = pipeline.engine->deny_list().current_version();
  }  // the destructor stops cleanly
  set_status_without_engine(*ledger, card_a, CardStatus::active);
  set_status_without_engine(*ledger, card_b, CardStatus::blocked);
  debit_without_engine(*ledger, card_c, 30, 2);

  Pipeline restarted(*ledger);
  const auto& list = restarted.engine->deny_list();
  CHECK(list.current_version() == stopped_at + 3);
  CHECK(cards_of(list) == std::vector<CardId>{id(card_b), id(card_c)});
  auto delta = list.delta_since(stopped_at, 100);
  CHECK(delta.flags == 0);
  CHECK(delta.added == std::vector<CardId>{id(card_b), id(card_c)});
  CHECK(delta.removed == std::vector<CardId>{id(card_a)});
  // The shard knows too: a tap of the blocked card is flagged deny listed.
  auto tap = restarted.tap(make_tap(library_desk, 1, card_b, Mode::identify, 501, monday_8am_us));
  CHECK(tap.reason == RefusalReason::card_blocked);
  CHECK((tap.flags & protocol::DecisionFlags::deny_listed) != 0);
}

TEST_CASE("deny list after a crash: a new epoch, so no version from before is answered with a delta") {
  TempDir dir("deny-crash");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  set_status_without_engine(*ledger, card_a, CardStatus::blocked);
  auto listed = listed_cards_in_ledger(*ledger);
  REQUIRE(listed);
  // A start, then no stop: what a crash leaves behind.
  net::MemoryDenyList first;
  auto opened = open_deny_list(*ledger, *listed, first);
  REQUIRE(opened);
  first.add(id(card_b));  // served, say, and never saved
  const std::uint64_t served = first.current_version();

  net::MemoryDenyList second;
  auto reopened = open_deny_list(*ledger, *listed, second);
  REQUIRE(reopened);
  CHECK_FALSE(reopened->continued);
  CHECK(reopened->new_epoch_because == "the engine did not stop cleanly");
  CHECK(reopened->epoch == opened->epoch + 1);
  CHECK(second.current_version() > served);
  for (std::uint64_t version : {opened->version, served}) {
    auto answer = second.delta_since(version, 100);
    CHECK((answer.flags & protocol::DenyListDelta::flag_full) != 0);
    CHECK(answer.added == std::vector<CardId>{id(card_a)});
  }
}

TEST_CASE("deny list: deny records changed behind the engine's back start a new epoch") {
  TempDir dir("deny-records");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  issue_card(*ledger, card_b, 100);
  std::uint64_t stopped_at = 0;
  {
    Pipeline pipeline(*ledger);
    REQUIRE(pipeline.admin(block(card_a, 1)).status.is_ok());
    stopped_at = pipeline.engine->deny_list().current_version();
  }
  // What an older CLI wrote on `card replace` without the engine.
  REQUIRE(ledger->put_records({deny_record(id(card_b), true)}, {}).is_ok());
  Pipeline restarted(*ledger);
  const auto& list = restarted.engine->deny_list();
  CHECK((list.current_version() >> deny_sequence_bits) == (stopped_at >> deny_sequence_bits) + 1);
  CHECK((list.delta_since(stopped_at, 100).flags & protocol::DenyListDelta::flag_full) != 0);
  // The truth wins over the stray record: card b is active with money.
  CHECK(cards_of(list) == std::vector<CardId>{id(card_a)});
  CHECK(*load_denied_cards(*ledger) == std::vector<CardId>{id(card_a)});
}

TEST_CASE("deny list: an unreadable saved state stops the start with a clear error and writes nothing") {
  TempDir dir("deny-corrupt");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  set_status_without_engine(*ledger, card_a, CardStatus::blocked);
  REQUIRE(ledger->put_records({{ledger::RecordSpace::engine, "deny_list/state", "garbage"}}, {}).is_ok());
  net::MemoryDenyList list;
  auto opened = open_deny_list(*ledger, {id(card_a)}, list);
  REQUIRE_FALSE(opened);
  CHECK(opened.status().code() == StatusCode::corruption);
  CHECK(opened.status().message().find("deny_list/state") != std::string::npos);
  CHECK(load_denied_cards(*ledger)->empty());
  Metrics metrics;
  Log log(std::tmpfile());
  auto started = Engine::start(*ledger, city_rules(), Pipeline::quick_options(), metrics, log);
  CHECK(started.status().code() == StatusCode::corruption);
}

}  // namespace citycard::engine::testing
