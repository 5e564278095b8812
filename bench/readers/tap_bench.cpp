// Tap-to-decision time at the reader through the real path:
// libpcsclite -> pcscd -> vpcd -> citycard-card-emulator (one card left in the field).
//
//   apdu phase:    SCardConnect + GET UID + SELECT + READ DATA + INTERNAL AUTHENTICATE
//                  + cryptogram check + SCardDisconnect
//   offline phase: the same through Agent::handle_card, i.e. plus sequence reservation,
//                  the offline decision and the fsynced journal append before "approved"
//
// Budget: 300 ms per tap (issue 4), including the engine's answer when online.
// Run through bench/readers/run.sh, which starts and stops pcscd and the emulator.
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "agent.h"
#include "pcsc/pcsc.h"

using namespace citycard;
using Clock = std::chrono::steady_clock;

namespace {

struct Figures {
  double p50_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
  std::size_t count = 0;
};

Figures summarise(std::vector<double> samples) {
  Figures f;
  if (samples.empty()) return f;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) { return samples[std::min(samples.size() - 1, static_cast<std::size_t>(q * static_cast<double>(samples.size())))]; };
  f.count = samples.size();
  f.p50_ms = at(0.50);
  f.p99_ms = at(0.99);
  f.max_ms = samples.back();
  double sum = 0;
  for (double s : samples) sum += s;
  f.mean_ms = sum / static_cast<double>(samples.size());
  return f;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

nlohmann::json to_json(const Figures& f) {
  return {{"taps", f.count}, {"p50_ms", f.p50_ms}, {"p99_ms", f.p99_ms}, {"max_ms", f.max_ms}, {"mean_ms", f.mean_ms}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string reader = "Test Reader 00 00";
  std::string master_hex = "000102030405060708090A0B0C0D0E0F";
  std::string out_path;
  std::string state_dir = "/tmp/citycard-bench-readers";
  unsigned taps = 200;
  CLI::App app{"citycard reader tap benchmark (real pcscd + vpcd + emulator)"};
  app.add_option("--reader", reader, "PC/SC reader name");
  app.add_option("--master-key-hex", master_hex, "the emulator's master key");
  app.add_option("--taps", taps, "taps per phase");
  app.add_option("--out", out_path, "write results as JSON here");
  app.add_option("--state-dir", state_dir, "scratch state dir for the offline phase (emptied first)");
  CLI11_PARSE(app, argc, argv);

  card::MasterKey master{*card::parse_key_hex(master_hex), 1};
  auto context = pcsc::Context::establish();
  if (!context) return std::fprintf(stderr, "%s\n", context.status().to_string().c_str()), 1;
  auto present = context->wait_for_card(reader, Clock::now() + std::chrono::seconds(10));
  if (!present || !*present) return std::fprintf(stderr, "no card in '%s' within 10 s\n", reader.c_str()), 1;

  // Phase 1: the APDU part.
  std::vector<double> apdu_ms;
  for (unsigned i = 0; i < taps; ++i) {
    auto start = Clock::now();
    auto connection = context->connect(reader);
    if (!connection) return std::fprintf(stderr, "%s\n", connection.status().to_string().c_str()), 1;
    auto readout = card::run_reader_session(*connection, master, TapId{ReaderId{900}, i + 1}, *card::make_challenge());
    (void)connection->disconnect(pcsc::Disposition::leave);
    double elapsed = ms_since(start);
    if (!readout || !readout->genuine.is_ok()) {
      std::fprintf(stderr, "tap %u failed: %s\n", i, readout ? readout->genuine.to_string().c_str() : readout.status().to_string().c_str());
      return 1;
    }
    apdu_ms.push_back(elapsed);
  }

  // Phase 2: the whole offline decision at the reader, journal fsync included.
  std::filesystem::remove_all(state_dir);
  agent::AgentConfig config;
  config.reader = ReaderId{900};
  config.operator_id = OperatorId{1};
  config.mode = Mode::bus_board;
  config.state_dir = state_dir;
  config.master_key_file = "(in memory)";
  config.queue_taps_max = taps + 1;
  agent::OfflineLink link;
  auto reader_agent = agent::Agent::open(config, master, link);
  if (!reader_agent) return std::fprintf(stderr, "%s\n", reader_agent.status().to_string().c_str()), 1;
  std::vector<double> offline_ms;
  for (unsigned i = 0; i < taps; ++i) {
    auto start = Clock::now();
    auto connection = context->connect(reader);
    if (!connection) return std::fprintf(stderr, "%s\n", connection.status().to_string().c_str()), 1;
    agent::TapOutcome outcome = (*reader_agent)->handle_card(*connection, EventTime{0});
    (void)connection->disconnect(pcsc::Disposition::leave);
    double elapsed = ms_since(start);
    if (outcome.result != agent::TapResult::approved) {
      std::fprintf(stderr, "tap %u: %s\n", i, agent::format_line(outcome).c_str());
      return 1;
    }
    offline_ms.push_back(elapsed);
  }
  std::filesystem::remove_all(state_dir);

  Figures apdu = summarise(apdu_ms);
  Figures offline = summarise(offline_ms);
  const double budget_ms = 300;
  utsname machine{};
  ::uname(&machine);
  std::string cpu = cpu_model();
  long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  std::printf("machine: %s, %ld CPUs, %s %s\n", cpu.c_str(), cores, machine.sysname, machine.release);
  std::printf("path: libpcsclite -> pcscd -> vpcd -> citycard-card-emulator (loopback TCP)\n");
  std::printf("%-44s %6s %9s %9s %9s   budget %.0f ms\n", "phase", "taps", "p50 ms", "p99 ms", "max ms", budget_ms);
  std::printf("%-44s %6zu %9.2f %9.2f %9.2f   %s\n", "APDU part (connect..auth+verify..disconnect)", apdu.count,
              apdu.p50_ms, apdu.p99_ms, apdu.max_ms, apdu.p99_ms < budget_ms ? "within" : "OVER");
  std::printf("%-44s %6zu %9.2f %9.2f %9.2f   %s\n", "offline decision (+ sequence, fsynced queue)", offline.count,
              offline.p50_ms, offline.p99_ms, offline.max_ms, offline.p99_ms < budget_ms ? "within" : "OVER");

  if (!out_path.empty()) {
    nlohmann::json json{{"benchmark", "readers: tap-to-decision at the reader"},
                        {"path", "libpcsclite -> pcscd -> vpcd -> citycard-card-emulator"},
                        {"machine", {{"cpu", cpu}, {"nproc", cores}, {"kernel", machine.release}}},
                        {"budget_ms", budget_ms},
                        {"apdu_part", to_json(apdu)},
                        {"offline_decision", to_json(offline)},
                        {"online_decision", "not measured: the TLS uplink is not wired into the reader yet"}};
    std::ofstream(out_path) << json.dump(2) << "\n";
    std::printf("wrote %s\n", out_path.c_str());
  }
  return apdu.p99_ms < budget_ms && offline.p99_ms < budget_ms ? 0 : 3;
}
