// The usage report over a month of a 1.3M-card city (issue 19): about 20M
// tap records written to a fresh ledger, then `citycard report usage --by
// mode,hour` over the month, timed as the card office would run it.
//
// The records are written straight through the ledger's record write path
// (Ledger::put_records, one synced write per batch of tap_records_per_write),
// not through the TLS engine: the bench is about the report, and a month of
// taps through the engine would take hours on this machine. They are
// generated here (splitmix64, seed fixed), not by the load simulator (whose
// default day is 5.4M taps, a month 160M): cards uniform over the roster,
// modes and local hours in the simulator's default-day proportions
// (docs/loadgen.md), 2% refused, fares of a few tens of TWD.
//
// The report runs as a child process, the real `citycard` binary, and its
// wall time and peak resident set (wait4's ru_maxrss) are measured from here.
//   bench_month_report --citycard PATH [--dir DIR] [--taps N] [--cards N] [--month YYYY-MM] [--json FILE]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "calendar.h"
#include "ledger/ledger.h"
#include "machine.h"
#include "rule_set_loader.h"
#include "tap_records.h"

namespace citycard::bench {
namespace {

constexpr std::size_t tap_records_per_write = 16384;
constexpr std::int32_t utc_offset_minutes = 480;  // Taipei, as rules/city.toml
constexpr std::int64_t minute_us = 60'000'000;

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Picks an index by weight.
template <std::size_t N>
std::size_t pick(const std::array<std::uint32_t, N>& weights, std::uint32_t total, std::uint64_t draw) {
  std::uint64_t at = draw % total;
  for (std::size_t i = 0; i < N; ++i) {
    if (at < weights[i]) return i;
    at -= weights[i];
  }
  return N - 1;
}

// The simulator's default day (thousands of taps): bus_board, bus_alight,
// metro_in, metro_out, bike_rent, bike_return, entry, pay, identify, top_up.
constexpr std::array<std::uint32_t, 10> mode_weights = {999, 999, 801, 801, 135, 135, 86, 300, 154, 987};
// By local hour, 00..23 (thousands).
constexpr std::array<std::uint32_t, 24> hour_weights = {20,  10,  0,   0,   0,   60,  350, 1170, 698, 382, 170, 170,
                                                        190, 88,  35,  119, 406, 520, 438,  314,  163, 72,  56,  40};

template <std::size_t N>
constexpr std::uint32_t sum(const std::array<std::uint32_t, N>& weights) {
  std::uint32_t total = 0;
  for (auto w : weights) total += w;
  return total;
}

engine::RecordedTap make_record(std::uint64_t index, std::uint64_t& random, std::int32_t first_day, std::int32_t days,
                                std::uint32_t cards) {
  engine::RecordedTap record;
  const std::uint64_t card_index = splitmix64(random) % cards;
  std::array<std::uint8_t, 7> card{0x04};
  for (int i = 0; i < 6; ++i) card[static_cast<std::size_t>(1 + i)] = static_cast<std::uint8_t>(card_index >> (8 * i));
  const auto day = first_day + static_cast<std::int32_t>(splitmix64(random) % static_cast<std::uint64_t>(days));
  const auto hour = static_cast<std::int64_t>(pick(hour_weights, sum(hour_weights), splitmix64(random)));
  const auto mode = static_cast<Mode>(1 + pick(mode_weights, sum(mode_weights), splitmix64(random)));
  const std::int64_t local_minute = hour * 60 + static_cast<std::int64_t>(splitmix64(random) % 60);
  // Local midnight of `day` is UTC midnight minus the offset.
  const std::int64_t event_us = (std::int64_t{day} * 1440 + local_minute - utc_offset_minutes) * minute_us;
  const rules::LocalCalendar calendar(utc_offset_minutes, 180);
  record.origin = Origin::tap;
  record.business_day = calendar.business_day(EventTime{event_us});
  record.tap.id = TapId{ReaderId{static_cast<std::uint32_t>(1 + index % 691)}, index / 691 + 1};
  record.tap.card = CardId::from_bytes(card.data(), card.size());
  record.tap.mode = mode;
  record.tap.operator_id = OperatorId{101};
  record.tap.location = static_cast<std::uint32_t>(100000 + splitmix64(random) % 3000);
  record.tap.event_time = EventTime{event_us};
  record.arrival = EventTime{event_us + 300'000};
  record.account = AccountId{2 + card_index * 2};
  record.category = static_cast<std::uint8_t>(1 + card_index % 6);
  const bool refused = splitmix64(random) % 50 == 0;
  record.outcome = refused ? protocol::Outcome::refused : protocol::Outcome::approved;
  record.reason = refused ? RefusalReason::insufficient_balance : RefusalReason::none;
  if (!refused && mode != Mode::identify && mode != Mode::top_up) record.fare_minor = 10 + splitmix64(random) % 40;
  record.rule_set_version = 1;
  return record;
}

struct Child {
  double wall_s = 0;
  double cpu_s = 0;  // user + system: the wall time on a shared machine is mostly waiting
  long max_rss_kb = 0;
  int status = 0;
};

// Runs argv with stdout to `out`, measuring wall time and peak RSS.
Child run_child(const std::vector<std::string>& argv, const std::string& out) {
  std::cout.flush();  // the child must not print what the parent buffered
  std::fflush(stdout);
  const auto started = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    if (!std::freopen(out.c_str(), "w", stdout)) _exit(127);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  Child child;
  struct rusage usage {};
  wait4(pid, &child.status, 0, &usage);
  child.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  child.max_rss_kb = usage.ru_maxrss;
  child.cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  return child;
}

int run(int argc, char** argv) {
  CLI::App app{"a month of tap records and the usage report over it"};
  std::string citycard;
  std::string dir = "/tmp/citycard-month-report";
  std::uint64_t taps = 20'000'000;
  std::uint32_t cards = 1'307'000;
  std::string month = "2026-03";
  std::string json_path;
  app.add_option("--citycard", citycard, "the citycard binary that runs the report")->required();
  app.add_option("--dir", dir, "where the ledger goes (replaced; default /tmp/citycard-month-report)");
  app.add_option("--taps", taps, "tap records in the month (default 20000000)");
  app.add_option("--cards", cards, "cards in the city (default 1307000)");
  app.add_option("--month", month, "the month YYYY-MM (default 2026-03)");
  app.add_option("--json", json_path, "write the results as JSON");
  CLI11_PARSE(app, argc, argv);

  const auto first = rules::parse_date_days(month + "-01");
  if (!first || cards == 0 || taps == 0) {
    std::cerr << "bench_month_report: --month YYYY-MM, --cards and --taps above 0\n";
    return 2;
  }
  const rules::CivilDate date = rules::civil_from_days(*first);
  const auto next = rules::days_from_civil(date.month == 12 ? date.year + 1 : date.year, date.month == 12 ? 1 : date.month + 1, 1);
  const auto days = static_cast<std::int32_t>(next - *first);
  const Machine machine = describe_machine();
  std::cout << "machine: " << machine_line(machine) << "\n";

  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string ledger_dir = dir + "/ledger";
  // A card-office ledger: system accounts, and a PKI whose first supervisor runs the reports.
  const std::string clerk = dir + "/pki/clerks/supervisor";
  if (const Child init = run_child({citycard, "--db", ledger_dir, "init"}, dir + "/init.txt");
      !WIFEXITED(init.status) || WEXITSTATUS(init.status) != 0) {
    std::cerr << "bench_month_report: citycard init failed\n";
    return 1;
  }
  double write_s = 0;
  std::uint64_t in_month = 0;  // records of the month's business days
  {
    ledger::Options options;
    options.create_if_missing = true;
    auto opened = ledger::Ledger::open(ledger_dir, options);
    if (!opened) {
      std::cerr << "bench_month_report: " << opened.status().to_string() << "\n";
      return 1;
    }
    auto ledger = std::move(opened).value();
    std::uint64_t random = 19;
    std::vector<ledger::RecordWrite> batch;
    batch.reserve(tap_records_per_write);
    const auto started = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < taps; ++i) {
      const engine::RecordedTap record = make_record(i, random, *first, days, cards);
      // A tap before 03:00 on the 1st is of the business day before: outside the report's days.
      if (record.business_day >= *first && record.business_day < next) ++in_month;
      batch.push_back(engine::tap_record_write(record));
      if (batch.size() == tap_records_per_write || i + 1 == taps) {
        if (Status put = ledger->put_records(batch, {}); !put) {
          std::cerr << "bench_month_report: " << put.to_string() << "\n";
          return 1;
        }
        batch.clear();
      }
    }
    write_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
  std::cout << fmt::format("wrote {} tap records of {} cards over {} ({} days) in {:.1f} s ({:.0f} records/s)\n", taps,
                           cards, month, days, write_s, static_cast<double>(taps) / write_s);

  const std::string from = rules::format_date_days(*first);
  const std::string to = rules::format_date_days(static_cast<std::int32_t>(next - 1));
  nlohmann::json runs = nlohmann::json::array();
  for (const std::string by : {"mode,hour", "mode"}) {
    const std::string out = dir + "/report-" + (by == "mode" ? "mode" : "mode-hour") + ".json";
    const Child child = run_child({citycard, "--db", ledger_dir, "--clerk", clerk, "report", "usage", "--from", from, "--to", to, "--by", by, "--json"}, out);
    if (!WIFEXITED(child.status) || WEXITSTATUS(child.status) != 0) {
      std::cerr << "bench_month_report: the report failed (status " << child.status << ")\n";
      return 1;
    }
    std::ifstream in(out);
    const nlohmann::json report = nlohmann::json::parse(in);
    const std::uint64_t counted = report["total"]["taps"].get<std::uint64_t>();
    if (counted != in_month) {
      std::cerr << fmt::format("bench_month_report: the report counted {} taps of {}\n", counted, in_month);
      return 1;
    }
    std::cout << fmt::format("report usage --by {} over {} to {}: {} taps, {:.1f} s wall ({:.1f} s CPU), peak RSS {} MB, {} groups, {} riders\n",
                             by, from, to, counted, child.wall_s, child.cpu_s, child.max_rss_kb / 1024, report["groups"].size(),
                             report["total"]["riders"].get<std::uint64_t>());
    runs.push_back({{"by", by}, {"wall_s", child.wall_s}, {"cpu_s", child.cpu_s}, {"max_rss_kb", child.max_rss_kb},
                    {"groups", report["groups"].size()}, {"riders", report["total"]["riders"]}, {"taps", counted}});
  }
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << nlohmann::json{{"bench", "month_report"},
                          {"machine", nlohmann::json::parse(machine_json(machine))},
                          {"taps", taps},
                          {"cards", cards},
                          {"month", month},
                          {"write_s", write_s},
                          {"write_path", "Ledger::put_records, synced batches of 16384 tap records (not the TLS engine)"},
                          {"reports", std::move(runs)}}
                .dump(2)
        << "\n";
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace citycard::bench

int main(int argc, char** argv) { return citycard::bench::run(argc, argv); }
