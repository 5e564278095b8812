// The format record: what open accepts, upgrades and refuses.
#include <rocksdb/db.h>

#include <functional>

#include "ledger_fixture.h"

using namespace citycard;
using namespace citycard::testing;

namespace {

// Runs `use` on the ledger's default column family, bypassing the ledger.
void with_raw_default_family(const std::string& path, bool read_only,
                             const std::function<void(rocksdb::DB&, rocksdb::ColumnFamilyHandle*)>& use) {
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& name : names) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status opened = read_only ? rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, families, &handles, &raw)
                                     : rocksdb::DB::Open(rocksdb::DBOptions(), path, families, &handles, &raw);
  REQUIRE(opened.ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  use(*db, handles[0]);  // ListColumnFamilies names "default" first
  for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
}

std::string stored_format(const std::string& path) {
  std::string value;
  with_raw_default_family(path, true, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family) {
    REQUIRE(db.Get(rocksdb::ReadOptions(), family, "format", &value).ok());
  });
  return value;
}

void store_format(const std::string& path, const std::string& value) {
  with_raw_default_family(path, false, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family) {
    REQUIRE(db.Put(rocksdb::WriteOptions(), family, "format", value).ok());
  });
}

}  // namespace

TEST_CASE("a ledger of format 3 or 4 opens, and is upgraded to format 5 only when opened writable") {
  TempDir dir;
  const std::string path = dir.path() + "/ledger";
  ledger::Options create;
  create.create_if_missing = true;
  REQUIRE(ledger::Ledger::open(path, create));
  CHECK(stored_format(path) == "citycard-ledger/5");

  for (std::string older : {"citycard-ledger/3", "citycard-ledger/4"}) {
    INFO(older);
    store_format(path, older);
    ledger::Options read_only;
    read_only.read_only = true;
    auto reading = ledger::Ledger::open(path, read_only);
    REQUIRE(reading);
    CHECK((*reading)->upgraded_from().empty());
    reading->reset();
    CHECK(stored_format(path) == older);
    auto writing = ledger::Ledger::open(path, ledger::Options());
    REQUIRE(writing);
    CHECK((*writing)->upgraded_from() == older);  // the engine logs it, the CLI says it
    writing->reset();
    CHECK(stored_format(path) == "citycard-ledger/5");
    auto again = ledger::Ledger::open(path, ledger::Options());
    REQUIRE(again);
    CHECK((*again)->upgraded_from().empty());
  }
}

TEST_CASE("a ledger of an older or unknown format is refused, naming the format") {
  TempDir dir;
  const std::string path = dir.path() + "/ledger";
  ledger::Options create;
  create.create_if_missing = true;
  REQUIRE(ledger::Ledger::open(path, create));
  for (std::string format : {"citycard-ledger/2", "citycard-ledger/6", "something else"}) {
    store_format(path, format);
    auto refused = ledger::Ledger::open(path, ledger::Options());
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.status().message(), Catch::Contains("has format '" + format + "'"));
    CHECK(stored_format(path) == format);
  }
}
