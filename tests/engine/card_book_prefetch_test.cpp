// CardBook's prefetch hints (the shard walks its taps and settled batches
// with them): the stages reach the cards ahead at their distances, and no
// hint loads, drops or changes a card.
#include <catch2/catch.hpp>

#include <vector>

#include "engine_fixture.h"
#include "office_fixture.h"

namespace citycard::engine::testing {
namespace {
const std::string card_a = "04A1B2C3D4E5A1";
const std::string card_b = "04A1B2C3D4E5A2";
}  // namespace

TEST_CASE("prefetch_ahead hints each stage for the card as many places ahead as stages follow it") {
  TempDir dir("prefetch-plan");
  auto ledger = make_ledger(dir.path / "ledger");
  Log log(std::tmpfile());
  const CardBook book(*ledger, log, 64, false);
  const CardId card = *CardId::parse("0A0B0C0D");
  auto asked_for = [&](std::size_t at, std::size_t count, CardBook::Prefetch last) {
    std::vector<std::size_t> asked;
    book.prefetch_ahead(at, count, [&](std::size_t i) { asked.push_back(i); return &card; }, last);
    return asked;
  };
  // slot 4 ahead, entry 3, account 2, state 1.
  CHECK(asked_for(0, 10, CardBook::Prefetch::state) == std::vector<std::size_t>{4, 3, 2, 1});
  CHECK(asked_for(5, 10, CardBook::Prefetch::state) == std::vector<std::size_t>{9, 8, 7, 6});
  // Near the end only the cards that are there.
  CHECK(asked_for(7, 10, CardBook::Prefetch::state) == std::vector<std::size_t>{9, 8});
  CHECK(asked_for(9, 10, CardBook::Prefetch::state).empty());
  // Up to the account (what settling reads): slot 3 ahead, entry 2, account 1.
  CHECK(asked_for(0, 10, CardBook::Prefetch::account) == std::vector<std::size_t>{3, 2, 1});
  CHECK(asked_for(0, 1, CardBook::Prefetch::account).empty());
}

TEST_CASE("prefetch hints load, drop and change no card, cached or not") {
  TempDir dir("prefetch-book");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 5000);
  issue_card(*ledger, card_b, 700);
  OfficeDesk desk(*ledger, 0);
  desk.ride(card_a, 1);  // card_a's account has a stored rating state now
  Log log(std::tmpfile());
  CardBook book(*ledger, log, 64, false);
  auto loaded = book.load(*CardId::parse(card_a));
  REQUIRE(loaded);
  REQUIRE(*loaded != nullptr);
  const rules::CardState before = book.state_of(**loaded);
  REQUIRE(before.wallet_minor < 5000);

  const std::vector<CardId> cards{*CardId::parse(card_a), *CardId::parse(card_b), *CardId::parse("FFEE0001")};
  for (const CardId& card : cards) {
    for (auto stage : {CardBook::Prefetch::slot, CardBook::Prefetch::entry, CardBook::Prefetch::account,
                       CardBook::Prefetch::state}) {
      book.prefetch(card, stage);
    }
  }
  for (std::size_t at = 0; at < cards.size(); ++at) {
    book.prefetch_ahead(at, cards.size(), [&](std::size_t i) { return &cards[i]; });
  }
  CHECK(book.cached_count() == 1);
  CHECK(book.cached(cards[1]) == nullptr);  // card_b was not loaded by a hint
  CardEntry* entry = book.cached(cards[0]);
  REQUIRE(entry != nullptr);
  const rules::CardState after = book.state_of(*entry);
  CHECK(after.wallet_minor == before.wallet_minor);
  CHECK(rules::encode_card_state(after) == rules::encode_card_state(before));
  CHECK(entry->pending == 0);
}

}  // namespace citycard::engine::testing
