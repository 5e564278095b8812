// Closing a business day of many taps: how long, and how much memory.
//
//   bench_settlement [--taps N] [--cards N] [--operators N] [--dir DIR] [--keep]
//
// Builds a ledger of N taps through post() in batches of limits::batch_groups_max
// (not timed), then times settlement close, verify and regenerate of that day,
// and prints the machine, the figures and the peak RSS before and after the
// close. Writes bench/results/settlement.json.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "citycard/limits.h"
#include "citycard/programme.h"
#include "ledger/ledger.h"
#include "ledger/system_accounts.h"
#include "settlement/ack.h"
#include "settlement/keys.h"
#include "settlement/settlement.h"

using namespace citycard;
namespace st = citycard::settlement;

namespace {

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

long current_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

[[noreturn]] void die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "bench_settlement: %s: %s\n", what.c_str(), status.to_string().c_str());
  std::exit(1);
}

template <typename T>
T must(Result<T> result, const std::string& what) {
  if (!result) die(what, result.status());
  return std::move(result.value());
}

void post_all(ledger::Ledger& ledger, std::vector<ledger::PostingGroup>& batch) {
  auto outcomes = must(ledger.post(batch), "post");
  for (const auto& outcome : outcomes)
    if (!outcome.posted) die("a group was refused", outcome.reason);
  batch.clear();
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t taps = 1'000'000;
  std::uint64_t card_count = 100'000;
  std::uint32_t operator_count = 8;
  std::string base = "/tmp";
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (arg == "--taps") taps = std::stoull(next());
    else if (arg == "--cards") card_count = std::stoull(next());
    else if (arg == "--operators") operator_count = static_cast<std::uint32_t>(std::stoul(next()));
    else if (arg == "--dir") base = next();
    else if (arg == "--keep") keep = true;
    else {
      std::fprintf(stderr, "usage: bench_settlement [--taps N] [--cards N] [--operators N] [--dir DIR] [--keep]\n");
      return 2;
    }
  }
  const std::string root = fmt::format("{}/citycard-settlement-bench-{}", base, ::getpid());
  std::filesystem::create_directories(root);

  // ---- build the day (not timed) -------------------------------------------
  auto build_start = std::chrono::steady_clock::now();
  ledger::Options ledger_options;
  ledger_options.create_if_missing = true;
  auto ledger = must(ledger::Ledger::open(root + "/ledger", ledger_options), "open ledger");
  auto system = must(ledger::ensure_system_accounts(*ledger), "system accounts");
  std::vector<ledger::OperatorRecord> operators;
  for (std::uint32_t op = 1; op <= operator_count; ++op)
    operators.push_back(must(ledger->register_operator(OperatorId{op}, fmt::format("Operator {}", op)), "operator"));
  std::vector<CardRecord> cards;
  for (std::uint64_t first = 0; first < card_count; first += 10'000) {
    std::vector<ledger::NewCard> batch;
    for (std::uint64_t i = first; i < std::min(card_count, first + 10'000); ++i) {
      ledger::NewCard card;
      std::uint8_t uid[7] = {0x04, 0, 0, static_cast<std::uint8_t>(i >> 24), static_cast<std::uint8_t>(i >> 16),
                             static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
      card.card = CardId::from_bytes(uid, sizeof uid);
      card.overdraft_minor = 100'000'000;  // the bench measures settlement, not wallet limits
      batch.push_back(card);
    }
    auto issued = must(ledger->issue_cards(batch), "issue cards");
    cards.insert(cards.end(), issued.begin(), issued.end());
  }
  const st::BusinessDay day = *st::BusinessDay::parse("2024-03-05");
  const st::DayConfig config;
  const EventTime day_begins = st::day_start(day, config);
  std::vector<ledger::PostingGroup> batch;
  batch.reserve(limits::batch_groups_max);
  for (std::uint64_t n = 0; n < taps; ++n) {
    const auto& op = operators[n % operators.size()];
    ledger::PostingGroup group;
    group.key = IdempotencyKey::for_tap({ReaderId{static_cast<std::uint32_t>(1000 + n % 500)}, n / 500 + 1});
    Transfer fare;
    fare.debit_account = cards[(n * 7919) % cards.size()].wallet_account;
    fare.credit_account = op.payable_account;
    fare.amount_minor = 15 + static_cast<std::int64_t>(n % 11);
    fare.code = TransferCode::fare;
    fare.flags = transfer_flag_service_given;
    // Spread over the day; every 50th tap belongs to the next day (posted before the close).
    const std::int64_t offset_us = static_cast<std::int64_t>(n % 86'000) * us_per_second;
    fare.event_time = EventTime{day_begins.unix_us + offset_us + (n % 50 == 0 ? us_per_day : 0)};
    fare.mode = Mode::bus_board;
    fare.operator_id = op.id;
    fare.route = static_cast<std::uint32_t>(n % 300);
    fare.location = static_cast<std::uint32_t>(n % 5000);
    fare.rule_set_version = 3;
    group.transfers.push_back(fare);
    if (n % 3 == 0) {
      // What rating posts: a city programme pays from its own budget with its
      // own code (two programmes, so each file carries P records to sum).
      const Programme programme = (n / 3) % 2 == 0 ? Programme::category_fare : Programme::buy_one_get_one;
      Transfer subsidy = fare;
      subsidy.debit_account = system.budget_of(programme);
      subsidy.code = programme_code(programme);
      subsidy.flags = 0;
      group.transfers.push_back(subsidy);
    }
    batch.push_back(std::move(group));
    if (batch.size() == limits::batch_groups_max) post_all(*ledger, batch);
  }
  if (!batch.empty()) post_all(*ledger, batch);
  const double build_seconds = seconds_since(build_start);
  const std::string key_dir = root + "/keys";
  if (Status s = st::generate_keys(key_dir); !s) die("keygen", s);

  // ---- the close (timed) ---------------------------------------------------
  st::Options options;
  options.out_dir = root + "/out";
  options.key_dir = key_dir;
  st::Settlement settlement(*ledger, options);
  const long rss_before_kib = current_rss_kib();
  const long peak_before_kib = peak_rss_kib();
  auto close_start = std::chrono::steady_clock::now();
  auto summary = must(settlement.close(day, *st::parse_time("2024-03-06T03:30:00+08:00")), "close");
  const double close_seconds = seconds_since(close_start);
  const long peak_after_kib = peak_rss_kib();
  const long rss_after_kib = current_rss_kib();

  auto verify_start = std::chrono::steady_clock::now();
  auto report = must(settlement.verify(day), "verify");
  const double verify_seconds = seconds_since(verify_start);
  auto regenerate_start = std::chrono::steady_clock::now();
  auto regenerated = must(settlement.regenerate(day), "regenerate");
  const double regenerate_seconds = seconds_since(regenerate_start);
  std::uintmax_t file_bytes = 0;
  for (const auto& b : summary.batches) file_bytes += std::filesystem::file_size(b.path);

  const std::string machine = fmt::format("{}, nproc {}", cpu_model(), std::thread::hardware_concurrency());
  std::printf("machine: %s\n", machine.c_str());
  std::printf("ledger: %llu taps, %llu transfers, %llu cards, %u operators (built in %.1f s, not timed)\n",
              static_cast<unsigned long long>(taps), static_cast<unsigned long long>(ledger->last_sequence()),
              static_cast<unsigned long long>(card_count), operator_count, build_seconds);
  std::printf("close:      %.2f s  (%llu transfers scanned, %llu lines, %.0f lines/s, %.1f MB of files)\n", close_seconds,
              static_cast<unsigned long long>(summary.close.transfers_scanned), static_cast<unsigned long long>(summary.total.lines),
              static_cast<double>(summary.total.lines) / close_seconds, static_cast<double>(file_bytes) / 1e6);
  std::printf("verify:     %.2f s  (%s)\n", verify_seconds, report.ok() ? "reconciles" : "PROBLEMS");
  std::printf("regenerate: %.2f s  (byte-identical to the close: every digest matched, %zu files)\n", regenerate_seconds, regenerated.batches.size());
  std::printf("memory: RSS %ld -> %ld KiB across the close; peak RSS %ld -> %ld KiB\n", rss_before_kib, rss_after_kib,
              peak_before_kib, peak_after_kib);

  const std::string json = fmt::format(
      "{{\n  \"bench\": \"settlement close\",\n  \"machine\": \"{}\",\n  \"taps\": {},\n  \"transfers\": {},\n"
      "  \"cards\": {},\n  \"operators\": {},\n  \"lines\": {},\n  \"close_seconds\": {:.3f},\n  \"verify_seconds\": {:.3f},\n"
      "  \"regenerate_seconds\": {:.3f},\n  \"file_bytes\": {},\n  \"rss_before_close_kib\": {},\n  \"rss_after_close_kib\": {},\n"
      "  \"peak_rss_before_close_kib\": {},\n  \"peak_rss_after_close_kib\": {},\n  \"reconciles\": {}\n}}\n",
      machine, taps, ledger->last_sequence(), card_count, operator_count, summary.total.lines, close_seconds, verify_seconds,
      regenerate_seconds, file_bytes, rss_before_kib, rss_after_kib, peak_before_kib, peak_after_kib, report.ok() ? "true" : "false");
  const std::string results = std::string(CITYCARD_SOURCE_DIR) + "/bench/results/settlement.json";
  std::filesystem::create_directories(std::string(CITYCARD_SOURCE_DIR) + "/bench/results");
  std::ofstream(results) << json;
  std::printf("wrote %s\n", results.c_str());
  ledger.reset();
  if (!keep) std::filesystem::remove_all(root);
  return report.ok() ? 0 : 1;
}
