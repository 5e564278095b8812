// verify catches each kind of corruption we can inject underneath the ledger.
#include <rocksdb/db.h>

#include "ledger/encoding.h"
#include "ledger_fixture.h"

using namespace citycard;
using namespace citycard::testing;
namespace encoding = citycard::ledger::encoding;

namespace {

// Opens the ledger's RocksDB directly, behind the ledger's back.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles_, &raw).ok());
    db_.reset(raw);
    for (std::size_t i = 0; i < names.size(); ++i) by_name_[names[i]] = handles_[i];
  }
  ~RawDb() {
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  }
  void put(const std::string& family, const std::string& key, const std::string& value) {
    REQUIRE(db_->Put(rocksdb::WriteOptions(), by_name_.at(family), key, value).ok());
  }
  void erase(const std::string& family, const std::string& key) {
    REQUIRE(db_->Delete(rocksdb::WriteOptions(), by_name_.at(family), key).ok());
  }
  std::string get(const std::string& family, const std::string& key) {
    std::string value;
    REQUIRE(db_->Get(rocksdb::ReadOptions(), by_name_.at(family), key, &value).ok());
    return value;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name_;
};

bool has_problem(const ledger::VerifyReport& report, const std::string& kind, const std::string& detail_part) {
  for (const auto& problem : report.problems) {
    if (problem.kind == kind && problem.detail.find(detail_part) != std::string::npos) return true;
  }
  return false;
}

std::string describe(const ledger::VerifyReport& report) {
  std::string text;
  for (const auto& problem : report.problems) text += problem.kind + ": " + problem.detail + "\n";
  return text;
}

struct Populated : LedgerFixture {
  CardRecord card;
  Populated() {
    card = issue("0C0C0C0C");
    REQUIRE(post_one(make_group(IdempotencyKey{Origin::operator_action, 1, 1},
                                {make_transfer(system.topup_float, card.wallet_account, 100, TransferCode::top_up)}))
                .posted);  // sequence 1
    REQUIRE(post_one(make_group(tap_key(2, 1), {make_transfer(card.wallet_account, bus.payable_account, 15),
                                                make_transfer(system.subsidy_budget, bus.payable_account, 15,
                                                              TransferCode::subsidy)}))
                .posted);  // sequences 2, 3
    REQUIRE(ledger->verify().ok());
    close();
  }
  ledger::VerifyReport verify_now() {
    reopen_read_only();
    auto report = reader->verify();
    INFO(describe(report));
    CHECK_FALSE(report.ok());
    return report;
  }
  void reopen_read_only() {
    ledger::Options options;
    options.read_only = true;
    auto opened = ledger::Ledger::open(path, options);
    REQUIRE(opened);
    reader = std::move(*opened);
  }
  std::unique_ptr<ledger::Ledger> reader;
};

}  // namespace

TEST_CASE("verify: a sound ledger has no problems") {
  Populated f;
  f.reopen_read_only();
  auto report = f.reader->verify();
  INFO(describe(report));
  CHECK(report.ok());
  CHECK(report.transfers == 3);
  CHECK(report.idempotency_keys == 2);
  CHECK(report.cards == 1);
}

TEST_CASE("verify: a stored balance that disagrees with its transfers") {
  Populated f;
  {
    RawDb raw(f.path);
    auto stored = *encoding::decode_account(raw.get("accounts", encoding::account_key(f.card.wallet_account)));
    stored.balance_minor += 1000;
    raw.put("accounts", encoding::account_key(f.card.wallet_account), encoding::encode_account(stored));
  }
  auto report = f.verify_now();
  CHECK(has_problem(report, "balance_mismatch", "account " + std::to_string(f.card.wallet_account.value)));
  CHECK(has_problem(report, "asset_sum", "TWD balances sum to 1000"));
}

