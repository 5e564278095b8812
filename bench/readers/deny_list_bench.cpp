// A deny list converging at a new reader over mutual TLS on loopback: how
// long from "no list" to holding the engine's whole list, in how many frames
// and bytes. The baseline is a list of one frame (2,048 cards), measured in
// the same invocation.
//
//   reader: agent::Agent with UplinkEngineLink and a fresh state directory:
//           TCP + TLS 1.3 handshake + hello, every page, the fsynced save of
//           the list, and the delta request after the last page.
//   engine: net::Server (the real TLS server, certificates from engine/pki)
//           with a net::MemoryDenyList holding N cards (7-byte ids, like the
//           city's card UIDs) and the net layer's test TapSink (no taps).
//
// With --ledger-cards N it also times what the engine adds to its start:
// listed_cards_in_ledger (status and wallet of every card) on a ledger of N
// cards, one in ten blocked, beside a plain scan of the card records (the
// first pass of the card preload).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent.h"
#include "engine/groups/deny_records.h"
#include "engine/net/memory_deny_list.h"
#include "engine/net/server.h"
#include "engine/pki/pki.h"
#include "ledger/ledger.h"
#include "ledger/system_accounts.h"
#include "machine.h"
#include "protocol/codec.h"
#include "test_tap_sink.h"
#include "uplink_link.h"

using namespace citycard;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

