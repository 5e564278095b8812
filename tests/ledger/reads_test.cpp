// Reads: history paging, transfers by id, snapshots, cards, operators, opening.
#include <limits>
#include <set>

#include "ledger_fixture.h"

using namespace citycard;
using namespace citycard::testing;

namespace {
std::string fmt_card(int i) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "04BB%06X", i);
  return hex;
}
}  // namespace

TEST_CASE("history is newest first and pages with a cursor") {
  LedgerFixture f;
  auto card = f.issue("04AA0001");
  auto other = f.issue("04AA0002");
  REQUIRE(f.post_one(make_group(IdempotencyKey{Origin::operator_action, 1, 1},
                                {make_transfer(f.system.topup_float, card.wallet_account, 1000, TransferCode::top_up),
                                 make_transfer(f.system.topup_float, other.wallet_account, 1000, TransferCode::top_up)}))
              .posted);
  for (int i = 1; i <= 25; ++i) {
    REQUIRE(f.post_one(make_group(tap_key(2, i), {make_transfer(card.wallet_account, f.bus.payable_account, i)})).posted);
    REQUIRE(f.post_one(make_group(tap_key(3, i), {make_transfer(other.wallet_account, f.bus.payable_account, 1)})).posted);
  }
  std::vector<std::int64_t> amounts;
  std::uint64_t cursor = 0;
  int pages = 0;
  do {
    auto page = f.ledger->history(card.wallet_account, cursor, 10);
    REQUIRE(page);
    for (const auto& entry : page->entries) {
      CHECK((entry.transfer.debit_account == card.wallet_account || entry.transfer.credit_account == card.wallet_account));
      if (!amounts.empty()) CHECK(entry.sequence < cursor + 1000000);
      amounts.push_back(entry.transfer.amount_minor);
    }
    cursor = page->next_cursor;
    ++pages;
  } while (cursor != 0 && pages < 10);
  CHECK(pages == 3);
  REQUIRE(amounts.size() == 26);
  CHECK(amounts.front() == 25);     // newest fare first
  CHECK(amounts[24] == 1);
  CHECK(amounts.back() == 1000);    // the top-up last

  CHECK(f.ledger->history(card.wallet_account, 0, 0).status().code() == StatusCode::invalid_argument);
  CHECK(f.ledger->history(AccountId{424242}, 0, 10).status().code() == StatusCode::not_found);
}