TEST_CASE("verify: a transfer that names a missing account") {
  Populated f;
  {
    RawDb raw(f.path);
    raw.erase("accounts", encoding::account_key(f.bus.payable_account));
  }
  // The ledger itself refuses to load a ledger with a dangling account? No: it
  // loads what is there; verify names the damage.
  auto report = f.verify_now();
  CHECK(has_problem(report, "missing_account", "references missing account " + std::to_string(f.bus.payable_account.value)));
}

TEST_CASE("verify: a transfer without its idempotency entry") {
  Populated f;
  {
    RawDb raw(f.path);
    raw.erase("idempotency", encoding::group_key(tap_key(2, 1)));
  }
  auto report = f.verify_now();
  CHECK(has_problem(report, "idempotency_missing", "tap:2:1"));
}

TEST_CASE("verify: an idempotency entry that points at another group's transfers") {
  Populated f;
  {
    RawDb raw(f.path);
    raw.put("idempotency", encoding::group_key(tap_key(2, 99)), encoding::encode_idempotency(2, 2, ""));
  }
  auto report = f.verify_now();
  CHECK(has_problem(report, "idempotency_orphan", "tap:2:99"));
}

TEST_CASE("verify: an idempotency entry with the wrong count") {
  Populated f;
  {
    RawDb raw(f.path);
    raw.put("idempotency", encoding::group_key(tap_key(2, 1)), encoding::encode_idempotency(2, 1, ""));
  }
  auto report = f.verify_now();
  CHECK(has_problem(report, "idempotency_mismatch", "tap:2:1"));
}

TEST_CASE("verify: a missing transfer leaves a gap") {
  Populated f;
  {
    RawDb raw(f.path);
    raw.erase("log", encoding::sequence_key(1));
  }
  auto report = f.verify_now();
  CHECK(has_problem(report, "sequence_gap", "expected transfer 1, found 2"));
  CHECK(has_problem(report, "balance_mismatch", ""));
  CHECK(has_problem(report, "idempotency_orphan", "op:1:1"));
  CHECK(has_problem(report, "history_orphan", "transfer 1"));
}

TEST_CASE("verify: an unreadable transfer") {
  Populated f;
  {
    RawDb raw(f.path);
    raw.put("log", encoding::sequence_key(2), "garbage");
  }
  auto opened = ledger::Ledger::open(f.path, ledger::Options{});
  REQUIRE_FALSE(opened);  // the log tail is replayed on open: a damaged block is refused there
  CHECK(opened.status().code() == StatusCode::corruption);
  CHECK_THAT(opened.status().message(), Catch::Contains("log block at 2"));
}

TEST_CASE("verify: a transfer in the wrong asset for its accounts") {
  Populated f;
  {
    RawDb raw(f.path);
    const std::string block = raw.get("log", encoding::sequence_key(2));
    auto reader = encoding::BlockReader::open(block);
    REQUIRE(reader);
    REQUIRE(reader->count() == 2u);
    encoding::BlockWriter rewritten;
    for (std::uint32_t i = 0; i < 2; ++i) {
      auto value = reader->at(i);
      REQUIRE(value);
      if (i == 0) value->transfer.asset = Asset::points;
      rewritten.add(value->key, value->leg, value->transfer);
    }
    raw.put("log", encoding::sequence_key(2), rewritten.finish());
  }
  auto report = f.verify_now();
  CHECK(has_problem(report, "asset_mismatch", "transfer 2 in points"));
}

TEST_CASE("verify: history entries missing or orphaned") {
  Populated f;
  {
    RawDb raw(f.path);
    raw.erase("history", encoding::history_key(f.card.wallet_account, 2));
    std::string offsets;
    coding::put_le<std::uint32_t>(offsets, 1);  // transfer 3: a subsidy to the bus, not the metro
    raw.put("history", encoding::history_key(f.metro.payable_account, 2), offsets);
  }
  auto report = f.verify_now();
  CHECK(has_problem(report, "history_missing", "account " + std::to_string(f.card.wallet_account.value)));
  CHECK(has_problem(report, "history_orphan", "account " + std::to_string(f.metro.payable_account.value)));
}

