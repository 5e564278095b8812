// Repricing a city day (issue 17): the load simulator's day played through
// the in-process engine (proofs off), then the close's repricing of that day
// planned on a snapshot (every approved tap of every account replayed in
// event order and compared with what it posted) and its corrections posted
// on the stopped ledger. Prints and writes (--json): taps, accounts,
// corrections, the plan's wall and CPU time and peak resident set, and as the
// baseline of the same run the engine's own rating of the same taps (taps/s).
//   bench_reprice [--cards N] [--dir DIR] [--rules FILE] [--json FILE]
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/engine.h"
#include "inprocess_load.h"
#include "ledger/readers.h"
#include "ledger/system_accounts.h"
#include "loadgen/city_day.h"
#include "loadgen/registrations.h"
#include "loadgen/roster.h"
#include "machine.h"
#include "repricing.h"
#include "rule_set_loader.h"

using namespace citycard;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& what) {
  std::cerr << "bench_reprice: " << what << "\n";
  std::exit(1);
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Peak resident set (VmHWM), MiB; reset_peak() starts a new peak (Linux >= 4.0).
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}
void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"repricing a city day: the close's replay in event order, timed against the engine's own rating"};
  std::size_t cards = 250'000;
  std::string dir, rules_path = "rules/city.toml", json_path = "bench/results/reprice.json";
  app.add_option("--cards", cards, "cards in the city (the simulated day has about 4 taps a card); default 250000");
  app.add_option("--dir", dir, "work directory (default: a temporary one, removed)");
  app.add_option("--rules", rules_path, "rule file; default rules/city.toml");
  app.add_option("--json", json_path, "result file; default bench/results/reprice.json");
  CLI11_PARSE(app, argc, argv);

  const bench::Machine machine = bench::describe_machine();
  std::cout << "machine: " << bench::machine_line(machine) << "\n";
  const bool temp_dir = dir.empty();
  if (temp_dir) dir = (std::filesystem::temp_directory_path() / ("citycard-bench-reprice-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);

  auto rule_set = rules::load_rule_set(rules_path);
  if (!rule_set) die(rule_set.status().to_string());
  const loadgen::Roster roster = loadgen::Roster::make(loadgen::PopulationMix{}.scaled_to(cards));
  ledger::Options options;
  options.create_if_missing = true;
  auto opened = ledger::Ledger::open(dir + "/ledger", options);
  if (!opened) die(opened.status().to_string());
  ledger::Ledger& ledger = **opened;
  auto system = ledger::ensure_system_accounts(ledger);
  if (!system) die(system.status().to_string());
  for (const auto& op : rule_set->operators)
    if (auto record = ledger.register_operator(op.id, op.name); !record) die(record.status().to_string());
  std::vector<ledger::NewCard> batch;
  for (std::size_t i = 0; i < roster.size(); ++i) {
    batch.push_back({});
    batch.back().card = roster[i].card;
    batch.back().category = roster[i].category;
    batch.back().media = roster[i].media;
    if (batch.size() == 10'000 || i + 1 == roster.size()) {
      if (auto issued = ledger.issue_cards(batch); !issued) die(issued.status().to_string());
      batch.clear();
    }
  }
  const loadgen::CityMap map = loadgen::CityMap::standard();
  std::vector<ledger::RecordWrite> readers;
  for (const auto& site : map.readers) readers.push_back(ledger::reader_record_write(loadgen::registration_of(site)));
  if (Status put = ledger.put_records(readers, {}); !put) die(put.to_string());
  loadgen::DayOptions day_options;
  const loadgen::CityDay day = loadgen::generate_city_day(map, roster, day_options);
  std::cout << fmt::format("city: {} cards, {} taps on {}-{:02}-{:02}\n", roster.size(), day.tap_count(), day_options.year,
                           day_options.month, day_options.day);

  auto book = rules::RuleBook::single(*rule_set);
  loadgen::LoadReport online;
  {
    engine::Metrics metrics;
    engine::Log log(stderr);
    engine::EngineOptions engine_options;
    engine_options.require_card_proof = false;
    const std::int64_t day_after_us = loadgen::local_midnight_us(day_options.year, day_options.month, day_options.day + 2, 480);
    engine_options.clock = [day_after_us] { return EventTime{day_after_us}; };
    engine_options.event_time_bounds.offline_retention_us = 14 * us_per_day;
    auto engine = engine::Engine::start(ledger, book, engine_options, metrics, log);
    if (!engine) die(engine.status().to_string());
    bench::InProcessOptions load;
    load.duration = std::chrono::milliseconds(3'600'000);
    std::size_t position = 0;
    online = bench::drive_in_process(**engine, day, load, position);
    std::cout << "baseline, the engine rating the day online: " << online.summary() << "\n";
  }

  const std::int32_t business_day =
      book->business_day(EventTime{loadgen::local_midnight_us(day_options.year, day_options.month, day_options.day, 480) +
                                   12 * 3'600'000'000LL});
  reset_peak();
  const double rss_before = peak_rss_mib();
  const double cpu_before = cpu_seconds();
  const auto plan_start = Clock::now();
  auto snapshot = ledger.snapshot();
  auto plan = engine::plan_repricing(*snapshot, *book, *system, business_day);
  if (!plan) die(plan.status().to_string());
  const double plan_s = seconds_since(plan_start);
  const double plan_cpu_s = cpu_seconds() - cpu_before;
  const double plan_rss = peak_rss_mib();
  const std::size_t corrections = plan->corrections.size();
  const auto apply_start = Clock::now();
  if (Status applied = engine::post_corrections_in_ledger(ledger, *system, std::move(plan->corrections)); !applied)
    die(applied.to_string());
  const double apply_s = seconds_since(apply_start);

  const double replay_rate = plan->taps / plan_s;
  std::cout << fmt::format(
      "repricing: {} taps of {} accounts replayed in {:.2f} s wall ({:.2f} s CPU): {:.0f} taps/s, {:.1f}x the engine's online "
      "{:.0f} taps/s; {} corrections posted in {:.2f} s; peak RSS {:.0f} MiB (it was {:.0f} MiB before the plan), "
      "{} state records (canonical and opening)\n",
      plan->taps, plan->accounts, plan_s, plan_cpu_s, replay_rate, replay_rate / online.taps_per_second,
      online.taps_per_second, corrections, apply_s, plan_rss, rss_before, plan->canonical_states.size());
  nlohmann::json result = {{"machine", nlohmann::json::parse(bench::machine_json(machine))},
                           {"cards", roster.size()},
                           {"day_taps", day.tap_count()},
                           {"online", nlohmann::json::parse(online.json())},
                           {"replayed_taps", plan->taps},
                           {"accounts", plan->accounts},
                           {"corrections", corrections},
                           {"plan_seconds", plan_s},
                           {"plan_cpu_seconds", plan_cpu_s},
                           {"replay_taps_per_second", replay_rate},
                           {"replay_vs_online", replay_rate / online.taps_per_second},
                           {"apply_seconds", apply_s},
                           {"peak_rss_mib", plan_rss},
                           {"rss_before_plan_mib", rss_before}};
  std::ofstream(json_path) << result.dump(2) << "\n";
  std::cout << "wrote " << json_path << "\n";
  snapshot.reset();
  if (temp_dir) std::filesystem::remove_all(dir);
  return 0;
}
