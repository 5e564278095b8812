// bench_engine: the engine of issue 3 under a simulated city day.
//  1. builds a ledger of N cards (default 1.3M, the city's mix) through the
//     ledger API in a temporary directory (not timed);
//  2. in-process: drives engine::Engine (the TapSink) directly with a city
//     day, every decision durable before it is answered: taps/s;
//  3. end-to-end: the mutual-TLS net::Server in front of the same engine and
//     citycard_loadgen's readers over loopback TLS: p99 at a fixed offered
//     rate (repeated: its spread), a latency-vs-offered-load sweep, then
//     closed-loop taps/s;
//  4. prints the figures and the machine, writes JSON (and the sweep as a
//     data file for gnuplot); with --postgres, the ratio to that baseline.
// run.sh runs it with the PostgreSQL baseline and draws the plot.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "engine.h"
#include "engine/core/config.h"
#include "engine/core/huge_page_heap.h"
#include "engine/net/server.h"
#include "engine/pki/pki.h"
#include "card/crypto.h"
#include "inprocess_load.h"
#include "ledger/ledger.h"
#include "ledger/readers.h"
#include "ledger/system_accounts.h"
#include "loadgen/city_day.h"
#include "loadgen/registrations.h"
#include "loadgen/roster.h"
#include "loadgen/tls_load.h"
#include "machine.h"
#include "pki_setup.h"
#include "thread_cpu.h"
#include "rule_set_loader.h"
#include "token/softhsm.h"
#include "token/token.h"

using namespace citycard;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& what) {
  std::cerr << "bench_engine: " << what << "\n";
  std::exit(1);
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void build_ledger(ledger::Ledger& ledger, const rules::RuleSet& rule_set, const loadgen::Roster& roster) {
  if (auto accounts = ledger::ensure_system_accounts(ledger); !accounts) die(accounts.status().to_string());
  for (const rules::OperatorRule& op : rule_set.operators) {
    if (auto record = ledger.register_operator(op.id, op.name); !record) die(record.status().to_string());
  }
  constexpr std::size_t batch_cards = 10'000;
  std::vector<ledger::NewCard> batch;
  for (std::size_t i = 0; i < roster.size(); ++i) {
    ledger::NewCard card;
    card.card = roster[i].card;
    card.category = roster[i].category;
    card.media = roster[i].media;
    batch.push_back(card);
    if (batch.size() == batch_cards || i + 1 == roster.size()) {
      if (auto issued = ledger.issue_cards(batch); !issued) die(issued.status().to_string());
      batch.clear();
    }
  }
}

// The simulated city's readers, registered as the card office would
// (citycard reader import): the engine refuses an unregistered reader.
void register_readers(ledger::Ledger& ledger, const loadgen::CityMap& map) {
  std::vector<ledger::RecordWrite> records;
  for (const loadgen::ReaderSite& site : map.readers) records.push_back(ledger::reader_record_write(loadgen::registration_of(site)));
  if (Status put = ledger.put_records(records, {}); !put) die(put.to_string());
}

// The simulated days are in March 2025 (5..13): the engine's clock is put
// after the last of them, and its offline retention covers the first, so
// event time bounds judge the taps as they would have on the day.
void set_simulated_clock(engine::EngineOptions& options) {
  const std::int64_t day_after_last_us = loadgen::local_midnight_us(2025, 3, 14, 480) + 12 * 3'600'000'000LL;
  options.clock = [day_after_last_us] { return EventTime{day_after_last_us}; };
  options.event_time_bounds.offline_retention_us = 14 * us_per_day;
}

// What the engine itself saw during one run, from its metrics: commits,
// their size and sync time, and the batch-to-decision time inside it
// (bucket upper bounds).
struct EngineSide {
  engine::Histogram::Counts latency, groups, commit, shard_wait, handover;
  static EngineSide of(const engine::Metrics& metrics) {
    return {metrics.decision_latency().counts(), metrics.commit_groups().counts(), metrics.commit_seconds().counts(),
            metrics.shard_wait().counts(), metrics.handover_to_durable().counts()};
  }
};

nlohmann::json engine_side(const EngineSide& before, const engine::Metrics& metrics, std::ostream& out) {
  const EngineSide now = EngineSide::of(metrics);
  const auto latency = now.latency - before.latency;
  const auto groups = now.groups - before.groups;
  const auto commit = now.commit - before.commit;
  const auto shard_wait = now.shard_wait - before.shard_wait;
  const auto handover = now.handover - before.handover;
  nlohmann::json json = {{"commits", commit.count},
                         {"groups_per_commit_mean", groups.mean()},
                         {"commit_ms_mean", commit.mean() * 1e3},
                         {"commit_ms_p50_at_most", commit.quantile_bound(0.5) * 1e3},
                         {"commit_ms_p99_at_most", commit.quantile_bound(0.99) * 1e3},
                         {"commit_ms_p999_at_most", commit.quantile_bound(0.999) * 1e3},
                         {"commit_ms_max_at_most", commit.max_bound() * 1e3},
                         {"commits_over_10ms", commit.count_above(0.01)},
                         {"decision_ms_p50_at_most", latency.quantile_bound(0.5) * 1e3},
                         {"decision_ms_p99_at_most", latency.quantile_bound(0.99) * 1e3},
                         {"decision_ms_p999_at_most", latency.quantile_bound(0.999) * 1e3},
                         {"shard_wait_ms_p99_at_most", shard_wait.quantile_bound(0.99) * 1e3},
                         {"handover_to_durable_ms_p99_at_most", handover.quantile_bound(0.99) * 1e3}};
  out << "  engine side: " << commit.count << " commits of " << groups.mean() << " groups on average, commit "
      << commit.mean() * 1e3 << " ms mean (p99 <= " << commit.quantile_bound(0.99) * 1e3 << " ms, p99.9 <= "
      << commit.quantile_bound(0.999) * 1e3 << " ms, " << commit.count_above(0.01) << " over 10 ms, longest <= "
      << commit.max_bound() * 1e3 << " ms); submit to decision p50 <= " << latency.quantile_bound(0.5) * 1e3
      << " ms, p99 <= " << latency.quantile_bound(0.99) * 1e3 << " ms, p99.9 <= " << latency.quantile_bound(0.999) * 1e3
      << " ms; of it p99: shard queue <= " << shard_wait.quantile_bound(0.99) * 1e3 << " ms, hand-over to durable <= "
      << handover.quantile_bound(0.99) * 1e3 << " ms\n";
  return json;
}

std::vector<double> parse_rates(const std::string& text) {
  std::vector<double> rates;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) rates.push_back(std::stod(item));
  }
  return rates;
}

