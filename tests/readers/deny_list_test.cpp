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
