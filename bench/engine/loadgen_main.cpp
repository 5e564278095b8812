// citycard-loadgen: a simulated city day against a running engine over TLS
// (docs/loadgen.md). Also writes the card roster for `citycard card import`
// and issues the readers' certificates.
//
//   citycard-loadgen --roster cards.csv [--cards N]
//   citycard-loadgen --issue-pki ./var/pki
//   citycard-loadgen --pki ./var/pki --port 7700 --card-keys keys.csv [--rate 20000] [--duration 10] [--json out.json]
//
// The generator plays the cards too: every tap carries its card's proof,
// made with the card's key from the card bureau's personalisation export
// (`citycard keys export`), as the engine requires by default. --no-proofs
// sends taps without (for an engine run with [card] require_proof = false).
#include <array>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "citycard/realtime.h"

#include "loadgen/card_keys.h"
#include "loadgen/city_day.h"
#include "loadgen/city_map.h"
#include "loadgen/registrations.h"
#include "loadgen/roster.h"
#include "loadgen/tls_load.h"
#include "machine.h"
#include "pki_setup.h"

using namespace citycard;

namespace {

std::vector<double> parse_rates(const std::string& text) {
  std::vector<double> rates;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) rates.push_back(std::stod(item));
  }
  return rates;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"citycard-loadgen: a simulated city day of taps over TLS"};
  std::uint64_t cards = loadgen::PopulationMix{}.total();
  loadgen::DayOptions day_options;
  std::uint32_t reader_id_first = 1;
  std::string roster_path, readers_path, issue_pki, json_path, sweep, date_text;
  loadgen::TlsLoadOptions load_options;
  double rate = 0, duration_s = 10;
  std::uint64_t taps_max = 0;
  int days = 1;
  bool holiday = false, describe = false, no_proofs = false;
  std::string card_keys_path;
  app.add_option("--cards", cards, "card population (default 1307000, the city's mix)");
  app.add_option("--seed", day_options.seed, "simulation seed (default 1)");
  app.add_flag("--holiday", holiday, "a day without school");
  app.add_option("--days", days, "days one after another from the date on, as one load (default 1)")
      ->check(CLI::Range(1, 60));
  app.add_option("--date", day_options.day, "day of March 2025 to simulate (default 12)");
  app.add_option("--day", date_text, "the local date to simulate, YYYY-MM-DD (default 2025-03-12)");
  app.add_option("--offline-fraction", day_options.offline_bus_fraction, "buses that lose coverage once (default 0.06)");
  app.add_option("--reader-id-first", reader_id_first, "first reader id of the city's readers (default 1)");
  app.add_option("--roster", roster_path, "write the card roster CSV (card,category,media) to this file");
  app.add_option("--readers", readers_path,
                 "write the city's reader registrations (for `citycard reader import`) to this file");
  app.add_option("--issue-pki", issue_pki, "create the CA, engine and reader certificates in DIR where missing");
  app.add_option("--pki", load_options.pki_dir, "PKI directory with ca.crt and readers/reader-N.crt/.key");
  app.add_option("--port", load_options.port, "the engine's tap port on 127.0.0.1");
  app.add_option("--threads", load_options.threads, "load threads (default 4)");
  int realtime_priority = 0;
  app.add_option("--realtime-priority", realtime_priority,
                 "run the load threads SCHED_FIFO at this priority (1..99), as readers on devices of their own "
                 "would not wait for the engine host's flushes and compactions (default 0: the ordinary scheduler)")
      ->check(CLI::Range(0, realtime_priority_max));
  app.add_option("--readers-max", load_options.readers_max, "use only the first N readers (default all)");
  app.add_option("--batch", load_options.batch_taps_max, "taps per batch at most (default 256)");
  app.add_option("--inflight", load_options.inflight_batches_max,
                 "batches in flight per reader at most; 1 = wait for each answer (default 1)");
  bool no_card_order = false;
  app.add_flag("--no-card-order", no_card_order,
               "send a card's taps as they fall due even before its previous tap is decided (default: wait)");
  app.add_option("--rate", rate, "offered taps/s (open loop); 0 = closed loop, as fast as decided (default 0)");
  app.add_option("--duration", duration_s, "seconds per step (default 10)");
  app.add_option("--taps", taps_max, "taps per step at most (default: the rest of the day)");
  app.add_option("--sweep", sweep, "comma-separated offered rates, one step each (latency vs load)");
  app.add_option("--json", json_path, "write the results as JSON");
  app.add_option("--card-keys", card_keys_path, "the cards' keys: the CSV of `citycard keys export` (card,key_version,card_key)");
  app.add_flag("--no-proofs", no_proofs, "send taps without card proofs (the engine must not require them)");
  app.add_flag("--describe", describe, "generate the day and print what is in it (taps by mode and hour)");
  CLI11_PARSE(app, argc, argv);
  day_options.school_day = !holiday;
  load_options.card_order = !no_card_order;
  if (!date_text.empty()) {
    int year = 0, month = 0, day = 0;
    char dash1 = 0, dash2 = 0;
    std::istringstream in(date_text);
    if (!(in >> year >> dash1 >> month >> dash2 >> day) || dash1 != '-' || dash2 != '-' || month < 1 || month > 12 ||
        day < 1 || day > 31 || !in.eof()) {
      std::cerr << "citycard-loadgen: --day '" << date_text << "' is not a date (YYYY-MM-DD)\n";
      return 2;
    }
    day_options.year = year;
    day_options.month = month;
    day_options.day = day;
  }

  const bench::Machine machine = bench::describe_machine();
  loadgen::MapOptions map_options;
  map_options.reader_id_first = reader_id_first;
  const loadgen::CityMap map = loadgen::CityMap::standard(map_options);
  const loadgen::Roster roster = loadgen::Roster::make(loadgen::PopulationMix{}.scaled_to(cards));

  if (!roster_path.empty()) {
    std::ofstream out(roster_path);
    if (Status status = roster.write_csv(out); !status.is_ok()) {
      std::cerr << "citycard-loadgen: " << roster_path << ": " << status.to_string() << "\n";
      return 1;
    }
    std::cout << "roster: " << roster.size() << " cards -> " << roster_path << "\n";
  }
  if (!readers_path.empty()) {
    std::ofstream out(readers_path);
    if (Status status = loadgen::write_reader_registrations(map, out); !status.is_ok()) {
      std::cerr << "citycard-loadgen: " << readers_path << ": " << status.to_string() << "\n";
      return 1;
    }
    std::cout << "readers: " << map.readers.size() << " registrations -> " << readers_path << "\n";
  }
  if (!issue_pki.empty()) {
    auto issued = bench::ensure_loadgen_pki(issue_pki, map);
    if (!issued) {
      std::cerr << "citycard-loadgen: " << issued.status().to_string() << "\n";
      return 1;
    }
    std::cout << "pki: " << map.readers.size() << " readers (" << *issued << " issued now) in " << issue_pki << "\n";
  }
  if (load_options.port == 0 && !describe) return 0;

  if (load_options.port != 0 && card_keys_path.empty() && !no_proofs) {
    std::cerr << "citycard-loadgen: --card-keys FILE is required (the engine requires card proofs), or --no-proofs\n";
    return 2;
  }
  if (Status allowed = check_realtime_allowed(realtime_priority); !allowed) {
    std::cerr << "citycard-loadgen: --realtime-priority: " << allowed.to_string() << "\n";
    return 2;
  }
  const auto generate_start = std::chrono::steady_clock::now();
  loadgen::CityDay day = loadgen::generate_city_day(map, roster, day_options);
  for (int next = 1; next < days; ++next) {
    namespace chrono = std::chrono;
    const chrono::year_month_day date{
        chrono::sys_days{chrono::year{day_options.year} / chrono::month{static_cast<unsigned>(day_options.month)} /
                         chrono::day{static_cast<unsigned>(day_options.day)}} +
        chrono::days{next}};
    loadgen::DayOptions options = day_options;
    options.seed = day_options.seed + static_cast<std::uint64_t>(next);  // each day its own
    options.year = static_cast<int>(date.year());
    options.month = static_cast<int>(static_cast<unsigned>(date.month()));
    options.day = static_cast<int>(static_cast<unsigned>(date.day()));
    loadgen::append_city_day(day, loadgen::generate_city_day(map, roster, options));
  }
  const double generate_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - generate_start).count();
  std::cout << (days > 1 ? "city days (" + std::to_string(days) + "): " : std::string("city day: ")) << day.tap_count() << " taps by " << day.cards_active << " of " << roster.size()
            << " cards at " << map.readers.size() << " readers, generated in " << generate_s << " s\n"
            << "machine: " << bench::machine_line(machine) << "\n";
  if (!card_keys_path.empty() && !no_proofs) {
    auto keys = loadgen::CardKeyTable::load(card_keys_path);
    if (!keys) {
      std::cerr << "citycard-loadgen: " << keys.status().to_string() << "\n";
      return 1;
    }
    const auto prove_start = std::chrono::steady_clock::now();
    if (Status proven = loadgen::prove_city_day(day, roster, *keys, day_options.seed); !proven) {
      std::cerr << "citycard-loadgen: card proofs: " << proven.to_string() << "\n";
      return 1;
    }
    std::cout << "card proofs: " << day.tap_count() << " taps signed with " << keys->size() << " card keys in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - prove_start).count() << " s\n";
  }
  if (describe) {
    std::array<std::uint64_t, mode_count + 1> modes{};
    std::array<std::uint64_t, 27> hours{};
    std::uint64_t offline = 0;
    for (const loadgen::SendSlot& slot : day.send_order) {
      const Tap& tap = day.at(slot).record.tap;
      ++modes[static_cast<std::size_t>(tap.mode)];
      ++hours[static_cast<std::size_t>((tap.event_time.unix_us - day.local_midnight_us) / 3'600'000'000LL) % hours.size()];
      offline += tap.offline ? 1 : 0;
    }
    std::cout << "by mode:";
    for (int m = 1; m <= mode_count; ++m) std::cout << " " << mode_name(static_cast<Mode>(m)) << " " << modes[static_cast<std::size_t>(m)];
    std::cout << "\noffline (uploaded late): " << offline << "\nby local hour:";
    for (std::size_t h = 5; h < hours.size(); ++h) std::cout << " " << h << ":" << hours[h];
    std::cout << "\n";
    if (load_options.port == 0) return 0;
  }
  // Only now (generating the day is not the readers' work): the load
  // threads, started from this one, inherit it.
  if (Status realtime = run_this_thread_realtime(realtime_priority); !realtime) {
    std::cerr << "citycard-loadgen: --realtime-priority: " << realtime.to_string() << "\n";
    return 1;
  }
  auto load = loadgen::TlsLoad::connect(day, map, load_options);
  if (!load) {
    std::cerr << "citycard-loadgen: " << load.status().to_string() << "\n";
    return 1;
  }
  std::vector<double> rates = sweep.empty() ? std::vector<double>{rate} : parse_rates(sweep);
  std::string steps_json;
  for (double step_rate : rates) {
    loadgen::LoadStep step;
    step.taps_per_second = step_rate;
    step.duration = std::chrono::milliseconds(static_cast<std::int64_t>(duration_s * 1000));
    step.taps_max = taps_max;
    if ((*load)->remaining() == 0) break;
    const auto unix_now = [] {
      return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
    const double started = unix_now();
    loadgen::LoadReport report = (*load)->run(step);
    report.started_unix_s = started;
    report.ended_unix_s = unix_now();
    std::cout << report.summary();
    steps_json += (steps_json.empty() ? "" : ",") + report.json();
  }
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << "{\"machine\": " << bench::machine_json(machine) << ", \"cards\": " << roster.size()
        << ", \"readers\": " << map.readers.size() << ", \"seed\": " << day_options.seed << ", \"steps\": [" << steps_json
        << "]}\n";
  }
  return 0;
}
