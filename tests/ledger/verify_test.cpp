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
    std::string block = raw.get("log", encoding::sequence_key(2));
    REQUIRE(encoding::block_count(block) == 2u);
    auto value = *encoding::decode_transfer(encoding::block_transfer(block, 0));
    value.transfer.asset = Asset::points;
    std::string encoded;
    encoding::encode_transfer(encoded, value.key, value.leg, value.transfer);
    block.replace(encoding::block_header_bytes, encoded.size(), encoded);
    raw.put("log", encoding::sequence_key(2), block);
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