TEST_CASE("verify: a card whose account is not a wallet") {
  Populated f;
  {
    RawDb raw(f.path);
    auto card = *encoding::decode_card(raw.get("cards", encoding::card_key(f.card.card)));
    card.wallet_account = f.bus.payable_account;
    raw.put("cards", encoding::card_key(f.card.card), encoding::encode_card(card));
  }
  auto report = f.verify_now();
  CHECK(has_problem(report, "card_account", "card 0C0C0C0C"));
}

TEST_CASE("opening a ledger of another format is refused") {
  Populated f;
  {
    RawDb raw(f.path);
    raw.put("default", "format", "something-else/9");
  }
  auto opened = ledger::Ledger::open(f.path, ledger::Options{});
  REQUIRE_FALSE(opened);
  CHECK(opened.status().code() == StatusCode::corruption);
  CHECK_THAT(opened.status().message(), Catch::Contains("something-else/9"));
}

TEST_CASE("opening a ledger with an unreadable account is refused with its id") {
  Populated f;
  {
    RawDb raw(f.path);
    raw.put("accounts", encoding::account_key(f.card.wallet_account), "short");
  }
  auto opened = ledger::Ledger::open(f.path, ledger::Options{});
  REQUIRE_FALSE(opened);
  CHECK(opened.status().code() == StatusCode::corruption);
  CHECK_THAT(opened.status().message(), Catch::Contains("account " + std::to_string(f.card.wallet_account.value)));
}

