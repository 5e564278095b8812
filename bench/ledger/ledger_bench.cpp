// Ledger bench: durable fare transfers per second for synced batches of 1, 64,
// 256 and 1024 transfers on a ledger of 1.3M cards, against a naive layout
// measured in the same run (per transfer: Get the card record, then Put card
// record, transfer and idempotency key; one synced WriteBatch per batch).
//
//   ledger_bench [--cards N] [--seconds S] [--dir DIR] [--out FILE.json] [--table FILE.dat] [--ours-only]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "ledger/ledger.h"
#include "ledger/system_accounts.h"
#include "machine.h"

using namespace citycard;
using Clock = std::chrono::steady_clock;

namespace {

struct Config {
  std::size_t cards = 1'300'000;
  double seconds = 4.0;
  std::string dir;
  std::string out = "bench/results/ledger.json";
  std::string table = "bench/results/ledger.dat";
  bool naive = true;  // --ours-only skips the baseline (for profiling)
};

struct Measurement {
  double transfers_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  std::size_t transfers = 0;
};

constexpr std::size_t operator_count = 20;
constexpr std::size_t batch_sizes[] = {1, 64, 256, 1024};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

Measurement summarize(const std::vector<double>& commit_ms, std::size_t transfers, double elapsed_s) {
  return {static_cast<double>(transfers) / elapsed_s, percentile(commit_ms, 0.50), percentile(commit_ms, 0.99), transfers};
}

CardId card_id(std::size_t index) {
  std::uint8_t bytes[7] = {0x04, 0, 0, 0, 0, 0, 0x80};
  for (int i = 5; i >= 1; --i) { bytes[i] = static_cast<std::uint8_t>(index & 0xFF); index >>= 8; }
  return CardId::from_bytes(bytes, sizeof bytes);
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "ledger_bench: %s\n", what.c_str());
  std::exit(1);
}

// --- our ledger ------------------------------------------------------------

struct OurSide {
  std::unique_ptr<ledger::Ledger> ledger;
  std::vector<AccountId> wallets;
  std::vector<AccountId> payables;
};

OurSide build_ours(const std::string& path, std::size_t cards) {
  OurSide side;
  ledger::Options options;
  options.create_if_missing = true;
  auto opened = ledger::Ledger::open(path, options);
  if (!opened) die(opened.status().to_string());
  side.ledger = std::move(*opened);
  auto system = ledger::ensure_system_accounts(*side.ledger);
  if (!system) die(system.status().to_string());
  for (std::uint32_t op = 1; op <= operator_count; ++op) {
    auto record = side.ledger->register_operator(OperatorId{op}, "operator " + std::to_string(op));
    if (!record) die(record.status().to_string());
    side.payables.push_back(record->payable_account);
  }
  for (std::size_t start = 0; start < cards; start += 10'000) {
    std::vector<ledger::NewCard> batch;
    for (std::size_t i = start; i < std::min(cards, start + 10'000); ++i) {
      ledger::NewCard card;
      card.card = card_id(i);
      card.wallet_ceiling_minor = 1'000'000'000;
      batch.push_back(card);
    }
    auto issued = side.ledger->issue_cards(batch);
    if (!issued) die(issued.status().to_string());
    for (const auto& record : *issued) side.wallets.push_back(record.wallet_account);
  }
  // Fund every wallet: groups of 16 top-ups.
  std::vector<ledger::PostingGroup> batch;
  std::uint64_t group_sequence = 0;
  for (std::size_t i = 0; i < side.wallets.size(); i += 16) {
    ledger::PostingGroup group;
    group.key = IdempotencyKey{Origin::system, 1, group_sequence++};
    for (std::size_t j = i; j < std::min(side.wallets.size(), i + 16); ++j) {
      Transfer transfer;
      transfer.debit_account = system->topup_float;
      transfer.credit_account = side.wallets[j];
      transfer.amount_minor = 100'000;
      transfer.code = TransferCode::top_up;
      transfer.mode = Mode::top_up;
      group.transfers.push_back(transfer);
    }
    batch.push_back(std::move(group));
    if (batch.size() == 1024 || i + 16 >= side.wallets.size()) {
      auto posted = side.ledger->post(batch);
      if (!posted) die(posted.status().to_string());
      batch.clear();
    }
  }
  return side;
}

Measurement run_ours(OurSide& side, std::size_t batch_size, double seconds, std::uint32_t reader, std::mt19937_64& random) {
  std::vector<double> commit_ms;
  std::size_t transfers = 0;
  std::uint64_t sequence = 0;
  std::vector<ledger::PostingGroup> batch(batch_size);
  for (auto& group : batch) group.transfers.resize(1);
  auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    for (auto& group : batch) {
      group.key = IdempotencyKey::for_tap(TapId{ReaderId{reader}, ++sequence});
      Transfer& fare = group.transfers[0];
      fare.debit_account = side.wallets[random() % side.wallets.size()];
      std::size_t op = random() % side.payables.size();
      fare.credit_account = side.payables[op];
      fare.operator_id = OperatorId{static_cast<std::uint32_t>(op + 1)};
      fare.amount_minor = 1 + static_cast<std::int64_t>(random() % 30);
      fare.code = TransferCode::fare;
      fare.mode = Mode::bus_board;
      fare.event_time = EventTime{1'763'800'000'000'000 + static_cast<std::int64_t>(sequence)};
    }
    auto before = Clock::now();
    auto outcomes = side.ledger->post(batch);
    commit_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - before).count());
    if (!outcomes) die(outcomes.status().to_string());
    for (const auto& outcome : *outcomes) {
      if (!outcome.posted || outcome.duplicate) die("fare not posted: " + outcome.reason.to_string());
    }
    transfers += batch_size;
  }
  return summarize(commit_ms, transfers, std::chrono::duration<double>(Clock::now() - start).count());
}