TEST_CASE("transfers are found by sequence and by their group's key") {
  LedgerFixture f;
  auto card = f.issue("04AA0003");
  f.fund(card, 100);
  auto fare = f.post_one(make_group(tap_key(8, 5), {make_transfer(card.wallet_account, f.bus.payable_account, 15),
                                                    make_transfer(f.system.subsidy_budget, f.bus.payable_account, 15,
                                                                  TransferCode::subsidy)}));
  REQUIRE(fare.posted);
  auto legs = f.ledger->transfers_for(tap_key(8, 5));
  REQUIRE(legs);
  REQUIRE(legs->size() == 2);
  CHECK((*legs)[0].leg == 0);
  CHECK((*legs)[1].transfer.code == TransferCode::subsidy);
  CHECK((*legs)[1].sequence == fare.first_sequence + 1);
  auto by_sequence = f.ledger->transfer_at(fare.first_sequence);
  REQUIRE(by_sequence);
  CHECK(by_sequence->key == tap_key(8, 5));
  CHECK(by_sequence->transfer.event_time == EventTime::from_unix_seconds(1'763'800'000));
  CHECK(f.ledger->transfer_at(999).status().code() == StatusCode::not_found);
  CHECK(f.ledger->transfers_for(tap_key(8, 6)).status().code() == StatusCode::not_found);
}

TEST_CASE("a snapshot does not see later postings") {
  LedgerFixture f;
  auto card = f.issue("04AA0004");
  f.fund(card, 100);
  auto snapshot = f.ledger->snapshot();
  REQUIRE(f.post_one(make_group(tap_key(1, 1), {make_transfer(card.wallet_account, f.bus.payable_account, 15)})).posted);
  CHECK(snapshot->last_sequence() == 1);
  CHECK(snapshot->account(card.wallet_account)->balance_minor == 100);
  CHECK(f.balance(card.wallet_account) == 85);
  int seen = 0;
  REQUIRE(snapshot->scan_transfers(1, 100, [&](const ledger::StoredTransfer&) { ++seen; return true; }));
  CHECK(seen == 1);
}

TEST_CASE("linked media share one card's accounts") {
  LedgerFixture f;
  auto card = f.issue("04AA0005");
  ledger::NewCard phone;
  phone.card = *CardId::parse("F1F2F3F4F5F6F7F8");
  phone.media = Media::mobile;
  phone.linked_to = card.card;
  auto issued = f.ledger->issue_cards({phone});
  REQUIRE(issued);
  CHECK(issued->front().wallet_account == card.wallet_account);
  CHECK(f.ledger->card(phone.card)->linked_to == card.card);
  CHECK(f.ledger->card_of_account(card.wallet_account)->card == card.card);

  ledger::NewCard dangling;
  dangling.card = *CardId::parse("F1F2F3F4F5F6F7F9");
  dangling.linked_to = *CardId::parse("0000");
  CHECK(f.ledger->issue_cards({dangling}).status().code() == StatusCode::not_found);
  CHECK(f.ledger->issue_cards({phone}).status().code() == StatusCode::already_exists);
  CHECK(f.ledger->verify().ok());
}

TEST_CASE("issuing a batch with one bad card issues none") {
  LedgerFixture f;
  auto before = f.ledger->account_count();
  ledger::NewCard good;
  good.card = *CardId::parse("0A0A0A0A");
  std::vector<ledger::NewCard> cards = {good, good};
  CHECK(f.ledger->issue_cards(cards).status().code() == StatusCode::already_exists);
  CHECK(f.ledger->account_count() == before);
  CHECK(f.ledger->card(good.card).status().code() == StatusCode::not_found);
}

TEST_CASE("operators are registered once with their accounts") {
  LedgerFixture f;
  auto again = f.ledger->register_operator(OperatorId{1}, "Capital Bus");
  REQUIRE(again);
  CHECK(again->payable_account == f.bus.payable_account);
  CHECK(f.ledger->register_operator(OperatorId{1}, "Another").status().code() == StatusCode::already_exists);
  CHECK(f.ledger->operators().size() == 2);
  CHECK(f.ledger->operator_record(OperatorId{3}).status().code() == StatusCode::not_found);
}

TEST_CASE("opening: missing, locked, read-only") {
  TempDir dir;
  auto missing = ledger::Ledger::open(dir.path() + "/nothing", ledger::Options{});
  REQUIRE_FALSE(missing);
  CHECK(missing.status().code() == StatusCode::not_found);
  CHECK_THAT(missing.status().message(), Catch::Contains("no ledger at"));
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/nothing"));

  LedgerFixture f;
  auto second = ledger::Ledger::open(f.path, ledger::Options{});
  REQUIRE_FALSE(second);
  CHECK(second.status().code() == StatusCode::busy);
  CHECK_THAT(second.status().message(), Catch::Contains("locked"));

  ledger::Options read_only;
  read_only.read_only = true;
  auto reader = ledger::Ledger::open(f.path, read_only);
  REQUIRE(reader);
  CHECK((*reader)->operators().size() == 2);
  CHECK((*reader)->create_account(AccountSpec{}).status().code() == StatusCode::invalid_argument);
}

// Small memtables, so history entries and card states live partly in table
// files and partly in (hashed) memtables: reads must merge both.
TEST_CASE("history and card states read the same across memtable flushes and a reopen") {
  TempDir dir;
  const std::string path = dir.path() + "/ledger";
  ledger::Options options;
  options.create_if_missing = true;
  options.write_buffer_bytes = 64 * 1024;
  auto opened = ledger::Ledger::open(path, options);
  REQUIRE(opened);
  std::unique_ptr<ledger::Ledger> ledger = std::move(*opened);
  auto system = ledger::ensure_system_accounts(*ledger);
  REQUIRE(system);
  auto bus = ledger->register_operator(OperatorId{1}, "Capital Bus");
  REQUIRE(bus);
  constexpr int cards_count = 200, batches = 40;
  std::vector<ledger::NewCard> fresh(cards_count);
  for (int i = 0; i < cards_count; ++i) fresh[i].card = *CardId::parse(fmt_card(i));
  auto cards = ledger->issue_cards(fresh);
  REQUIRE(cards);
  std::vector<ledger::PostingGroup> top_ups;
  for (int i = 0; i < cards_count; ++i) {
    top_ups.push_back(make_group(IdempotencyKey{Origin::operator_action, 1, static_cast<std::uint64_t>(i + 1)},
                                 {make_transfer(system->topup_float, (*cards)[i].wallet_account, 5000, TransferCode::top_up)}));
  }
  REQUIRE(ledger->post(top_ups));
  auto state_of = [](int card, int batch) { return std::string(40, static_cast<char>('a' + card % 26)) + std::to_string(batch); };
  for (int b = 1; b <= batches; ++b) {
    std::vector<ledger::PostingGroup> groups;
    for (int i = 0; i < cards_count; ++i) {
      auto group = make_group(tap_key(static_cast<std::uint32_t>(i + 1), static_cast<std::uint64_t>(b)),
                              {make_transfer((*cards)[i].wallet_account, bus->payable_account, b)});
      group.records.push_back({ledger::RecordSpace::card_state,
                               std::string(reinterpret_cast<const char*>(fresh[i].card.data()), fresh[i].card.size()),
                               state_of(i, b)});
      groups.push_back(std::move(group));
    }
    auto posted = ledger->post(groups);
    REQUIRE(posted);
    for (const auto& outcome : *posted) REQUIRE(outcome.posted);
  }
  std::size_t table_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(path)) table_files += entry.path().extension() == ".sst";
  REQUIRE(table_files > 2);  // the scenario did flush

  auto check = [&](ledger::Ledger& l) {
    for (int i : {0, 77, cards_count - 1}) {
      std::vector<std::int64_t> amounts;
      std::uint64_t cursor = 0;
      do {
        auto page = l.history((*cards)[i].wallet_account, cursor, 7);
        REQUIRE(page);
        for (const auto& entry : page->entries) amounts.push_back(entry.transfer.amount_minor);
        cursor = page->next_cursor;
      } while (cursor != 0);
      REQUIRE(amounts.size() == batches + 1);
      for (int b = 0; b < batches; ++b) CHECK(amounts[b] == batches - b);  // newest first
      CHECK(amounts.back() == 5000);
      const std::string key(reinterpret_cast<const char*>(fresh[i].card.data()), fresh[i].card.size());
      auto state = l.record(ledger::RecordSpace::card_state, key);
      REQUIRE(state);
      CHECK(*state == state_of(i, batches));
      auto snapshot = l.snapshot();
      auto as_of = snapshot->account((*cards)[i].wallet_account);
      REQUIRE(as_of);
      CHECK(as_of->balance_minor == 5000 - batches * (batches + 1) / 2);
      CHECK(l.account((*cards)[i].wallet_account)->balance_minor == as_of->balance_minor);
    }
    int scanned = 0;
    REQUIRE(l.snapshot()->scan_records(ledger::RecordSpace::card_state, "", [&](std::string_view, std::string_view value) {
      ++scanned;
      CHECK(value.substr(value.size() - 2) == std::to_string(batches));
      return true;
    }));
    CHECK(scanned == cards_count);
    auto report = l.verify();
    for (const auto& problem : report.problems) UNSCOPED_INFO(problem.kind << ": " << problem.detail);
    CHECK(report.ok());
  };
  check(*ledger);
  ledger.reset();
  auto again = ledger::Ledger::open(path, ledger::Options{});
  REQUIRE(again);
  check(**again);
}

TEST_CASE("records: erasures go in one write with puts, scans carry on from a key, the audit trail is never erased") {
  LedgerFixture f;
  using ledger::RecordChange;
  using ledger::RecordSpace;
  REQUIRE(f.ledger->put_records({{RecordSpace::tap_records, "a1", "x"}, {RecordSpace::tap_records, "a2", "y"},
                                 {RecordSpace::tap_records, "b1", "z"}, {RecordSpace::audit, "op:1:1", "{}"}},
                                {}));
  // One write: "a1" erased, "a2" replaced, an absent key erased without complaint.
  REQUIRE(f.ledger->put_records({{RecordSpace::tap_records, "a1", {}, RecordChange::erase},
                                 {RecordSpace::tap_records, "a2", "y2"},
                                 {RecordSpace::tap_records, "zz", {}, RecordChange::erase}},
                                {}));
  auto keys_from = [&](std::string_view prefix, std::string_view from) {
    std::vector<std::string> keys;
    REQUIRE(f.ledger->snapshot()->scan_records_from(RecordSpace::tap_records, prefix, from,
                                                    [&](std::string_view key, std::string_view) {
                                                      keys.emplace_back(key);
                                                      return true;
                                                    }));
    return keys;
  };
  CHECK(keys_from("", "") == std::vector<std::string>{"a2", "b1"});
  CHECK(keys_from("", "a3") == std::vector<std::string>{"b1"});
  CHECK(keys_from("a", "") == std::vector<std::string>{"a2"});   // from before the prefix: its start
  CHECK(keys_from("a", "a2") == std::vector<std::string>{"a2"});
  CHECK(keys_from("a", "b1").empty());                           // from past the prefix: nothing of it
  CHECK(*f.ledger->record(RecordSpace::tap_records, "a2") == "y2");
  CHECK_FALSE(f.ledger->record(RecordSpace::tap_records, "a1"));

  auto refused = f.ledger->put_records({{RecordSpace::audit, "op:1:1", {}, RecordChange::erase}}, {});
  CHECK(refused.code() == StatusCode::invalid_argument);
  CHECK(refused.message().find("append-only") != std::string::npos);
  CHECK(f.ledger->record(RecordSpace::audit, "op:1:1"));
  CHECK(f.ledger->verify().ok());
}

TEST_CASE("a ledger made before city programmes gets their budgets when next opened by the engine or init") {
  TempDir dir;
  ledger::Options options;
  options.create_if_missing = true;
  auto opened = ledger::Ledger::open(dir.path() + "/ledger", options);
  REQUIRE(opened);
  ledger::Ledger& ledger = **opened;
  // The system accounts as ledgers had them before programmes.
  auto old_account = [&](const char* name, AccountKind kind, Asset asset) {
    auto id = ledger.ensure_named_account(
        name, AccountSpec{kind, asset, balance_floor_none, std::numeric_limits<std::int64_t>::max(), 0});
    INFO(name << ": " << id.status().to_string());
    REQUIRE(id);
    return *id;
  };
  const AccountId old_budget = old_account("subsidy_budget", AccountKind::subsidy_budget, Asset::twd);
  old_account("topup_float", AccountKind::topup_float, Asset::twd);
  old_account("points_budget", AccountKind::points_budget, Asset::points);
  old_account("points_redeemed", AccountKind::points_redeemed, Asset::points);
  old_account("credit_card_clearing", AccountKind::credit_card_clearing, Asset::twd);
  old_account("refunds", AccountKind::refunds, Asset::twd);
  old_account("adjustments", AccountKind::adjustments, Asset::twd);
  // A reader of the ledger names what is missing and how to get it.
  auto found = ledger::find_system_accounts(ledger);
  REQUIRE_FALSE(found);
  CHECK(found.status().message() == "system account 'budget_buy_one_get_one' is missing (run `citycard init`)");

  auto ensured = ledger::ensure_system_accounts(ledger);
  INFO(ensured.status().to_string());
  REQUIRE(ensured);
  CHECK(ensured->subsidy_budget == old_budget);  // the old budget keeps its id and history
  std::set<std::uint64_t> budgets;
  for (Programme programme : all_programmes()) {
    const AccountId budget = ensured->budget_of(programme);
    budgets.insert(budget.value);
    auto account = ledger.account(budget);
    REQUIRE(account);
    CHECK(account->spec.asset == Asset::twd);
    CHECK(account->spec.balance_floor_minor == balance_floor_none);  // a budget pays whatever its programme costs
    CHECK(account->spec.kind == (programme == Programme::unattributed ? AccountKind::subsidy_budget
                                                                       : AccountKind::programme_budget));
  }
  CHECK(budgets.size() == programme_count);
  auto again = ledger::ensure_system_accounts(ledger);
  REQUIRE(again);
  for (Programme programme : all_programmes()) CHECK(again->budget_of(programme) == ensured->budget_of(programme));
  CHECK(ledger::find_system_accounts(ledger));
}
