// Sequence numbers: never repeated across restarts, blocks reserved durably.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "sequence.h"
#include "temp_dir.h"

using namespace citycard;
using namespace citycard::agent;
using citycard::test::TempDir;

TEST_CASE("sequence: starts at 1 and counts up", "[agent][sequence]") {
  TempDir dir;
  auto allocator = SequenceAllocator::open(dir.file("sequence"), 1, SequenceOptions{10});
  REQUIRE(allocator.has_value());
  for (std::uint64_t expected = 1; expected <= 25; ++expected) CHECK(*allocator->next() == expected);
  CHECK(allocator->reserved_until() == 31);
}

TEST_CASE("sequence: a restart skips to the end of the reserved block, never back", "[agent][sequence]") {
  TempDir dir;
  std::set<std::uint64_t> seen;
  for (int restart = 0; restart < 5; ++restart) {
    auto allocator = SequenceAllocator::open(dir.file("sequence"), 1, SequenceOptions{10});
    REQUIRE(allocator.has_value());
    for (int i = 0; i < 3 + restart * 7; ++i) {
      auto number = allocator->next();
      REQUIRE(number.has_value());
      CHECK(seen.insert(*number).second);
    }
  }
  auto allocator = SequenceAllocator::open(dir.file("sequence"), 1, SequenceOptions{10});
  CHECK(*allocator->next() > *seen.rbegin());
}

TEST_CASE("sequence: the floor wins over a lost or older file", "[agent][sequence]") {
  TempDir dir;
  auto allocator = SequenceAllocator::open(dir.file("sequence"), 5001, SequenceOptions{10});
  REQUIRE(allocator.has_value());
  CHECK(*allocator->next() == 5001);
}

TEST_CASE("sequence: a damaged file is refused instead of guessed", "[agent][sequence]") {
  TempDir dir;
  {
    auto allocator = SequenceAllocator::open(dir.file("sequence"));
    REQUIRE(allocator->next().has_value());
  }
  std::fstream file(dir.file("sequence"), std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(8);
  file.put('\x55');
  file.close();
  CHECK(SequenceAllocator::open(dir.file("sequence")).status().code() == StatusCode::corruption);
}

TEST_CASE("sequence: without a file numbering starts where the caller says (the agent: the clock)", "[agent][sequence]") {
  TempDir dir;
  const std::uint64_t clock_us = 1'764'600'000'000'000;
  {
    auto allocator = SequenceAllocator::open(dir.file("sequence"), 1, SequenceOptions{10}, clock_us);
    REQUIRE(allocator.has_value());
    CHECK(*allocator->next() == clock_us);
  }
  // With its file it continues from the file, whatever the clock says now.
  auto again = SequenceAllocator::open(dir.file("sequence"), 1, SequenceOptions{10}, 5);
  REQUIRE(again.has_value());
  CHECK(*again->next() == clock_us + 10);
}

TEST_CASE("sequence: a floor raised by the engine is durable and never lowered", "[agent][sequence]") {
  TempDir dir;
  {
    auto allocator = SequenceAllocator::open(dir.file("sequence"), 1, SequenceOptions{10});
    REQUIRE(allocator.has_value());
    CHECK(*allocator->next() == 1);
    REQUIRE(allocator->raise_floor(900).is_ok());
    CHECK(*allocator->next() == 900);
    REQUIRE(allocator->raise_floor(50).is_ok());  // below: nothing changes
    CHECK(*allocator->next() == 901);
  }
  auto reopened = SequenceAllocator::open(dir.file("sequence"), 1, SequenceOptions{10});
  REQUIRE(reopened.has_value());
  CHECK(*reopened->next() >= 902);
}

TEST_CASE("sequence: the file keeps its bytes", "[agent][sequence]") {
  TempDir dir;
  const std::string path = dir.file("sequence");
  {
    auto allocator = SequenceAllocator::open(path, 0x0102030405060708, SequenceOptions{0x10});
    REQUIRE(allocator.has_value());
    REQUIRE(allocator->next().has_value());
  }
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string golden = "4343533101020304050607185FB47293";
  CHECK(card::to_hex(card::ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size())) == golden);
  auto reopened = SequenceAllocator::open(path, 1, SequenceOptions{0x10});
  REQUIRE(reopened.has_value());
  CHECK(*reopened->next() == 0x0102030405060718);
}
