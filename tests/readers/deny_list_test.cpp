// Deny list cache: versioned deltas, full replacement, persistence.
#include <catch2/catch.hpp>

#include <fstream>

#include "deny_list.h"
#include "temp_dir.h"

using namespace citycard;
using namespace citycard::agent;
using citycard::test::TempDir;

namespace {
CardId id(const char* hex) { return *CardId::parse(hex); }
}  // namespace

TEST_CASE("deny list: deltas apply in version order and persist", "[agent][deny]") {
  TempDir dir;
  const std::string path = dir.file("deny.list");
  {
    auto list = DenyList::open(path);
    REQUIRE(list.has_value());
    CHECK(list->version() == 0);
    REQUIRE(list->apply({0, 1, false, {id("01"), id("02"), id("03")}, {}}).is_ok());
    REQUIRE(list->apply({1, 2, false, {id("04")}, {id("02")}}).is_ok());
    CHECK(list->contains(id("01")));
    CHECK(!list->contains(id("02")));
    CHECK(list->contains(id("04")));
  }
  auto list = DenyList::open(path);
  REQUIRE(list.has_value());
  CHECK(list->version() == 2);
  CHECK(list->size() == 3);
  CHECK(list->contains(id("03")));
  CHECK(!list->contains(id("02")));
}

TEST_CASE("deny list: a delta from another version changes nothing", "[agent][deny]") {
  TempDir dir;
  auto list = DenyList::open(dir.file("deny.list"));
  REQUIRE(list->apply({0, 5, false, {id("01")}, {}}).is_ok());
  CHECK(list->apply({3, 6, false, {id("02")}, {}}).code() == StatusCode::invalid_argument);
  CHECK(list->apply({5, 4, false, {id("02")}, {}}).code() == StatusCode::invalid_argument);
  CHECK(list->version() == 5);
  CHECK(!list->contains(id("02")));
  CHECK(list->apply({5, 5, false, {}, {}}).is_ok());   // nothing new
}

TEST_CASE("deny list: a full list replaces everything", "[agent][deny]") {
  TempDir dir;
  auto list = DenyList::open(dir.file("deny.list"));
  REQUIRE(list->apply({0, 5, false, {id("01"), id("02")}, {}}).is_ok());
  REQUIRE(list->apply({0, 9, true, {id("03")}, {}}).is_ok());
  CHECK(list->version() == 9);
  CHECK(list->size() == 1);
  CHECK(list->contains(id("03")));
}

TEST_CASE("deny list: a damaged file is refused", "[agent][deny]") {
  TempDir dir;
  {
    auto list = DenyList::open(dir.file("deny.list"));
    REQUIRE(list->apply({0, 1, false, {id("0102")}, {}}).is_ok());
  }
  std::fstream file(dir.file("deny.list"), std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(18);
  file.put('\x09');
  file.close();
  CHECK(DenyList::open(dir.file("deny.list")).status().code() == StatusCode::corruption);
}

TEST_CASE("deny list: a snapshot's pages are held apart and replace the list only with the last", "[agent][deny]") {
  TempDir dir;
  const std::string path = dir.file("deny.list");
  auto list = DenyList::open(path);
  REQUIRE(list->apply({0, 3, false, {id("09")}, {}}).is_ok());
  DenyListDelta first{0, 20, true, {id("01"), id("02")}, {}, true};
  REQUIRE(list->apply(first).is_ok());
  CHECK(list->version() == 3);   // the old list, whole, until the last page
  CHECK(list->contains(id("09")));
  CHECK(!list->contains(id("01")));
  CHECK(list->position() == DenyListPosition{3, 20, id("02")});
  REQUIRE(list->apply({0, 20, false, {id("03"), id("04")}, {}, true, true}).is_ok());
  CHECK(list->position() == DenyListPosition{3, 20, id("04")});
  CHECK(list->snapshot_cards() == 4);
  // What is on disk is still the old list: a reader restarted here has it.
  {
    auto reopened = DenyList::open(path);
    REQUIRE(reopened.has_value());
    CHECK(reopened->version() == 3);
    CHECK(reopened->size() == 1);
  }
  REQUIRE(list->apply({0, 20, false, {id("05")}, {}, false, true}).is_ok());
  CHECK(list->version() == 20);
  CHECK(list->size() == 5);
  CHECK(!list->contains(id("09")));
  CHECK(list->position() == DenyListPosition{20, 0, CardId()});
  auto reopened = DenyList::open(path);
  REQUIRE(reopened.has_value());
  CHECK(reopened->version() == 20);
  CHECK(reopened->size() == 5);
}

TEST_CASE("deny list: a page that does not continue the snapshot is refused and drops it", "[agent][deny]") {
  TempDir dir;
  auto list = DenyList::open(dir.file("deny.list"));
  REQUIRE(list->apply({0, 3, false, {id("09")}, {}}).is_ok());
  auto start = [&] { REQUIRE(list->apply({0, 20, true, {id("01"), id("05")}, {}, true}).is_ok()); };
  start();
  CHECK(list->apply({0, 21, false, {id("06")}, {}, false, true}).code() == StatusCode::invalid_argument);  // another version
  CHECK(list->snapshot_cards() == 0);
  start();
  CHECK(list->apply({0, 20, false, {id("05")}, {}, false, true}).code() == StatusCode::invalid_argument);  // not past the last
  start();
  CHECK(list->apply({0, 20, false, {id("07"), id("06")}, {}, false, true}).code() == StatusCode::invalid_argument);  // not ascending
  start();
  CHECK(list->apply({0, 20, false, {id("07")}, {id("01")}, false, true}).code() == StatusCode::invalid_argument);  // removes
  CHECK(list->apply({0, 20, false, {id("07")}, {}, false, true}).code() == StatusCode::invalid_argument);  // none in progress
  CHECK(list->apply({0, 20, true, {id("05"), id("01")}, {}, true}).code() == StatusCode::invalid_argument);  // first page unsorted
  CHECK(list->version() == 3);
  CHECK(list->size() == 1);
  CHECK(list->contains(id("09")));
  // A delta (the engine's answer when it cannot continue a snapshot) drops one in progress.
  start();
  REQUIRE(list->apply({3, 4, false, {id("0A")}, {}}).is_ok());
  CHECK(list->snapshot_cards() == 0);
  CHECK(list->position() == DenyListPosition{4, 0, CardId()});
}

TEST_CASE("deny list: a full list is taken even with a lower version (the engine's whole set)", "[agent][deny]") {
  TempDir dir;
  auto list = DenyList::open(dir.file("deny.list"));
  REQUIRE(list->apply({0, 50, false, {id("01")}, {}}).is_ok());
  REQUIRE(list->apply({0, 7, true, {id("02")}, {}}).is_ok());
  CHECK(list->version() == 7);
  CHECK(list->size() == 1);
  CHECK(list->contains(id("02")));
}

TEST_CASE("deny list: the file keeps its bytes", "[agent][deny]") {
  TempDir dir;
  const std::string path = dir.file("deny.list");
  {
    auto list = DenyList::open(path);
    REQUIRE(list.has_value());
    REQUIRE(list->apply({0, 0x0102, false, {id("04A1"), id("05")}, {}}).is_ok());
  }
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string hex;
  for (unsigned char b : bytes) hex += "0123456789ABCDEF"[b >> 4], hex += "0123456789ABCDEF"[b & 15];
  CHECK(hex == "434344310000000000000102000000020204A10105A0A7CC1E");
  auto reopened = DenyList::open(path);
  REQUIRE(reopened.has_value());
  CHECK(reopened->version() == 0x0102);
  CHECK(reopened->contains(id("04A1")));
}