// --- the naive layout ------------------------------------------------------

struct NaiveSide {
  std::unique_ptr<rocksdb::DB> db;
  std::size_t cards = 0;
};

std::string naive_card_key(std::size_t index) { return "c" + card_id(index).to_string(); }

NaiveSide build_naive(const std::string& path, std::size_t cards) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  auto status = rocksdb::DB::Open(options, path, &raw);
  if (!status.ok()) die("naive open: " + status.ToString());
  NaiveSide side;
  side.db.reset(raw);
  side.cards = cards;
  rocksdb::WriteBatch batch;
  for (std::size_t i = 0; i < cards; ++i) {
    std::int64_t balance = 100'000;
    std::string record(48, '\0');  // balance, category, status, accounts, counters
    std::memcpy(record.data(), &balance, sizeof balance);
    batch.Put(naive_card_key(i), record);
    if (batch.Count() == 10'000 || i + 1 == cards) {
      status = side.db->Write(rocksdb::WriteOptions(), &batch);
      if (!status.ok()) die("naive load: " + status.ToString());
      batch.Clear();
    }
  }
  side.db->Flush(rocksdb::FlushOptions());
  return side;
}

Measurement run_naive(NaiveSide& side, std::size_t batch_size, double seconds, std::uint32_t reader, std::mt19937_64& random) {
  std::vector<double> commit_ms;
  std::size_t transfers = 0;
  std::uint64_t sequence = 0;
  static std::uint64_t transfer_sequence = 0;
  rocksdb::WriteOptions write;
  write.sync = true;
  std::string record;
  auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    auto before = Clock::now();
    rocksdb::WriteBatch batch;
    for (std::size_t i = 0; i < batch_size; ++i) {
      std::string key = naive_card_key(random() % side.cards);
      auto status = side.db->Get(rocksdb::ReadOptions(), key, &record);
      if (!status.ok()) die("naive get: " + status.ToString());
      std::int64_t balance = 0;
      std::memcpy(&balance, record.data(), sizeof balance);
      balance -= 1 + static_cast<std::int64_t>(random() % 30);
      std::memcpy(record.data(), &balance, sizeof balance);
      batch.Put(key, record);
      char transfer_key[9] = {'t'};
      std::uint64_t id = ++transfer_sequence;
      for (int b = 8; b >= 1; --b) { transfer_key[b] = static_cast<char>(id & 0xFF); id >>= 8; }
      batch.Put(rocksdb::Slice(transfer_key, 9), std::string(64, 'x'));
      batch.Put("i" + std::to_string(reader) + ":" + std::to_string(++sequence), rocksdb::Slice(transfer_key, 9));
    }
    auto status = side.db->Write(write, &batch);
    if (!status.ok()) die("naive write: " + status.ToString());
    commit_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - before).count());
    transfers += batch_size;
  }
  return summarize(commit_ms, transfers, std::chrono::duration<double>(Clock::now() - start).count());
}

