// The audit trail's hash chain (ledger/audit_chain.h): every audit record is
// a link, in the same write; verify() catches a link edited, re-hashed,
// removed, or its record changed, by hand underneath the ledger.
#include <rocksdb/db.h>

#include "ledger/audit_chain.h"
#include "ledger/encoding.h"
#include "ledger_fixture.h"

using namespace citycard;
using namespace citycard::testing;
namespace encoding = citycard::ledger::encoding;

namespace {

// The "records" column family, opened behind the ledger's back.
class RawRecords {
 public:
  explicit RawRecords(const std::string& path) {
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles_, &raw).ok());
    db_.reset(raw);
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "records") records_ = handles_[i];
    }
    REQUIRE(records_ != nullptr);
  }
  ~RawRecords() {
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  }
  static std::string link_key(std::uint64_t number) {
    return encoding::record_key(static_cast<std::uint8_t>(ledger::RecordSpace::audit_chain), ledger::audit_chain_key(number));
  }
  static std::string audit_key(const std::string& ref) {
    return encoding::record_key(static_cast<std::uint8_t>(ledger::RecordSpace::audit), ref);
  }
  ledger::AuditLink link(std::uint64_t number) {
    std::string value;
    REQUIRE(db_->Get(rocksdb::ReadOptions(), records_, link_key(number), &value).ok());
    auto decoded = ledger::decode_audit_link(value);
    REQUIRE(decoded);
    return *decoded;
  }
  void put_link(const ledger::AuditLink& link) {
    REQUIRE(db_->Put(rocksdb::WriteOptions(), records_, link_key(link.number), ledger::encode_audit_link(link)).ok());
  }
  void erase_link(std::uint64_t number) { REQUIRE(db_->Delete(rocksdb::WriteOptions(), records_, link_key(number)).ok()); }
  void put_audit(const std::string& ref, const std::string& body) {
    REQUIRE(db_->Put(rocksdb::WriteOptions(), records_, audit_key(ref), body).ok());
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* records_ = nullptr;
};

std::string describe(const ledger::VerifyReport& report) {
  std::string text;
  for (const auto& problem : report.problems) text += problem.kind + ": " + problem.detail + "\n";
  return text;
}

bool has_problem(const ledger::VerifyReport& report, const std::string& detail_part) {
  for (const auto& problem : report.problems) {
    if (problem.kind == "audit_chain" && problem.detail.find(detail_part) != std::string::npos) return true;
  }
  return false;
}

IdempotencyKey op(std::uint64_t n) { return IdempotencyKey{Origin::operator_action, 7, n}; }

// Four audit entries: two with money (post), one without (put_records), one
// more with money after a reopen (the chain continues from disk).
struct Audited : LedgerFixture {
  CardRecord card;
  Audited() {
    card = issue("0A0A0A0A");
    for (std::uint64_t n : {1, 2}) {
      auto group = make_group(op(n), {make_transfer(system.topup_float, card.wallet_account, 10, TransferCode::top_up)});
      group.records.push_back({ledger::RecordSpace::audit, op(n).to_string(), "{\"action\":\"top-up\",\"n\":" + std::to_string(n) + "}"});
      REQUIRE(post_one(group).posted);
    }
    REQUIRE(ledger->put_records({{ledger::RecordSpace::audit, op(3).to_string(), "{\"action\":\"block\"}"}}, {}).is_ok());
    reopen();
    auto group = make_group(op(4), {make_transfer(card.wallet_account, system.refunds, 5, TransferCode::refund)});
    group.records.push_back({ledger::RecordSpace::audit, op(4).to_string(), "{\"action\":\"refund\"}"});
    REQUIRE(post_one(group).posted);
    auto report = ledger->verify();
    INFO(describe(report));
    REQUIRE(report.ok());
    REQUIRE(report.audit_entries == 4);
    close();
  }
  ledger::VerifyReport verify_after_edit() {
    ledger::Options options;
    options.read_only = true;
    auto opened = ledger::Ledger::open(path, options);
    REQUIRE(opened);
    auto report = (*opened)->verify();
    INFO(describe(report));
    CHECK_FALSE(report.ok());
    return report;
  }
};

}  // namespace

TEST_CASE("audit chain: posts and record writes are linked in one chain that continues after a reopen") {
  Audited f;
  RawRecords raw(f.path);
  ledger::AuditHash previous{};
  for (std::uint64_t n = 1; n <= 4; ++n) {
    auto link = raw.link(n);
    CHECK(link.number == n);
    CHECK(link.key == op(n).to_string());
    CHECK(link.prev_hash == previous);
    CHECK(link.hash == ledger::audit_link_hash(link.number, link.prev_hash, link.key, link.body));
    previous = link.hash;
  }
  CHECK(raw.link(4).body == "{\"action\":\"refund\"}");
}

