// MemoryDenyList: deltas, snapshots in pages that stay one consistent set
// while the list changes, the fall back when a snapshot is gone, restore.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <random>
#include <set>

#include "engine/net/memory_deny_list.h"

using namespace citycard;
using namespace citycard::net;
using protocol::DenyListDelta;
using protocol::DenyListRequest;

namespace {

CardId card(std::uint32_t n) { return *CardId::parse(fmt::format("05{:08X}", n)); }

// What a reader does: pages until the last, then deltas until current.
// Returns the set it ends with and its version; counts the frames.
struct Reader {
  std::uint64_t version = 0;
  std::set<CardId> cards;
  std::uint64_t snapshot_version = 0;
  std::vector<CardId> pending;
  int frames = 0;

  // One request and its answer applied; false once nothing more follows.
  bool step(const MemoryDenyList& list, std::size_t cards_max) {
    DenyListRequest request{version, 0, {}};
    if (!pending.empty()) request = DenyListRequest{version, snapshot_version, pending.back()};
    DenyListDelta delta = list.answer(request, cards_max);
    ++frames;
    const bool full = (delta.flags & DenyListDelta::flag_full) != 0;
    const bool more = (delta.flags & DenyListDelta::flag_more) != 0;
    const bool page = (delta.flags & DenyListDelta::flag_page) != 0;
    REQUIRE(delta.added.size() + delta.removed.size() <= cards_max);
    if (full || page) {
      REQUIRE(delta.from_version == 0);
      REQUIRE(delta.removed.empty());
      REQUIRE(std::is_sorted(delta.added.begin(), delta.added.end()));
      if (full) pending.clear();
      if (page) {
        REQUIRE(delta.to_version == snapshot_version);
        REQUIRE(!delta.added.empty());
        REQUIRE(pending.back() < delta.added.front());
      }
      snapshot_version = delta.to_version;
      pending.insert(pending.end(), delta.added.begin(), delta.added.end());
      if (!more) {
        cards = std::set<CardId>(pending.begin(), pending.end());
        version = snapshot_version;
        pending.clear();
      }
      return more;
    }
    pending.clear();
    REQUIRE(delta.from_version == version);
    for (const CardId& gone : delta.removed) cards.erase(gone);
    cards.insert(delta.added.begin(), delta.added.end());
    version = delta.to_version;
    return more;
  }
};

std::set<CardId> set_of(const MemoryDenyList& list) {
  auto contents = list.contents();
  return std::set<CardId>(contents.cards.begin(), contents.cards.end());
}

}  // namespace

TEST_CASE("a snapshot larger than a frame comes in pages that together hold the whole set") {
  MemoryDenyList list;
  for (std::uint32_t i = 0; i < 5000; ++i) list.add(card(i * 7));
  Reader reader;
  DenyListDelta first = list.answer(DenyListRequest{0, 0, {}}, 2048);
  CHECK(first.flags == (DenyListDelta::flag_full | DenyListDelta::flag_more));
  CHECK(first.added.size() == 2048);
  while (reader.step(list, 2048)) {
  }
  CHECK(reader.frames == 3);  // 2048 + 2048 + 904
  CHECK(reader.version == list.current_version());
  CHECK(reader.cards == set_of(list));
  // Current: an empty delta.
  DenyListDelta none = list.answer(DenyListRequest{reader.version, 0, {}}, 2048);
  CHECK(none.from_version == none.to_version);
  CHECK(none.added.empty());
  CHECK(none.removed.empty());
  CHECK(none.flags == 0);
}

TEST_CASE("a snapshot of exactly one frame is one frame without more") {
  MemoryDenyList list;
  for (std::uint32_t i = 0; i < 2048; ++i) list.add(card(i));
  DenyListDelta first = list.answer(DenyListRequest{0, 0, {}}, 2048);
  CHECK(first.flags == DenyListDelta::flag_full);
  CHECK(first.added.size() == 2048);
}

