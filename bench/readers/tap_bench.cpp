// Tap-to-decision time at the reader through the real path:
// libpcsclite -> pcscd -> vpcd -> citycard-card-emulator (one card left in the field).
//
//   apdu phase:    SCardConnect + GET UID + SELECT + READ DATA + INTERNAL AUTHENTICATE
//                  + cryptogram check + SCardDisconnect
//   offline phase: the same through Agent::handle_card, i.e. plus sequence reservation,
//                  the offline decision and the fsynced journal append before "approved"
//   online phase:  the same through Agent::handle_card with UplinkEngineLink: plus the
//                  engine round trip over mutual TLS on loopback (tap_batch of one tap with
//                  its 58-byte proof -> decisions). The engine here is net::Server (the real
//                  TLS server, certificates from engine/pki) with the net layer's test
//                  TapSink (tests/net/test_tap_sink.h): no rating, no ledger commit yet.
//   link phase:    the engine round trip alone (UplinkEngineLink::submit_taps, one tap)
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
#include "engine/net/memory_deny_list.h"
#include "engine/net/server.h"
#include "engine/pki/pki.h"
#include "pcsc/pcsc.h"
#include "test_tap_sink.h"
#include "uplink_link.h"

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
  bool online = true;
  unsigned taps = 200;
  CLI::App app{"citycard reader tap benchmark (real pcscd + vpcd + emulator)"};
  app.add_option("--reader", reader, "PC/SC reader name");
  app.add_option("--master-key-hex", master_hex, "the emulator's master key");
  app.add_option("--taps", taps, "taps per phase");
  app.add_option("--out", out_path, "write results as JSON here");
  app.add_option("--state-dir", state_dir, "scratch state dir for the offline and online phases (emptied first)");
  app.add_option("--online", online, "measure the online phases (engine over TLS on loopback); default true");
  CLI11_PARSE(app, argc, argv);

  // Card keys derived from the emulator's test master key in memory: this
  // bench measures the card exchange; a token's cost is bench/card's.
  card::MasterKeySource master(card::MasterKey{*card::parse_key_hex(master_hex), 1});
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
    Tap tap;
    tap.id = TapId{ReaderId{900}, i + 1};
    auto readout = card::run_reader_session(*connection, master, tap, *card::make_challenge());
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
  config.token.pin_env = "UNUSED_IN_MEMORY";
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

  // Phases 3 and 4: online, against the TLS server on loopback.
  std::vector<double> online_ms;
  std::vector<double> link_ms;
  if (online) {
    std::string pki_dir = state_dir + "-pki";
    std::filesystem::remove_all(pki_dir);
    for (Status status : {pki::init(pki_dir), pki::issue_engine(pki_dir, {"localhost", "127.0.0.1"}),
                          pki::issue_reader(pki_dir, ReaderId{900})}) {
      if (!status) return std::fprintf(stderr, "pki: %s\n", status.to_string().c_str()), 1;
    }
    pki::Paths paths{pki_dir};
    net::testing::RememberingTapSink sink;
    net::MemoryDenyList deny_list;
    net::ServerOptions server_options;
    server_options.tls = net::TlsFiles{paths.ca_certificate(), paths.crl(), paths.engine_certificate(),
                                       paths.engine_key()};
    auto server = net::Server::start(std::move(server_options), sink, &deny_list);
    if (!server) return std::fprintf(stderr, "server: %s\n", server.status().to_string().c_str()), 1;
    std::filesystem::remove_all(state_dir);
    config.engine_address = "127.0.0.1:" + std::to_string((*server)->port());
    config.ca_file = paths.ca_certificate();
    config.cert_file = paths.reader_certificate(ReaderId{900});
    config.key_file = paths.reader_key(ReaderId{900});
    auto link_options = agent::uplink_link_options(config);
    if (!link_options) return std::fprintf(stderr, "%s\n", link_options.status().to_string().c_str()), 1;
    agent::UplinkEngineLink engine_link(std::move(*link_options));
    auto online_agent = agent::Agent::open(config, master, engine_link);
    if (!online_agent) return std::fprintf(stderr, "%s\n", online_agent.status().to_string().c_str()), 1;
    // The device's loop keeps the link up between riders; measure taps on a live link.
    if (Status up = engine_link.keep_alive(Clock::now()); !up) return std::fprintf(stderr, "link: %s\n", up.to_string().c_str()), 1;
    for (unsigned i = 0; i < taps; ++i) {
      auto start = Clock::now();
      auto connection = context->connect(reader);
      if (!connection) return std::fprintf(stderr, "%s\n", connection.status().to_string().c_str()), 1;
      agent::TapOutcome outcome = (*online_agent)->handle_card(*connection, EventTime{0});
      (void)connection->disconnect(pcsc::Disposition::leave);
      double elapsed = ms_since(start);
      if (outcome.offline || outcome.result == agent::TapResult::tap_again) {
        std::fprintf(stderr, "tap %u not decided online: %s\n", i, agent::format_line(outcome).c_str());
        return 1;
      }
      online_ms.push_back(elapsed);
      (void)engine_link.keep_alive(Clock::now());
    }
    // The round trip alone: one tap (already decided above: the engine answers replayed).
    agent::QueuedTap queued;
    queued.tap.id = TapId{ReaderId{900}, 1};
    queued.tap.card = *CardId::parse("04A1B2C3D4E5F6");
    queued.tap.mode = Mode::bus_board;
    queued.tap.operator_id = OperatorId{1};
    for (unsigned i = 0; i < taps; ++i) {
      queued.tap.id.sequence = 1'000'000 + i;   // fresh ids: decided, not replayed
      auto start = Clock::now();
      auto decided = engine_link.submit_taps(std::span<const agent::QueuedTap>(&queued, 1), Clock::now() + std::chrono::seconds(1));
      double elapsed = ms_since(start);
      if (!decided) return std::fprintf(stderr, "link: %s\n", decided.status().to_string().c_str()), 1;
      link_ms.push_back(elapsed);
    }
    if (sink.taps_decided() != 2 * static_cast<std::size_t>(taps)) {
      return std::fprintf(stderr, "the engine decided %zu taps, expected %u\n", sink.taps_decided(), 2 * taps), 1;
    }
    online_agent->reset();
    (*server)->stop();
    std::filesystem::remove_all(state_dir);
    std::filesystem::remove_all(pki_dir);
  }

  Figures apdu = summarise(apdu_ms);
  Figures offline = summarise(offline_ms);
  Figures online_decision = summarise(online_ms);
  Figures link_round_trip = summarise(link_ms);
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
  if (online) {
    std::printf("%-44s %6zu %9.2f %9.2f %9.2f   %s\n", "online decision (+ engine over TLS, loopback)",
                online_decision.count, online_decision.p50_ms, online_decision.p99_ms, online_decision.max_ms,
                online_decision.p99_ms < budget_ms ? "within" : "OVER");
    std::printf("%-44s %6zu %9.2f %9.2f %9.2f\n", "engine round trip alone (1-tap batch, TLS)", link_round_trip.count,
                link_round_trip.p50_ms, link_round_trip.p99_ms, link_round_trip.max_ms);
  }

  if (!out_path.empty()) {
    nlohmann::json json{{"benchmark", "readers: tap-to-decision at the reader"},
                        {"path", "libpcsclite -> pcscd -> vpcd -> citycard-card-emulator"},
                        {"machine", {{"cpu", cpu}, {"nproc", cores}, {"kernel", machine.release}}},
                        {"budget_ms", budget_ms},
                        {"apdu_part", to_json(apdu)},
                        {"offline_decision", to_json(offline)},
                        {"online_decision", to_json(online_decision)},
                        {"engine_round_trip", to_json(link_round_trip)},
                        {"online_engine", "net::Server (mutual TLS 1.3, engine/pki certificates) on loopback with "
                                          "the net layer's test TapSink: no rating or ledger commit"}};
    std::ofstream(out_path) << json.dump(2) << "\n";
    std::printf("wrote %s\n", out_path.c_str());
  }
  bool within = apdu.p99_ms < budget_ms && offline.p99_ms < budget_ms && (!online || online_decision.p99_ms < budget_ms);
  return within ? 0 : 3;
}