CardId card_number(std::uint64_t n) { return *CardId::parse(fmt::format("04{:012X}", n * 2'654'435'761ULL % (1ULL << 48))); }

// The real link, counting the frames and their bytes as the wire carries them
// (header included, before TLS).
class CountingLink final : public agent::EngineLink {
 public:
  explicit CountingLink(agent::EngineLink& inner) : inner_(inner) {}
  Result<std::vector<agent::TapDecision>> submit_taps(std::span<const agent::QueuedTap> taps, agent::Deadline deadline) override {
    return inner_.submit_taps(taps, deadline);
  }
  Result<agent::DenyListDelta> fetch_deny_list(const agent::DenyListPosition& from, agent::Deadline deadline) override {
    auto answer = inner_.fetch_deny_list(from, deadline);
    if (!answer) return answer;
    ++frames;
    request_bytes += protocol::encode(protocol::DenyListRequest{from.version, from.snapshot_version, from.after})->size();
    protocol::DenyListDelta wire{answer->from_version, answer->to_version, 0, answer->added, answer->removed};
    if (answer->replaces_all) wire.flags |= protocol::DenyListDelta::flag_full;
    if (answer->more) wire.flags |= protocol::DenyListDelta::flag_more;
    if (answer->page) wire.flags |= protocol::DenyListDelta::flag_page;
    reply_bytes += protocol::encode(wire)->size();
    return answer;
  }
  std::size_t frames = 0;
  std::size_t request_bytes = 0;
  std::size_t reply_bytes = 0;

 private:
  agent::EngineLink& inner_;
};

struct Run {
  double seconds = 0;
  std::size_t frames = 0;
  std::size_t request_bytes = 0;
  std::size_t reply_bytes = 0;
};

struct Size {
  std::size_t cards = 0;
  std::vector<Run> runs;
  Run median() const {
    std::vector<Run> sorted = runs;
    std::sort(sorted.begin(), sorted.end(), [](const Run& a, const Run& b) { return a.seconds < b.seconds; });
    return sorted[sorted.size() / 2];
  }
};

struct Pki {
  std::string dir;
  pki::Paths paths;
};

// One new reader fetching the whole list; fails the bench if it does not end
// with exactly the engine's set.
Result<Run> converge(const Pki& pki, std::uint16_t port, const std::string& state_dir, const net::MemoryDenyList& list) {
  std::filesystem::remove_all(state_dir);
  agent::AgentConfig config;
  config.reader = ReaderId{900};
  config.operator_id = OperatorId{1};
  config.mode = Mode::bus_board;
  config.state_dir = state_dir;
  config.engine_address = "127.0.0.1:" + std::to_string(port);
  config.ca_file = pki.paths.ca_certificate();
  config.cert_file = pki.paths.reader_certificate(ReaderId{900});
  config.key_file = pki.paths.reader_key(ReaderId{900});
  auto options = agent::uplink_link_options(config);
  if (!options) return options.status();
  agent::UplinkEngineLink uplink(std::move(*options));
  CountingLink link(uplink);
  config.token.pin_env = "CITYCARD_TOKEN_PIN";  // never read: the keys below stand in for the token
  // The deny list needs no card: a plain test key stands in for the reader's token.
  card::MasterKeySource keys(card::MasterKey{*card::parse_key_hex("000102030405060708090A0B0C0D0E0F"), 1});
  auto reader = agent::Agent::open(config, keys, link);
  if (!reader) return reader.status();
  const auto started = Clock::now();
  if (Status refreshed = (*reader)->refresh_deny_list(Clock::now() + std::chrono::seconds(300)); !refreshed) return refreshed;
  Run run{seconds_since(started), link.frames, link.request_bytes, link.reply_bytes};
  auto contents = list.contents();
  const auto& held = (*reader)->deny_list();
  if (held.version() != contents.version || held.size() != contents.cards.size()) {
    return Status::corruption(fmt::format("the reader holds {} cards at version {}, the engine {} at {}", held.size(),
                                          held.version(), contents.cards.size(), contents.version));
  }
  for (const CardId& card : contents.cards) {
    if (!held.contains(card)) return Status::corruption("the reader lacks card " + card.to_string());
  }
  std::filesystem::remove_all(state_dir);
  return run;
}

struct StartCost {
  std::size_t cards = 0;
  std::size_t listed = 0;
  double listed_seconds = 0;
  double scan_seconds = 0;
};

Result<StartCost> engine_start_cost(const std::string& dir, std::size_t cards) {
  std::filesystem::remove_all(dir);
  ledger::Options options;
  options.create_if_missing = true;
  auto opened = ledger::Ledger::open(dir, options);
  if (!opened) return opened.status();
  auto& ledger = **opened;
  if (auto system = ledger::ensure_system_accounts(ledger); !system) return system.status();
  constexpr std::size_t chunk = 10'000;
  for (std::size_t first = 0; first < cards; first += chunk) {
    std::vector<ledger::NewCard> batch;
    for (std::size_t i = first; i < std::min(cards, first + chunk); ++i) {
      ledger::NewCard card;
      card.card = card_number(i);
      batch.push_back(card);
    }
    auto issued = ledger.issue_cards(batch);
    if (!issued) return issued.status();
    std::vector<CardRecord> blocked;
    for (std::size_t i = 0; i < issued->size(); i += 10) {
      CardRecord record = (*issued)[i];
      record.status = CardStatus::blocked;
      blocked.push_back(record);
    }
    if (Status written = ledger.put_records({}, blocked); !written) return written;
  }
  StartCost cost;
  cost.cards = cards;
  auto started = Clock::now();
  std::size_t scanned = 0;
  Status scan = ledger.snapshot()->scan_cards([&](const CardRecord&) {
    ++scanned;
    return true;
  });
  cost.scan_seconds = seconds_since(started);
  if (!scan) return scan;
  started = Clock::now();
  auto listed = engine::listed_cards_in_ledger(ledger);
  cost.listed_seconds = seconds_since(started);
  if (!listed) return listed.status();
  cost.listed = listed->size();
  opened->reset();
  std::filesystem::remove_all(dir);
  return cost;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes{2048, 100'000};
  unsigned repeats = 5;
  std::size_t ledger_cards = 0;
  std::string out_path;
  std::string scratch = "/tmp/citycard-bench-deny-list";
  CLI::App app{"citycard deny list convergence at a new reader over mutual TLS (loopback)"};
  app.add_option("--sizes", sizes, "list sizes in cards; the first is the baseline (default 2048 100000)");
  app.add_option("--repeats", repeats, "new readers per size; the median is reported (default 5)");
  app.add_option("--ledger-cards", ledger_cards, "also time the engine's start-up listing on a ledger of this many cards");
  app.add_option("--out", out_path, "write results as JSON here");
  app.add_option("--scratch", scratch, "scratch directory (emptied first, removed after)");
  CLI11_PARSE(app, argc, argv);
  if (sizes.empty() || repeats == 0) return std::fprintf(stderr, "need a size and a repeat\n"), 2;

  const bench::Machine machine = bench::describe_machine();
  std::printf("machine: %s\n", bench::machine_line(machine).c_str());
  std::filesystem::remove_all(scratch);
  std::filesystem::create_directories(scratch);
  Pki pki{scratch + "/pki", pki::Paths{scratch + "/pki"}};
  for (Status status : {pki::init(pki.dir), pki::issue_engine(pki.dir, {"localhost", "127.0.0.1"}),
                        pki::issue_reader(pki.dir, ReaderId{900})}) {
    if (!status) return std::fprintf(stderr, "pki: %s\n", status.to_string().c_str()), 1;
  }

  std::vector<Size> results;
  for (std::size_t cards : sizes) {
    net::testing::RememberingTapSink sink;
    net::MemoryDenyList list;
    for (std::size_t i = 0; i < cards; ++i) list.add(card_number(i));
    net::ServerOptions server_options;
    server_options.tls = net::TlsFiles{pki.paths.ca_certificate(), pki.paths.crl(), pki.paths.engine_certificate(),
                                       pki.paths.engine_key()};
    auto server = net::Server::start(std::move(server_options), sink, &list);
    if (!server) return std::fprintf(stderr, "server: %s\n", server.status().to_string().c_str()), 1;
    Size size{cards, {}};
    for (unsigned r = 0; r < repeats; ++r) {
      auto run = converge(pki, (*server)->port(), scratch + "/reader", list);
      if (!run) return std::fprintf(stderr, "%zu cards: %s\n", cards, run.status().to_string().c_str()), 1;
      size.runs.push_back(*run);
    }
    (*server)->stop();
    results.push_back(size);
  }

  const Run baseline = results.front().median();
  std::printf("a new reader fetching the whole deny list (median of %u; TCP+TLS+hello, pages, fsynced save):\n", repeats);
  std::printf("%10s %10s %8s %12s %12s %10s\n", "cards", "seconds", "frames", "reply bytes", "bytes/card", "x baseline");
  for (const Size& size : results) {
    Run m = size.median();
    std::printf("%10zu %10.4f %8zu %12zu %12.2f %10.1f\n", size.cards, m.seconds, m.frames, m.reply_bytes,
                static_cast<double>(m.reply_bytes) / static_cast<double>(size.cards), m.seconds / baseline.seconds);
  }

  nlohmann::json json{{"benchmark", "readers: deny list convergence at a new reader over mutual TLS (loopback)"},
                      {"machine", nlohmann::json::parse(bench::machine_json(machine))},
                      {"repeats", repeats},
                      {"reader", "agent::Agent + UplinkEngineLink, fresh state: TCP+TLS+hello, every page, fsynced save, "
                                 "the delta request after the last page"},
                      {"engine", "net::Server + net::MemoryDenyList (7-byte card ids), test TapSink"},
                      {"bytes", "deny_list_request and deny_list_delta frames, header included, before TLS"}};
  for (const Size& size : results) {
    nlohmann::json runs = nlohmann::json::array();
    for (const Run& run : size.runs) runs.push_back(run.seconds);
    Run m = size.median();
    json["sizes"].push_back({{"cards", size.cards},
                             {"median_seconds", m.seconds},
                             {"runs_seconds", runs},
                             {"frames", m.frames},
                             {"request_bytes", m.request_bytes},
                             {"reply_bytes", m.reply_bytes},
                             {"x_baseline", m.seconds / baseline.seconds}});
  }

  if (ledger_cards > 0) {
    auto cost = engine_start_cost(scratch + "/ledger", ledger_cards);
    if (!cost) return std::fprintf(stderr, "start cost: %s\n", cost.status().to_string().c_str()), 1;
    std::printf("engine start, ledger of %zu cards (%zu listed): listed_cards_in_ledger %.3f s, "
                "a plain scan of the card records %.3f s (%.1fx)\n",
                cost->cards, cost->listed, cost->listed_seconds, cost->scan_seconds,
                cost->listed_seconds / cost->scan_seconds);
    json["engine_start"] = {{"ledger_cards", cost->cards},
                            {"listed", cost->listed},
                            {"listed_cards_in_ledger_seconds", cost->listed_seconds},
                            {"scan_cards_seconds", cost->scan_seconds}};
  }
  std::filesystem::remove_all(scratch);
  if (!out_path.empty()) {
    std::ofstream(out_path) << json.dump(2) << "\n";
    std::printf("wrote %s\n", out_path.c_str());
  }
  return 0;
}