// The engine's key source, counting the card keys derived in the token and
// the time they took (the shard thread waits for each).
class CountingKeySource final : public card::CardKeySource {
 public:
  explicit CountingKeySource(std::shared_ptr<card::CardKeySource> inner) : inner_(std::move(inner)) {}
  Result<card::CardKey> card_key(std::uint8_t version, const CardId& card) override {
    auto start = Clock::now();
    auto key = inner_->card_key(version, card);
    nanoseconds_ += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    ++derived_;
    return key;
  }
  // The key warmer's, not the shard's: not counted.
  Result<card::CardKey> card_key_when_idle(std::uint8_t version, const CardId& card) override {
    return inner_->card_key_when_idle(version, card);
  }
  // Derivations and their seconds since the last call.
  std::pair<std::uint64_t, double> take() {
    std::pair<std::uint64_t, double> out{derived_.exchange(0), static_cast<double>(nanoseconds_.exchange(0)) * 1e-9};
    return out;
  }

 private:
  std::shared_ptr<card::CardKeySource> inner_;
  std::atomic<std::uint64_t> derived_{0};
  std::atomic<std::int64_t> nanoseconds_{0};
};

nlohmann::json derivations(CountingKeySource& keys, std::ostream& out) {
  auto [count, seconds] = keys.take();
  out << "  card keys derived in the token: " << count << " (" << seconds << " s of the shard's time, "
      << (count ? seconds / static_cast<double>(count) * 1e6 : 0) << " us each)\n";
  return {{"card_keys_derived", count}, {"token_seconds", seconds}};
}

card::MasterKey bench_master_key() {
  return card::MasterKey{*card::parse_key_hex("000102030405060708090A0B0C0D0E0F"), 1};
}

// A SoftHSM2 token in dir with the bench's master key imported (a known
// value, so the simulated cards can sign without the token).
std::shared_ptr<CountingKeySource> open_bench_token(const std::string& dir) {
  if (Status made = token::create_softhsm_token(dir); !made) die("token: " + made.to_string());
  auto opened = token::Token::open(token::softhsm_options(dir));
  if (!opened) die("token: " + opened.status().to_string());
  if (Status imported = (*opened)->import_master_key(1, bench_master_key().bytes); !imported) die(imported.to_string());
  return std::make_shared<CountingKeySource>(std::make_shared<token::TokenKeySource>(*opened));
}