// Ledgers written before format 5 hold their log in block format 1 (fixed
// 75-byte transfers): they open, verify and read as before, and take compact
// blocks after them once upgraded.
TEST_CASE("a ledger whose log and accounts are in format 1 opens, verifies, reads, and posts compact ones after it") {
  Populated f;
  {
    RawDb raw(f.path);
    for (std::uint64_t first : {1, 2}) {
      const std::string block = raw.get("log", encoding::sequence_key(first));
      auto reader = encoding::BlockReader::open(block);
      REQUIRE(reader);
      std::string fixed;
      coding::put_le<std::uint32_t>(fixed, reader->count());
      for (std::uint32_t i = 0; i < reader->count(); ++i) {
        auto value = reader->at(i);
        REQUIRE(value);
        encoding::encode_fixed_transfer(fixed, value->key, value->leg, value->transfer);
      }
      CHECK(fixed.size() == 4 + reader->count() * encoding::transfer_value_bytes);
      CHECK(fixed.size() > block.size());
      raw.put("log", encoding::sequence_key(first), fixed);
    }
    // Account records too, as format 1 wrote them (66 fixed bytes).
    for (AccountId id : {f.card.wallet_account, f.bus.payable_account}) {
      auto account = encoding::decode_account(raw.get("accounts", encoding::account_key(id)));
      REQUIRE(account);
      std::string fixed;
      coding::put_le<std::uint8_t>(fixed, static_cast<std::uint8_t>(account->spec.kind));
      coding::put_le<std::uint8_t>(fixed, static_cast<std::uint8_t>(account->spec.asset));
      coding::put_le<std::int64_t>(fixed, account->spec.balance_floor_minor);
      coding::put_le<std::int64_t>(fixed, account->spec.balance_ceiling_minor);
      coding::put_le<std::uint64_t>(fixed, account->spec.owner);
      coding::put_le<std::int64_t>(fixed, account->balance_minor);
      coding::put_le<std::int64_t>(fixed, account->debits_posted_minor);
      coding::put_le<std::int64_t>(fixed, account->credits_posted_minor);
      coding::put_le<std::uint64_t>(fixed, account->transfer_count);
      coding::put_le<std::uint64_t>(fixed, account->applied_through);
      REQUIRE(fixed.size() == encoding::account_value_bytes);
      raw.put("accounts", encoding::account_key(id), fixed);
    }
    raw.put("default", "format", "citycard-ledger/4");
  }
  ledger::Options read_only;
  read_only.read_only = true;
  auto old = ledger::Ledger::open(f.path, read_only);
  REQUIRE(old);
  const auto report = (*old)->verify();
  INFO(describe(report));
  CHECK(report.ok());
  CHECK((*old)->account(f.card.wallet_account)->balance_minor == 85);
  auto subsidy = (*old)->transfer_at(3);
  REQUIRE(subsidy);
  CHECK(subsidy->transfer.code == TransferCode::subsidy);
  CHECK(subsidy->key == tap_key(2, 1));
  CHECK(subsidy->leg == 1);
  old->reset();

  f.reopen();  // writable: upgraded to format 5
  CHECK(f.post_one(make_group(tap_key(2, 2), {make_transfer(f.card.wallet_account, f.bus.payable_account, 20)})).posted);
  CHECK(f.ledger->verify().ok());
  CHECK(f.balance(f.card.wallet_account) == 65);
  auto page = f.ledger->history(f.card.wallet_account, 0, 10);
  REQUIRE(page);
  REQUIRE(page->entries.size() == 3);  // newest first: the compact block's, then the old ones
  CHECK(page->entries[0].sequence == 4);
  CHECK(page->entries[0].transfer.amount_minor == 20);
  CHECK(page->entries[1].sequence == 2);
  CHECK(page->entries[1].transfer.amount_minor == 15);
  CHECK(page->entries[2].sequence == 1);
  CHECK(page->entries[2].transfer.code == TransferCode::top_up);
  f.close();
  RawDb raw(f.path);
  CHECK(raw.get("default", "format") == "citycard-ledger/5");
  const std::string newest = raw.get("log", encoding::sequence_key(4));
  CHECK((coding::load_le<std::uint32_t>(newest.data()) & 0x8000'0000u) != 0);
}

TEST_CASE("a compact log block reads any transfer in any order, and refuses damage by name") {
  encoding::BlockWriter writer;
  std::vector<Transfer> written;
  for (std::uint32_t i = 0; i < 40; ++i) {  // two and a half skip strides
    Transfer transfer = make_transfer(AccountId{1000 + i}, AccountId{7}, 1 + i * 1000);
    transfer.event_time = EventTime{1'795'651'200'000'000 + i};
    writer.add(tap_key(3, 100 + i), 0, transfer);
    written.push_back(transfer);
  }
  const std::string block = writer.finish();
  auto reader = encoding::BlockReader::open(block);
  REQUIRE(reader);
  REQUIRE(reader->count() == 40);
  for (std::uint32_t i : {39u, 0u, 17u, 16u, 15u, 31u, 32u, 33u, 1u, 2u, 38u}) {
    INFO(i);
    auto value = reader->at(i);
    REQUIRE(value);
    CHECK(value->key == tap_key(3, 100 + i));
    CHECK(value->transfer == written[i]);
  }
  CHECK_FALSE(reader->at(40));

  // A skip table that points elsewhere, a block cut short, a count too large: refused.
  std::string bad_skip = block;
  bad_skip[bad_skip.size() - 4] ^= 1;  // the third skip entry
  auto skipped = encoding::BlockReader::open(bad_skip);
  CHECK((!skipped || !skipped->at(31)));  // transfer 31 must end where the shifted skip says 32 starts
  CHECK_FALSE(encoding::BlockReader::open(block.substr(0, block.size() / 2)));
  std::string too_many = block;
  coding::store_le<std::uint32_t>(too_many.data(), 0x8000'0000u | 400);
  CHECK_FALSE(encoding::BlockReader::open(too_many));
  std::string cut_transfer = block;
  cut_transfer[4] = 9;  // origin out of range
  auto damaged = encoding::BlockReader::open(cut_transfer);
  REQUIRE(damaged);
  CHECK_FALSE(damaged->at(0));
  CHECK(damaged->at(16));  // the next stride reads from its own skip
}