TEST_CASE("pages keep to the snapshot's version while the list changes, and the delta after it brings the rest") {
  MemoryDenyList list;
  for (std::uint32_t i = 0; i < 6000; ++i) list.add(card(i));
  Reader reader;
  REQUIRE(reader.step(list, 2048));
  const std::uint64_t snapshot = reader.snapshot_version;
  const std::set<CardId> at_snapshot = set_of(list);
  // Changes on both sides of the reader's cursor, some undone again.
  list.remove(card(10));      // already received
  list.remove(card(4000));    // not yet received: still due in the snapshot
  list.add(card(7000));       // new, after the cursor: not in the snapshot
  list.add(card(3000 + 100'000));
  list.remove(card(5000));
  list.add(card(5000));       // removed and back: unchanged at the snapshot
  list.add(card(9000));
  list.remove(card(9000));    // added and gone: never in the snapshot
  while (reader.step(list, 2048)) {
    if (reader.frames == 2) list.remove(card(5999));  // between pages
  }
  REQUIRE(reader.version == snapshot);
  CHECK(reader.cards == at_snapshot);
  // Now the delta from the snapshot brings the reader to the current set.
  while (reader.step(list, 2048)) {
  }
  CHECK(reader.version == list.current_version());
  CHECK(reader.cards == set_of(list));
  CHECK_FALSE(reader.cards.contains(card(4000)));
  CHECK(reader.cards.contains(card(7000)));
}

TEST_CASE("a snapshot that left the history is answered as the request's version alone") {
  MemoryDenyList list(100);
  for (std::uint32_t i = 0; i < 3000; ++i) list.add(card(i));
  Reader reader;
  REQUIRE(reader.step(list, 2048));
  const std::uint64_t old_snapshot = reader.snapshot_version;
  for (std::uint32_t i = 0; i < 150; ++i) list.add(card(10'000 + i));  // the snapshot's version is gone
  DenyListDelta answer = list.answer(DenyListRequest{0, old_snapshot, reader.pending.back()}, 2048);
  CHECK((answer.flags & DenyListDelta::flag_full) != 0);   // a new snapshot from the start
  CHECK((answer.flags & DenyListDelta::flag_page) == 0);
  CHECK(answer.to_version == list.current_version());
  while (reader.step(list, 2048)) {
  }
  CHECK(reader.cards == set_of(list));
  // A reader with a recent complete list gets its delta instead.
  const std::uint64_t recent = list.current_version();
  list.add(card(20'000));
  answer = list.answer(DenyListRequest{recent, old_snapshot, card(5)}, 2048);
  CHECK(answer.flags == 0);
  CHECK(answer.from_version == recent);
  CHECK(answer.added == std::vector<CardId>{card(20'000)});
}

TEST_CASE("random changes between pages and deltas: the reader always ends with the list's set") {
  const auto seed = static_cast<std::uint32_t>(std::random_device{}());
  INFO("seed " << seed);
  std::mt19937 random(seed);
  for (int round = 0; round < 20; ++round) {
    MemoryDenyList list(random() % 2 == 0 ? 100'000 : 300);
    for (std::uint32_t i = 0; i < 4000; ++i) list.add(card(random() % 20'000));
    Reader reader;
    const std::size_t cards_max = 64 + random() % 1000;
    for (int step = 0; step < 200; ++step) {
      const int changes = static_cast<int>(random() % 40);
      for (int c = 0; c < changes; ++c) {
        CardId which = card(random() % 20'000);
        if (random() % 2 == 0) list.add(which); else list.remove(which);
      }
      reader.step(list, cards_max);
    }
    while (reader.step(list, cards_max)) {
    }
    if (!reader.pending.empty() || reader.version != list.current_version()) {
      while (reader.step(list, cards_max)) {
      }
    }
    INFO("round " << round);
    CHECK(reader.version == list.current_version());
    CHECK(reader.cards == set_of(list));
  }
}

TEST_CASE("restore takes a consistent history and refuses one that does not lead to the set") {
  MemoryDenyList list;
  list.add(card(1));
  list.add(card(2));
  list.remove(card(1));
  auto contents = list.contents();
  REQUIRE(contents.version == 3);
  REQUIRE(contents.history.size() == 3);

  MemoryDenyList copy;
  REQUIRE(copy.restore(contents).is_ok());
  CHECK(copy.current_version() == 3);
  CHECK(copy.delta_since(1, 10).removed == std::vector<CardId>{card(1)});
  CHECK(copy.delta_since(1, 10).added == std::vector<CardId>{card(2)});

  auto broken = contents;
  broken.history[1].version = 7;
  CHECK(copy.restore(broken).code() == StatusCode::invalid_argument);
  broken = contents;
  broken.history[2].added = true;  // "added card 1" but card 1 is not in the set
  CHECK(copy.restore(broken).code() == StatusCode::invalid_argument);
  broken = contents;
  broken.history.push_back({4, card(3), true});
  CHECK(copy.restore(broken).code() == StatusCode::invalid_argument);
  CHECK(copy.current_version() == 3);  // nothing changed
  CHECK(copy.contents().cards == std::vector<CardId>{card(2)});

  // A restored list goes on from its version.
  CHECK(copy.add(card(9)) == 4);
}
