// The shard's card table read at random (issue 20): what a card's dependent
// reads cost (its table slot, its entry, its account's slot, the account's
// state: CardBook's four), with and without the shard's staged hints
// (engine::prefetch_cards_ahead, as CardBook uses them: the slot four cards
// ahead, the entry three, the account's slot and mirrors two, the state
// one), in a loop with little work a card (as
// the shard's settle) and one with a rating's worth of it, on the engine's
// huge page heap or on tcmalloc's own. Rounds alternate the variants; the
// median of each is printed and written (--json).
//   bench_card_table [--cards N] [--lookups N] [--rounds N] [--no-huge-page-heap] [--json FILE]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/huge_page_heap.h"
#include "engine/groups/card_book.h"
#include "machine.h"

using namespace citycard;
using engine::AccountSlot;
using engine::CardEntry;
using Clock = std::chrono::steady_clock;

namespace {

struct Book {
  engine::CardTable<CardEntry> cards;
  std::vector<std::unique_ptr<AccountSlot>> accounts;
  std::vector<std::unique_ptr<engine::AccountMirror>> mirrors;
  std::vector<CardId> ids;
};

// A city's cards, each with an account slot of its own holding a state of
// about the engine's size (~100 bytes) and mirrors of its wallet and points
// balances, allocated in issue order as the book's are when cards are loaded.
Book make_book(std::size_t cards, std::mt19937_64& random) {
  Book book;
  book.ids.reserve(cards);
  while (book.ids.size() < cards) {
    std::uint8_t bytes[7];
    for (auto& byte : bytes) byte = static_cast<std::uint8_t>(random());
    const CardId id = CardId::from_bytes(bytes, sizeof bytes);
    if (book.cards.contains(id)) continue;
    auto slot = std::make_unique<AccountSlot>();
    slot->state.assign(96 + random() % 16, static_cast<char>(random()));
    slot->media.push_back(id);
    CardEntry entry;
    entry.record.card = id;
    entry.account = slot.get();
    for (engine::AccountMirror** mirror : {&entry.wallet, &entry.points}) {
      book.mirrors.push_back(std::make_unique<engine::AccountMirror>());
      *mirror = book.mirrors.back().get();
    }
    book.accounts.push_back(std::move(slot));
    book.cards.insert(id, std::move(entry));
    book.ids.push_back(id);
  }
  return book;
}

// Nanoseconds a card: each card's reads, then `work` dependent
// multiply-adds (about 4 cycles each) standing in for what is done with it.
double run(const Book& book, const std::vector<CardId>& order, bool hints, int work) {
  const auto start = Clock::now();
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (hints) engine::prefetch_cards_ahead(book.cards, i, order.size(), [&order](std::size_t at) { return &order[at]; });
    const CardEntry* entry = book.cards.find(order[i]);
    sum += entry->record.card.size() + static_cast<unsigned char>(entry->account->state[0]) +
           static_cast<std::uint64_t>(entry->wallet->balance_minor + entry->points->balance_minor);
    for (int k = 0; k < work; ++k) sum = sum * 6364136223846793005ULL + static_cast<std::uint64_t>(k);
  }
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
  if (sum == 42) std::cerr << "";  // keeps the loop's result alive
  return ns / static_cast<double>(order.size());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_card_table: the shard's card table read at random, with and without its staged hints"};
  std::size_t cards = 1'307'000, lookups = 2'000'000, rounds = 5;
  bool no_huge_page_heap = false;
  std::string json_path = "bench/results/card-table.json";
  app.add_option("--cards", cards, "cards in the table (default 1307000)");
  app.add_option("--lookups", lookups, "cards read a run, at random (default 2000000)");
  app.add_option("--rounds", rounds, "rounds, each running every variant once (default 5)")->check(CLI::Range(1, 50));
  app.add_flag("--no-huge-page-heap", no_huge_page_heap, "tcmalloc's own heap, not the engine's huge page heap");
  app.add_option("--json", json_path, "results file (default bench/results/card-table.json)");
  CLI11_PARSE(app, argc, argv);
  if (cards == 0 || lookups == 0) {
    std::cerr << "bench_card_table: --cards and --lookups must be at least 1\n";
    return 2;
  }

  const bench::Machine machine = bench::describe_machine();
  std::cout << "machine: " << bench::machine_line(machine) << "\n";
  std::string heap = "tcmalloc_default";
  if (!no_huge_page_heap) {
    if (Status installed = engine::install_huge_page_heap(); installed) heap = "huge_pages";
    else std::cout << "huge page heap not installed: " << installed.to_string() << "\n";
  }
  std::cout << "heap: " << heap << "\n";

  std::mt19937_64 random(20);
  const auto built = Clock::now();
  const Book book = make_book(cards, random);
  std::vector<CardId> order(lookups);
  for (auto& card : order) card = book.ids[random() % book.ids.size()];
  std::cout << fmt::format("{} cards, entries of {} bytes, built in {:.1f} s; {} lookups a run, {} rounds\n", cards,
                           sizeof(std::pair<CardId, CardEntry>),
                           std::chrono::duration<double>(Clock::now() - built).count(), lookups, rounds);

  struct Variant {
    const char* name;
    bool hints;
    int work;
    std::vector<double> ns;
  };
  std::vector<Variant> variants = {{"short work, no hints", false, 20, {}},
                                   {"short work, hints", true, 20, {}},
                                   {"rating's work, no hints", false, 600, {}},
                                   {"rating's work, hints", true, 600, {}}};
  for (std::size_t round = 0; round < rounds; ++round) {
    for (auto& variant : variants) variant.ns.push_back(run(book, order, variant.hints, variant.work));
  }

  nlohmann::json results;
  results["machine"] = nlohmann::json::parse(bench::machine_json(machine));
  results["heap"] = heap;
  results["cards"] = cards;
  results["lookups_per_run"] = lookups;
  results["rounds"] = rounds;
  std::cout << "ns a card, median of the rounds (min - max):\n";
  for (auto& variant : variants) {
    std::vector<double> sorted = variant.ns;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];
    std::cout << fmt::format("  {:<26} {:7.1f}  ({:.1f} - {:.1f})\n", variant.name, median, sorted.front(), sorted.back());
    results["variants"].push_back({{"name", variant.name}, {"hints", variant.hints}, {"work_steps", variant.work},
                                   {"ns_per_card_median", median}, {"ns_per_card_runs", variant.ns}});
  }
  for (std::size_t i = 0; i + 1 < variants.size(); i += 2) {
    std::vector<double> without = variants[i].ns, with = variants[i + 1].ns;
    std::sort(without.begin(), without.end());
    std::sort(with.begin(), with.end());
    std::cout << fmt::format("  {}: hints x{:.3f}\n", variants[i].work == 20 ? "short work" : "rating's work",
                             with[with.size() / 2] / without[without.size() / 2]);
  }
  std::ofstream(json_path) << results.dump(2) << "\n";
  std::cout << "results: " << json_path << "\n";
  return 0;
}
