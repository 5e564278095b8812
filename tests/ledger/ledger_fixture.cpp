#include "ledger_fixture.h"

#include <stdlib.h>

namespace citycard::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "citycard-test-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  REQUIRE(made != nullptr);
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

LedgerFixture::LedgerFixture(ledger::Options options) {
  options.create_if_missing = true;
  auto opened = ledger::Ledger::open(path, options);
  REQUIRE(opened);
  ledger = std::move(*opened);
  auto accounts = ledger::ensure_system_accounts(*ledger);
  REQUIRE(accounts);
  system = *accounts;
  auto registered_bus = ledger->register_operator(OperatorId{1}, "Capital Bus");
  auto registered_metro = ledger->register_operator(OperatorId{2}, "City Metro");
  REQUIRE(registered_bus);
  REQUIRE(registered_metro);
  bus = *registered_bus;
  metro = *registered_metro;
}

void LedgerFixture::reopen() {
  ledger.reset();
  auto opened = ledger::Ledger::open(path, ledger::Options{});
  REQUIRE(opened);
  ledger = std::move(*opened);
}

CardRecord LedgerFixture::issue(const std::string& hex, std::int64_t overdraft_minor) {
  ledger::NewCard card;
  card.card = *CardId::parse(hex);
  card.overdraft_minor = overdraft_minor;
  auto issued = ledger->issue_cards({card});
  REQUIRE(issued);
  return issued->front();
}

void LedgerFixture::fund(const CardRecord& card, std::int64_t amount_minor, std::uint64_t ref) {
  auto outcome = post_one(make_group(IdempotencyKey{Origin::operator_action, 1, ref},
                                     {make_transfer(system.topup_float, card.wallet_account, amount_minor, TransferCode::top_up)}));
  REQUIRE(outcome.posted);
}

ledger::GroupOutcome LedgerFixture::post_one(const ledger::PostingGroup& group) {
  auto outcomes = ledger->post({group});
  REQUIRE(outcomes);
  REQUIRE(outcomes->size() == 1);
  return outcomes->front();
}

std::int64_t LedgerFixture::balance(AccountId id) const {
  auto account = ledger->account(id);
  REQUIRE(account);
  return account->balance_minor;
}

Transfer make_transfer(AccountId debit, AccountId credit, std::int64_t amount_minor, TransferCode code, Asset asset) {
  Transfer transfer;
  transfer.debit_account = debit;
  transfer.credit_account = credit;
  transfer.amount_minor = amount_minor;
  transfer.code = code;
  transfer.asset = asset;
  transfer.event_time = EventTime::from_unix_seconds(1'763'800'000);
  transfer.mode = Mode::bus_board;
  return transfer;
}

ledger::PostingGroup make_group(IdempotencyKey key, std::vector<Transfer> transfers) {
  ledger::PostingGroup group;
  group.key = key;
  group.transfers = std::move(transfers);
  return group;
}

IdempotencyKey tap_key(std::uint32_t reader, std::uint64_t sequence) {
  return IdempotencyKey::for_tap(TapId{ReaderId{reader}, sequence});
}

}  // namespace citycard::testing