TEST_CASE("audit chain: a rejected group leaves no link, and a group may not write links itself") {
  LedgerFixture f;
  CardRecord card = f.issue("0B0B0B0B");
  auto too_much = make_group(op(1), {make_transfer(card.wallet_account, f.system.refunds, 50, TransferCode::refund)});
  too_much.records.push_back({ledger::RecordSpace::audit, op(1).to_string(), "refund"});
  CHECK_FALSE(f.post_one(too_much).posted);  // the wallet is empty
  auto forged = make_group(op(2), {});
  forged.records.push_back({ledger::RecordSpace::audit_chain, ledger::audit_chain_key(1), "forged"});
  auto outcome = f.post_one(forged);
  CHECK_FALSE(outcome.posted);
  CHECK(outcome.reason.message().find("written by the ledger only") != std::string::npos);
  CHECK_FALSE(f.ledger->put_records({{ledger::RecordSpace::audit_chain, ledger::audit_chain_key(1), "forged"}}, {}).is_ok());
  auto report = f.ledger->verify();
  CHECK(report.ok());
  CHECK(report.audit_entries == 0);
}

TEST_CASE("audit chain: cards and the entry naming them are one write, and a refused issue leaves neither") {
  LedgerFixture f;
  ledger::NewCard fresh;
  fresh.card = *CardId::parse("0C0C0C01");
  auto issued = f.ledger->issue_cards({fresh}, {{ledger::RecordSpace::audit, op(1).to_string(), "{\"action\":\"card import\"}"}});
  REQUIRE(issued);
  CHECK(f.ledger->card(fresh.card).has_value());
  CHECK(f.ledger->record(ledger::RecordSpace::audit, op(1).to_string()).has_value());
  // The same card again is refused whole: no second card, no entry, no link.
  ledger::NewCard other;
  other.card = *CardId::parse("0C0C0C02");
  auto refused = f.ledger->issue_cards({other, fresh}, {{ledger::RecordSpace::audit, op(2).to_string(), "{}"}});
  CHECK(refused.status().code() == StatusCode::already_exists);
  CHECK_FALSE(f.ledger->card(other.card).has_value());
  CHECK_FALSE(f.ledger->record(ledger::RecordSpace::audit, op(2).to_string()).has_value());
  // Links are the ledger's to write, here as in put_records.
  CHECK_FALSE(f.ledger->issue_cards({other}, {{ledger::RecordSpace::audit_chain, ledger::audit_chain_key(2), "forged"}}));
  CHECK_FALSE(f.ledger->card(other.card).has_value());
  auto report = f.ledger->verify();
  INFO(describe(report));
  CHECK(report.ok());
  CHECK(report.audit_entries == 1);
}

TEST_CASE("audit chain: an entry edited by hand is caught by verify, which names it") {
  Audited f;
  {
    RawRecords raw(f.path);
    auto link = raw.link(2);
    link.body = "{\"action\":\"top-up\",\"n\":200}";  // someone makes the top-up look bigger
    raw.put_link(link);
  }
  auto report = f.verify_after_edit();
  CHECK(has_problem(report, "audit entry 2 (" + op(2).to_string() + ") does not match its hash"));
}

TEST_CASE("audit chain: an entry edited and re-hashed by hand breaks the link of the entry after it") {
  Audited f;
  {
    RawRecords raw(f.path);
    auto link = raw.link(2);
    raw.put_link(ledger::make_audit_link(2, link.prev_hash, link.key, "{\"action\":\"nothing happened\"}"));
    raw.put_audit(link.key, "{\"action\":\"nothing happened\"}");
  }
  auto report = f.verify_after_edit();
  CHECK(has_problem(report, "audit entry 3 (" + op(3).to_string() + ") does not follow the hash of the entry before it"));
}

TEST_CASE("audit chain: a removed entry leaves a gap") {
  Audited f;
  {
    RawRecords raw(f.path);
    raw.erase_link(3);
  }
  auto report = f.verify_after_edit();
  CHECK(has_problem(report, "audit entry 4 carries number 4, expected 3"));
}

TEST_CASE("audit chain: an audit record changed behind its entry") {
  Audited f;
  {
    RawRecords raw(f.path);
    raw.put_audit(op(1).to_string(), "{\"action\":\"top-up\",\"n\":9}");
  }
  auto report = f.verify_after_edit();
  CHECK(has_problem(report, "audit entry 1: the audit record " + op(1).to_string() + " differs from the entry"));
}

TEST_CASE("audit chain: links decode only whole") {
  auto link = ledger::make_audit_link(5, ledger::AuditHash{}, "op:1:2", "body");
  std::string bytes = ledger::encode_audit_link(link);
  auto decoded = ledger::decode_audit_link(bytes);
  REQUIRE(decoded);
  CHECK(decoded->body == "body");
  CHECK(decoded->hash == link.hash);
  CHECK_FALSE(ledger::decode_audit_link(bytes.substr(0, bytes.size() - 1)));
  CHECK_FALSE(ledger::decode_audit_link(bytes + "x"));
}