Config parse(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + arg);
      return argv[++i];
    };
    if (arg == "--cards") config.cards = std::stoul(next());
    else if (arg == "--seconds") config.seconds = std::stod(next());
    else if (arg == "--dir") config.dir = next();
    else if (arg == "--out") config.out = next();
    else if (arg == "--table") config.table = next();
    else if (arg == "--ours-only") config.naive = false;
    else die("unknown argument " + arg + " (--cards N --seconds S --dir DIR --out FILE --table FILE --ours-only)");
  }
  if (config.cards == 0) die("--cards must be positive");
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  Config config = parse(argc, argv);
  auto machine = bench::describe_machine();
  std::printf("ledger bench on %s\n", bench::machine_line(machine).c_str());
  namespace fs = std::filesystem;
  fs::path dir = config.dir.empty() ? fs::temp_directory_path() / ("citycard-ledger-bench-" + std::to_string(::getpid()))
                                    : fs::path(config.dir);
  fs::remove_all(dir);
  fs::create_directories(dir);

  auto setup_start = Clock::now();
  OurSide ours = build_ours((dir / "ours").string(), config.cards);
  NaiveSide naive = config.naive ? build_naive((dir / "naive").string(), config.cards) : NaiveSide{};
  std::printf("setup: %zu cards in each store, %.1f s (not measured)\n", config.cards,
              std::chrono::duration<double>(Clock::now() - setup_start).count());
  std::printf("%8s | %12s %9s %9s | %12s %9s %9s | %6s\n", "batch", "ours tx/s", "p50 ms", "p99 ms", "naive tx/s",
              "p50 ms", "p99 ms", "ratio");

  std::mt19937_64 random(7);
  std::string rows;
  std::ofstream table(config.table);
  table << "# batch ours_tps naive_tps ours_p50_ms ours_p99_ms naive_p50_ms naive_p99_ms\n";
  std::uint32_t reader = 1000;
  for (std::size_t batch_size : batch_sizes) {
    Measurement naive_result = config.naive ? run_naive(naive, batch_size, config.seconds, reader, random) : Measurement{1, 0, 0, 0};
    Measurement ours_result = run_ours(ours, batch_size, config.seconds, reader, random);
    ++reader;
    double ratio = ours_result.transfers_per_second / naive_result.transfers_per_second;
    std::printf("%8zu | %12.0f %9.2f %9.2f | %12.0f %9.2f %9.2f | %5.1fx\n", batch_size,
                ours_result.transfers_per_second, ours_result.p50_ms, ours_result.p99_ms,
                naive_result.transfers_per_second, naive_result.p50_ms, naive_result.p99_ms, ratio);
    std::fflush(stdout);
    table << batch_size << " " << ours_result.transfers_per_second << " " << naive_result.transfers_per_second << " "
          << ours_result.p50_ms << " " << ours_result.p99_ms << " " << naive_result.p50_ms << " " << naive_result.p99_ms
          << "\n";
    char row[512];
    std::snprintf(row, sizeof row,
                  "%s{\"batch\":%zu,\"ours\":{\"transfers_per_second\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"transfers\":%zu},"
                  "\"naive\":{\"transfers_per_second\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"transfers\":%zu},\"ratio\":%.2f}",
                  rows.empty() ? "" : ",", batch_size, ours_result.transfers_per_second, ours_result.p50_ms,
                  ours_result.p99_ms, ours_result.transfers, naive_result.transfers_per_second, naive_result.p50_ms,
                  naive_result.p99_ms, naive_result.transfers, ratio);
    rows += row;
  }

  auto report = ours.ledger->verify();
  std::printf("verify after the run: %s (%llu transfers)\n", report.ok() ? "OK" : "PROBLEMS",
              static_cast<unsigned long long>(report.transfers));
  std::ofstream out(config.out);
  out << "{\"bench\":\"ledger\",\"machine\":" << bench::machine_json(machine) << ",\"cards\":" << config.cards
      << ",\"seconds_per_run\":" << config.seconds << ",\"durability\":\"WAL fsync per batch (WriteOptions::sync)\""
      << ",\"results\":[" << rows << "],\"verify_ok\":" << (report.ok() ? "true" : "false") << "}\n";
  std::printf("wrote %s and %s\n", config.out.c_str(), config.table.c_str());
  ours.ledger.reset();
  naive.db.reset();
  if (config.dir.empty()) fs::remove_all(dir);
  return report.ok() ? 0 : 1;
}