// In-process closed loops on four more days (dates before the main runs',
// so their card counters come first): proofs off; proofs required on a
// fresh engine (every card's first proof derives its key in the token);
// proofs required on the same engine the next day (the keys cached); proofs
// off again, on a fresh engine. The two proofs-off runs bracket the others
// (the ledger grows and compacts as the runs go on, and the machine is
// shared): ratios are quoted against their mean.
nlohmann::json run_proof_ab(ledger::Ledger& ledger, const rules::RuleSet& rule_set, engine::EngineOptions options,
                            std::shared_ptr<CountingKeySource> card_keys, const loadgen::Roster& roster,
                            double seconds) {
  card::MasterKeySource simulated_cards(bench_master_key());
  nlohmann::json out;
  std::vector<double> off_rates;
  struct Run {
    const char* name;
    bool proofs;
    bool fresh_engine;
    int date;
  };
  engine::Metrics metrics;
  engine::Log log(stderr);
  std::unique_ptr<engine::Engine> engine;
  const Run runs[] = {Run{"proofs_off", false, true, 5}, Run{"proofs_required_cold_keys", true, true, 6},
                      Run{"proofs_required_warm_keys", true, false, 7}, Run{"proofs_off_again", false, true, 8}};
  // Every day's readers registered before the first engine starts: an engine
  // loads the registry at start (a run may continue the last one's engine).
  for (Run run : runs) {
    loadgen::MapOptions map_options;
    map_options.reader_id_first = 200'001 + static_cast<std::uint32_t>(run.date) * 1'000;
    register_readers(ledger, loadgen::CityMap::standard(map_options));
  }
  for (Run run : runs) {
    // Readers of their own per day: the same tap ids again would be answered
    // as resends (replayed), not rated.
    loadgen::MapOptions map_options;
    map_options.reader_id_first = 200'001 + static_cast<std::uint32_t>(run.date) * 1'000;
    const loadgen::CityMap map = loadgen::CityMap::standard(map_options);
    loadgen::DayOptions day_options;
    day_options.seed = 100 + static_cast<std::uint64_t>(run.date);
    day_options.day = run.date;
    loadgen::CityDay day = loadgen::generate_city_day(map, roster, day_options);
    if (Status proven = loadgen::prove_city_day(day, roster, simulated_cards, day_options.seed); !proven) {
      die(proven.to_string());
    }
    if (run.fresh_engine) {
      if (engine) engine->stop();
      engine.reset();
      engine::EngineOptions engine_options = options;
      engine_options.warm_key_version = 0;  // the cold and warm caches are this A/B's subject
      engine_options.require_card_proof = run.proofs;
      engine_options.card_keys = run.proofs ? card_keys : nullptr;
      auto started = engine::Engine::start(ledger, rule_set, engine_options, metrics, log);
      if (!started) die(started.status().to_string());
      engine = std::move(*started);
    }
    bench::InProcessOptions inprocess_options;
    inprocess_options.duration = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
    std::size_t position = 0;
    card_keys->take();
    loadgen::LoadReport report = bench::drive_in_process(*engine, day, inprocess_options, position);
    std::cout << "proof A/B, " << run.name << ": " << report.summary();
    out[run.name] = nlohmann::json::parse(report.json());
    out[run.name]["token"] = derivations(*card_keys, std::cout);
    if (!run.proofs) off_rates.push_back(report.taps_per_second);
  }
  if (engine) engine->stop();
  const double off_mean = (off_rates[0] + off_rates[1]) / 2;
  for (const char* name : {"proofs_required_cold_keys", "proofs_required_warm_keys"}) {
    const double ratio = out[name]["taps_per_second"].get<double>() / off_mean;
    out[name]["ratio_to_proofs_off_mean"] = ratio;
    std::cout << "proof A/B, " << name << ": " << ratio << "x the mean of the two proofs-off runs\n";
  }
  return out;
}

// The tap records' space: how many, and their bytes as RocksDB gets them
// (space byte + key + value; a WriteBatch adds ~3 bytes of framing each).
std::pair<std::uint64_t, std::uint64_t> tap_record_totals(const ledger::Ledger& ledger) {
  std::uint64_t count = 0, bytes = 0;
  Status scanned = ledger.snapshot()->scan_records(ledger::RecordSpace::tap_records, "",
                                                   [&](std::string_view key, std::string_view value) {
                                                     ++count;
                                                     bytes += 1 + key.size() + value.size();
                                                     return true;
                                                   });
  if (!scanned) die(scanned.to_string());
  return {count, bytes};
}

// What writing a record of every tap costs (tap_records.h): in-process
// closed loops on four more days, each on a fresh engine, proofs off (their
// cost is --proof-ab's subject): without records (EngineOptions::record_taps
// false, the switch that exists for this baseline only), with, without,
// with. Alternating runs spread the ledger's growth and the shared
// machine's drift over both sides; the ratio is the mean with over the mean
// without. Bytes per tap: the records the "with" runs added, counted in the
// ledger afterwards.
nlohmann::json run_records_ab(ledger::Ledger& ledger, const rules::RuleSet& rule_set, engine::EngineOptions options,
                              const loadgen::Roster& roster, double seconds) {
  nlohmann::json out;
  struct Run {
    const char* name;
    bool records;
    int date;
  };
  // March 1-4, 2025: inside the simulated clock's 14 days of offline
  // retention, and none of the other runs' days (5-8, 12, 13).
  const Run runs[] = {Run{"without_records", false, 1}, Run{"with_records", true, 2},
                      Run{"without_records_again", false, 3}, Run{"with_records_again", true, 4}};
  for (Run run : runs) {
    loadgen::MapOptions map_options;
    map_options.reader_id_first = 200'001 + static_cast<std::uint32_t>(run.date) * 1'000;
    register_readers(ledger, loadgen::CityMap::standard(map_options));
  }
  engine::Metrics metrics;
  engine::Log log(stderr);
  double with_sum = 0, without_sum = 0;
  std::uint64_t recorded_taps = 0, recorded_bytes = 0, decided_with = 0;
  for (Run run : runs) {
    loadgen::MapOptions map_options;
    map_options.reader_id_first = 200'001 + static_cast<std::uint32_t>(run.date) * 1'000;
    loadgen::DayOptions day_options;
    day_options.seed = 100 + static_cast<std::uint64_t>(run.date);
    day_options.day = run.date;
    loadgen::CityDay day = loadgen::generate_city_day(loadgen::CityMap::standard(map_options), roster, day_options);
    engine::EngineOptions engine_options = options;
    engine_options.require_card_proof = false;
    engine_options.card_keys = nullptr;
    engine_options.warm_key_version = 0;
    engine_options.record_taps = run.records;
    auto started = engine::Engine::start(ledger, rule_set, engine_options, metrics, log);
    if (!started) die(started.status().to_string());
    const auto records_before = tap_record_totals(ledger);
    bench::InProcessOptions inprocess_options;
    inprocess_options.duration = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
    std::size_t position = 0;
    loadgen::LoadReport report = bench::drive_in_process(**started, day, inprocess_options, position);
    (*started)->stop();
    const auto records_after = tap_record_totals(ledger);
    const std::uint64_t added = records_after.first - records_before.first;
    std::cout << "records A/B, " << run.name << ": " << report.summary() << "  tap records added: " << added << "\n";
    out[run.name] = nlohmann::json::parse(report.json());
    out[run.name]["tap_records_added"] = added;
    if (run.records) {
      with_sum += report.taps_per_second;
      recorded_taps += added;
      recorded_bytes += records_after.second - records_before.second;
      decided_with += position;
    } else {
      without_sum += report.taps_per_second;
      if (added != 0) die("records A/B: the run without records wrote " + std::to_string(added));
    }
  }
  const double ratio = with_sum / without_sum;
  const double bytes_per_tap = recorded_taps ? static_cast<double>(recorded_bytes) / static_cast<double>(recorded_taps) : 0;
  out["ratio_with_to_without"] = ratio;
  out["record_bytes_per_tap"] = bytes_per_tap;
  std::cout << "records A/B: with records " << with_sum / 2 << " taps/s, without " << without_sum / 2
            << " taps/s (means of two runs each): " << ratio << "x; " << bytes_per_tap
            << " bytes of record per tap (space byte, key, value; " << recorded_taps << " records, " << decided_with
            << " taps sent)\n";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when redirected
  CLI::App app{"bench_engine: in-process and end-to-end TLS throughput and latency of the engine"};
  std::uint64_t cards = loadgen::PopulationMix{}.total();
  std::string rules_path = "rules/city.toml", work_dir, json_path = "bench/results/engine.json", sweep_data;
  std::string postgres_json, sweep = "5000,10000,20000,30000,40000,50000,60000";
  double inprocess_s = 20, tls_s = 15, latency_rate = 20'000, step_s = 8;
  int latency_repeats = 3;
  // The engine's own defaults unless told otherwise.
  const engine::EngineOptions engine_defaults;
  std::size_t shards = engine_defaults.shards, threads = 4, batch_taps = engine_defaults.batch_taps,
              batch_wait_us = static_cast<std::size_t>(engine_defaults.batch_wait.count()),
              overlap_taps_min = engine_defaults.overlap_taps_min, inflight = 1, write_buffer_mib = 64;
  bool skip_tls = false, proof_ab = false, warm_keys = true, records_ab = false;
  std::string proofs = "required";
  app.add_option("--cards", cards, "cards in the ledger (default 1307000)");
  app.add_option("--rules", rules_path, "rule set (default rules/city.toml)");
  app.add_option("--dir", work_dir, "work directory for the ledger and certificates (default: a temp dir, removed)");
  app.add_option("--shards", shards, "engine shards (default 1, the engine's own default)");
  app.add_option("--batch-taps", batch_taps, "engine batch_taps (default: the engine's)");
  app.add_option("--batch-wait-us", batch_wait_us, "engine batch_wait_us (default: the engine's)");
  app.add_option("--overlap-taps-min", overlap_taps_min, "engine overlap_taps_min (default: the engine's)");
  app.add_option("--write-buffer-mib", write_buffer_mib, "ledger write_buffer_bytes in MiB (default 64)");
  app.add_option("--threads", threads, "load generator threads (default 4)");
  app.add_option("--inflight", inflight, "batches in flight per simulated reader at most (default 1: wait for each answer)");
  app.add_option("--inprocess-seconds", inprocess_s, "in-process run length (default 20)");
  std::size_t inprocess_inflight = bench::InProcessOptions{}.inflight_taps_max;
  app.add_option("--inprocess-inflight", inprocess_inflight,
                 "in-process closed loop: undecided taps at most (default 32768)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  app.add_option("--tls-seconds", tls_s, "closed-loop TLS run length (default 15)");
  app.add_option("--latency-rate", latency_rate, "offered taps/s for the fixed-rate latency run (default 20000)");
  app.add_option("--latency-repeats", latency_repeats,
                 "fixed-rate steps over TLS, back to back: the p99's spread on a shared machine (default 3)")
      ->check(CLI::Range(1, 20));
  app.add_option("--sweep", sweep, "offered rates of the latency sweep, comma-separated");
  app.add_option("--step-seconds", step_s, "seconds per sweep step and for the fixed-rate run (default 8)");
  app.add_option("--postgres", postgres_json, "pg_baseline.sh output, for the ratio");
  app.add_option("--json", json_path, "results file (default bench/results/engine.json)");
  app.add_option("--sweep-data", sweep_data, "write the sweep as a gnuplot data file");
  app.add_flag("--skip-tls", skip_tls, "in-process only");
  app.add_option("--proofs", proofs, "card proofs in the main runs: required (the engine's default; card keys derived "
                                     "in a SoftHSM2 token) or off")
      ->check(CLI::IsMember({"required", "off"}));
  app.add_flag("!--no-warm-keys", warm_keys, "main runs: do not derive card keys ahead in the background (key_warmer.h)");
  app.add_flag("--proof-ab", proof_ab,
               "first, in-process closed loops on three more days: proofs off, then required with a cold key cache "
               "(every card's first proof derives its key in the token), then required with the cache warm");
  app.add_flag("--records-ab", records_ab,
               "first, in-process closed loops on four more days: without tap records, with, without, with "
               "(proofs off), for the records' cost; with --records-ab-only nothing else runs");
  bool records_ab_only = false;
  app.add_flag("--records-ab-only", records_ab_only, "run --records-ab and stop (writes its own results file)");
  bool huge_page_heap = true;
  app.add_flag("!--no-huge-page-heap", huge_page_heap,
               "the heap as tcmalloc makes it, not on huge pages made resident ahead of use (the engine's "
               "pipeline.huge_page_heap, on by default)");
  std::optional<std::size_t> heap_reserve_mib;
  app.add_option("--heap-reserve-mib", heap_reserve_mib,
                 "huge page heap: MiB made resident at start, ahead of the heap's growth (the engine's "
                 "pipeline.heap_reserve_mib; default as the engine's for this ledger: three memtables a column "
                 "family and the block cache; 0: one region ahead at a time)")
      ->check(CLI::Range(std::size_t{0}, engine::heap_reserve_mib_max));
  CLI11_PARSE(app, argc, argv);
  if (records_ab_only) records_ab = true;
  if (!heap_reserve_mib) {
    heap_reserve_mib = engine::heap_reserve_mib_for(write_buffer_mib << 20, ledger::Options{}.block_cache_bytes);
  }
  if (huge_page_heap) {
    if (Status installed = engine::install_huge_page_heap(*heap_reserve_mib); !installed) die(installed.to_string());
  }

  const bench::Machine machine = bench::describe_machine();
  std::cout << "machine: " << bench::machine_line(machine) << "\n";
  std::cout << "heap: "
            << (huge_page_heap ? "huge pages made resident ahead of use, " +
                                   std::to_string(engine::huge_page_heap_stats().reserve_regions * 64) + " MiB of them at start"
                               : std::string("tcmalloc's default"))
            << "\n";
  const bool temp_dir = work_dir.empty();
  if (temp_dir) work_dir = (std::filesystem::temp_directory_path() / ("citycard-bench-engine-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(work_dir);

  auto rule_set = rules::load_rule_set(rules_path);
  if (!rule_set) die(rule_set.status().to_string());
  const loadgen::Roster roster = loadgen::Roster::make(loadgen::PopulationMix{}.scaled_to(cards));

  ledger::Options ledger_options;
  ledger_options.create_if_missing = true;
  ledger_options.write_buffer_bytes = write_buffer_mib << 20;
  auto opened = ledger::Ledger::open(work_dir + "/ledger", ledger_options);
  if (!opened) die(opened.status().to_string());
  ledger::Ledger& ledger = **opened;
  auto setup_start = Clock::now();
  build_ledger(ledger, *rule_set, roster);
  const double setup_s = seconds_since(setup_start);
  std::cout << "ledger: " << roster.size() << " cards issued in " << setup_s << " s (not timed below)\n";

  // Two days with their own reader ids, so the second is not a resend of the first.
  loadgen::MapOptions inprocess_map_options;
  inprocess_map_options.reader_id_first = 100'001;
  const loadgen::CityMap inprocess_map = loadgen::CityMap::standard(inprocess_map_options);
  const loadgen::CityMap tls_map = loadgen::CityMap::standard();
  register_readers(ledger, inprocess_map);
  register_readers(ledger, tls_map);
  auto generate_start = Clock::now();
  loadgen::DayOptions day_a;
  loadgen::CityDay inprocess_day = loadgen::generate_city_day(inprocess_map, roster, day_a);
  loadgen::DayOptions day_b;
  day_b.seed = 2;
  day_b.day = 13;
  loadgen::CityDay tls_day = skip_tls ? loadgen::CityDay{} : loadgen::generate_city_day(tls_map, roster, day_b);
  // The simulated cards sign their taps (the load generator plays them), with
  // keys from the bench's test master key; the engine derives the same keys
  // in the SoftHSM2 token, where that key was imported.
  card::MasterKeySource simulated_cards(bench_master_key());
  for (auto [day, seed] : {std::pair{&inprocess_day, day_a.seed}, std::pair{&tls_day, day_b.seed}}) {
    if (Status proven = loadgen::prove_city_day(*day, roster, simulated_cards, seed); !proven) die(proven.to_string());
  }
  std::cout << "city days: " << inprocess_day.tap_count() << " + " << tls_day.tap_count()
            << " taps generated and signed by their cards in " << seconds_since(generate_start) << " s\n";
  auto card_keys = open_bench_token(work_dir + "/token");

  engine::Metrics metrics;
  std::ofstream log_file(work_dir + "/engine.log");
  engine::Log log(stderr);
  engine::EngineOptions engine_options;
  engine_options.shards = shards;
  engine_options.batch_taps = batch_taps;
  engine_options.batch_wait = std::chrono::microseconds(batch_wait_us);
  engine_options.overlap_taps_min = overlap_taps_min;
  engine_options.require_card_proof = proofs == "required";
  if (engine_options.require_card_proof) engine_options.card_keys = card_keys;
  set_simulated_clock(engine_options);
  // As citycard-engine does by default; --proof-ab's cold run shows the cost without it.
  if (engine_options.require_card_proof && warm_keys) engine_options.warm_key_version = 1;
  if (records_ab) {
    nlohmann::json records_results;
    records_results["machine"] = nlohmann::json::parse(bench::machine_json(machine));
    records_results["cards"] = roster.size();
    records_results["seconds_per_run"] = inprocess_s;
    records_results["runs"] = run_records_ab(ledger, *rule_set, engine_options, roster, inprocess_s);
    const std::string records_path = std::filesystem::path(json_path).parent_path() / "engine-records.json";
    std::ofstream(records_path) << records_results.dump(2) << "\n";
    std::cout << "wrote " << records_path << "\n";
    if (records_ab_only) {
      opened->reset();
      if (temp_dir) std::filesystem::remove_all(work_dir);
      return 0;
    }
  }
  nlohmann::json proof_ab_results;
  if (proof_ab) proof_ab_results = run_proof_ab(ledger, *rule_set, engine_options, card_keys, roster, inprocess_s);
  auto started = engine::Engine::start(ledger, *rule_set, engine_options, metrics, log);
  if (!started) die(started.status().to_string());
  engine::Engine& engine = **started;

  nlohmann::json results;
  results["machine"] = nlohmann::json::parse(bench::machine_json(machine));
  results["heap"] = huge_page_heap ? "huge_pages" : "tcmalloc_default";
  results["heap_reserve_mib"] = engine::huge_page_heap_stats().reserve_regions * 64;
  results["cards"] = roster.size();
  results["ledger_setup_seconds"] = setup_s;
  if (proof_ab) results["proof_ab"] = proof_ab_results;
  results["engine"] = {{"card_proofs", proofs}, {"shards", shards}, {"batch_taps", batch_taps}, {"batch_wait_us", batch_wait_us}, {"overlap_taps_min", overlap_taps_min}, {"write_buffer_mib", write_buffer_mib}};
  results["loadgen"] = {{"threads", threads}, {"inflight_batches_max", inflight}, {"inprocess_inflight_taps_max", inprocess_inflight}};

  bench::InProcessOptions inprocess_options;
  inprocess_options.duration = std::chrono::milliseconds(static_cast<std::int64_t>(inprocess_s * 1000));
  inprocess_options.inflight_taps_max = inprocess_inflight;
  std::size_t inprocess_position = 0;
  EngineSide before = EngineSide::of(metrics);
  card_keys->take();
  const bench::ThreadCpu cpu_before = bench::ThreadCpu::now();
  loadgen::LoadReport inprocess = bench::drive_in_process(engine, inprocess_day, inprocess_options, inprocess_position);
  const auto cpu_seconds = bench::ThreadCpu::now().seconds_since(cpu_before);
  std::cout << "in-process, durable: " << inprocess.summary();
  results["in_process"] = nlohmann::json::parse(inprocess.json());
  results["in_process"]["token"] = derivations(*card_keys, std::cout);
  results["in_process"]["engine_side"] = engine_side(before, metrics, std::cout);
  // The process's CPU a decided tap (engine threads, RocksDB's, and this
  // thread driving the load): an A/B's steadier figure than taps/s.
  const double decided = static_cast<double>(inprocess.tally.taps_decided);
  std::cout << "  CPU: " << bench::per_unit_line(cpu_seconds, decided, "tap") << "\n";
  if (huge_page_heap) {
    const engine::HugePageHeapStats heap = engine::huge_page_heap_stats();
    std::cout << "  heap: " << heap.regions_ready << " regions of 64 MiB made resident ahead, " << heap.regions_in_place
              << " mapped when needed, " << heap.large_mappings << " large allocations mapped on their own, "
              << (heap.bytes_handed_out >> 20) << " MiB handed to tcmalloc; " << heap.reserve_made
              << " regions of the reserve made, " << heap.regions_waiting << " waiting\n";
  }
  results["in_process"]["cpu_seconds_by_thread"] = cpu_seconds;
  double cpu_total = 0;
  for (const auto& [name, used] : cpu_seconds) cpu_total += used;
  results["in_process"]["cpu_us_per_tap"] = decided > 0 ? cpu_total / decided * 1e6 : 0;
  // The engine alone at a fixed rate, the day continued: its own share of
  // the decision latency, without TLS or a load generator beside it.
  if (inprocess_s > 0 && latency_rate > 0) {
    bench::InProcessOptions open = inprocess_options;
    open.taps_per_second = latency_rate;
    open.duration = std::chrono::milliseconds(static_cast<std::int64_t>(step_s * 1000));
    before = EngineSide::of(metrics);
    loadgen::LoadReport fixed = bench::drive_in_process(engine, inprocess_day, open, inprocess_position);
    std::cout << "in-process fixed rate: " << fixed.summary();
    results["in_process_fixed_rate"] = nlohmann::json::parse(fixed.json());
    results["in_process_fixed_rate"]["engine_side"] = engine_side(before, metrics, std::cout);
  }

  if (!skip_tls) {
    const std::string pki_dir = work_dir + "/pki";
    auto issued = bench::ensure_loadgen_pki(pki_dir, tls_map);
    if (!issued) die(issued.status().to_string());
    pki::Paths paths{pki_dir};
    net::ServerOptions server_options;
    server_options.log = [](std::string_view line) { std::cerr << "server: " << line << "\n"; };
    server_options.tls = {paths.ca_certificate().string(), paths.crl().string(), paths.engine_certificate().string(),
                          paths.engine_key().string()};
    // Every simulated reader connects from 127.0.0.1, 16 handshakes per thread at a time.
    server_options.pending_per_address_max = server_options.pending_connections_max;
    auto server = net::Server::start(server_options, engine, &engine.deny_list());
    if (!server) die(server.status().to_string());
    loadgen::TlsLoadOptions load_options;
    load_options.port = (*server)->port();
    load_options.pki_dir = pki_dir;
    load_options.threads = threads;
    load_options.inflight_batches_max = inflight;
    auto load = loadgen::TlsLoad::connect(tls_day, tls_map, load_options);
    if (!load) die(load.status().to_string());
    std::cout << "tls: " << tls_map.readers.size() << " readers connected on 127.0.0.1:" << (*server)->port() << "\n";

    loadgen::LoadStep fixed;
    fixed.taps_per_second = latency_rate;
    fixed.duration = std::chrono::milliseconds(static_cast<std::int64_t>(step_s * 1000));
    // The p99 of one step moves with what the host is doing; repeats show by
    // how much. The first is reported as tls_fixed_rate, all as _repeats.
    nlohmann::json repeats = nlohmann::json::array();
    std::vector<double> p99s;
    for (int repeat = 0; repeat < latency_repeats && (*load)->remaining() > 0; ++repeat) {
      before = EngineSide::of(metrics);
      loadgen::LoadReport fixed_report = (*load)->run(fixed);
      std::cout << "tls fixed rate: " << fixed_report.summary();
      repeats.push_back(nlohmann::json::parse(fixed_report.json()));
      repeats.back()["engine_side"] = engine_side(before, metrics, std::cout);
      p99s.push_back(fixed_report.latency_ms_p99);
    }
    if (!repeats.empty()) results["tls_fixed_rate"] = repeats.front();
    results["tls_fixed_rate_repeats"] = repeats;
    if (!p99s.empty()) {
      std::vector<double> sorted = p99s;
      std::sort(sorted.begin(), sorted.end());
      const auto within = std::count_if(p99s.begin(), p99s.end(), [](double p99) { return p99 <= 10.0; });
      std::cout << "tls fixed rate, " << p99s.size() << " steps of " << step_s << " s at " << latency_rate << "/s: p99";
      for (std::size_t i = 0; i < p99s.size(); ++i) std::cout << (i ? " / " : " ") << p99s[i];
      std::cout << " ms (median " << sorted[sorted.size() / 2] << " ms); within 10 ms in " << within << " of "
                << p99s.size() << "\n";
      results["tls_fixed_rate_p99_ms_median"] = sorted[sorted.size() / 2];
      results["tls_fixed_rate_steps_within_10_ms"] = within;
    }

    nlohmann::json points = nlohmann::json::array();
    std::ofstream data;
    if (!sweep_data.empty()) {
      data.open(sweep_data);
      data << "# offered_taps_per_second decided_taps_per_second p50_ms p99_ms p999_ms\n";
    }
    for (double rate : parse_rates(sweep)) {
      if ((*load)->remaining() == 0) break;
      loadgen::LoadStep step;
      step.taps_per_second = rate;
      step.duration = fixed.duration;
      before = EngineSide::of(metrics);
      loadgen::LoadReport report = (*load)->run(step);
      std::cout << "sweep: " << report.summary();
      points.push_back(nlohmann::json::parse(report.json()));
      points.back()["engine_side"] = engine_side(before, metrics, std::cout);
      if (data) {
        data << rate << ' ' << report.taps_per_second << ' ' << report.latency_ms_p50 << ' ' << report.latency_ms_p99
             << ' ' << report.latency_ms_p999 << '\n';
      }
    }
    results["tls_sweep"] = points;

    // Last: a closed loop leaves the readers far apart in the day (each sends
    // as fast as it is answered), and an open-loop step after it would start
    // with the taps fast readers already sent, offering less than its rate.
    loadgen::LoadStep closed;
    closed.duration = std::chrono::milliseconds(static_cast<std::int64_t>(tls_s * 1000));
    before = EngineSide::of(metrics);
    loadgen::LoadReport closed_report = (*load)->run(closed);
    std::cout << "tls end-to-end: " << closed_report.summary();
    results["tls_closed_loop"] = nlohmann::json::parse(closed_report.json());
    results["tls_closed_loop"]["engine_side"] = engine_side(before, metrics, std::cout);
    (*server)->stop();
    results["tls_ratio_of_in_process"] = inprocess.taps_per_second > 0 ? closed_report.taps_per_second / inprocess.taps_per_second : 0;
  }
  engine.stop();

  if (!postgres_json.empty()) {
    std::ifstream in(postgres_json);
    nlohmann::json postgres = nlohmann::json::parse(in, nullptr, false);
    if (!postgres.is_discarded()) {
      results["postgresql"] = postgres;
      double best = 0;
      for (const auto& run : postgres["runs"]) best = std::max(best, run["taps_per_second"].get<double>());
      if (best > 0) {
        std::cout << "postgresql best " << best << " taps/s";
        if (inprocess.tally.taps_decided > 0) {
          results["ratio_in_process_to_postgresql_best"] = inprocess.taps_per_second / best;
          std::cout << "; in-process is " << inprocess.taps_per_second / best << "x";
        }
        if (results.contains("tls_closed_loop")) {
          double tls = results["tls_closed_loop"]["taps_per_second"].get<double>();
          results["ratio_tls_to_postgresql_best"] = tls / best;
          std::cout << ", end-to-end TLS " << tls / best << "x";
        }
        std::cout << "\n";
      }
    }
  }
  std::ofstream out(json_path);
  out << results.dump(2) << "\n";
  std::cout << "results: " << json_path << "\n";
  opened->reset();
  if (temp_dir) std::filesystem::remove_all(work_dir);
  return 0;
}
