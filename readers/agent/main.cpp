// citycard-reader: the validator software. Waits for cards on a PC/SC reader,
// decides each tap (online through an EngineLink, or offline), prints one
// line per tap, and keeps the offline queue and deny list on disk.
//
//   citycard-reader --config reader.toml [--offline] [--json] [--taps N]
//   citycard-reader --config reader.toml --show-queue
//   citycard-reader --config reader.toml --deny-list-import delta.json
//   citycard-reader keygen --key FILE --csr FILE --reader-id N
//
// Online (the default): the engine in [engine] decides each tap over mutual
// TLS when it answers within [engine] timeout_ms; otherwise the reader
// decides offline and queues the tap. Between cards the loop keeps the link
// up (reconnect with backoff, heartbeats), uploads the queue and refreshes
// the deny list every [engine] deny_list_refresh_ms.
// --offline: no engine link at all; every admitted tap is queued.
// keygen: makes the reader's own EC P-256 key (mode 0600; an existing key is
// never replaced) and a CSR naming reader N, for the card office to sign
// (`citycard pki sign-reader`); the key never leaves the reader (keygen.h).
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>

#include "agent.h"
#include "keygen.h"
#include "pcsc/pcsc.h"
#include "token/token.h"
#include "uplink_link.h"

namespace ca = citycard::agent;
using citycard::Status;

namespace {

bool stop_requested(int stop_fd, int wait_ms = 0) {
  pollfd entry{stop_fd, POLLIN, 0};
  return ::poll(&entry, 1, wait_ms) > 0;
}

citycard::EventTime wall_clock_now() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return {static_cast<std::int64_t>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000};
}

int fail(const Status& status) {
  std::fprintf(stderr, "citycard-reader: %s\n", status.to_string().c_str());
  return 1;
}

// {"from_version":0,"to_version":3,"replaces_all":false,"added":["04A1.."],"removed":[]}
citycard::Result<ca::DenyListDelta> read_delta(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::io_error("cannot read " + path);
  nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return Status::invalid_argument(path + " is not a JSON object");
  ca::DenyListDelta delta;
  try {
    delta.from_version = json.value("from_version", std::uint64_t{0});
    delta.to_version = json.at("to_version").get<std::uint64_t>();
    delta.replaces_all = json.value("replaces_all", false);
    for (const char* field : {"added", "removed"}) {
      for (const auto& item : json.value(field, nlohmann::json::array())) {
        auto card = citycard::CardId::parse(item.get<std::string>());
        if (!card) return Status::invalid_argument(fmt::format("{}: '{}' is not a card id", path, item.dump()));
        (std::string(field) == "added" ? delta.added : delta.removed).push_back(*card);
      }
    }
  } catch (const nlohmann::json::exception& error) {
    return Status::invalid_argument(fmt::format("{}: {}", path, error.what()));
  }
  return delta;
}

void show_queue(const ca::Agent& agent) {
  for (const auto& queued : agent.queue().pending()) {
    const auto& tap = queued.tap;
    nlohmann::json json{{"reader", tap.id.reader.value},
                        {"sequence", tap.id.sequence},
                        {"card", tap.card.to_string()},
                        {"event_time_us", tap.event_time.unix_us},
                        {"mode", std::string(citycard::mode_name(tap.mode))},
                        {"offline", tap.offline},
                        {"atc", queued.proof.atc}};
    std::printf("%s\n", json.dump().c_str());
  }
  const auto& opened = agent.queue().open_report();
  std::fprintf(stderr, "%zu taps waiting; journal damage skipped: %zu bytes in %zu ranges; deny list version %llu with %zu cards\n",
               agent.queue().pending().size(), opened.damaged_bytes, opened.damaged_ranges,
               static_cast<unsigned long long>(agent.deny_list().version()), agent.deny_list().size());
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool offline = false;
  bool json = false;
  bool list_queue = false;
  std::string deny_import;
  unsigned taps_limit = 0;
  std::string pcsc_reader_override;
  std::string state_dir_override;
  CLI::App app{"citycard reader agent"};
  app.add_option("--config", config_path, "TOML config file (see readers/agent/config.h); required but for keygen");
  app.add_flag("--offline", offline, "no engine link: decide offline and queue every admitted tap");
  app.add_flag("--json", json, "one JSON object per tap instead of a line for people");
  app.add_option("--taps", taps_limit, "exit after this many taps (0 = run until SIGTERM)");
  app.add_option("--pcsc-reader", pcsc_reader_override, "PC/SC reader name (overrides the config)");
  app.add_option("--state-dir", state_dir_override, "state directory (overrides the config)");
  app.add_flag("--show-queue", list_queue, "print the queued taps as JSON lines and exit");
  app.add_option("--deny-list-import", deny_import, "apply a deny list delta from a JSON file and exit");
  std::string key_path;
  std::string csr_path;
  std::uint32_t key_reader = 0;
  CLI::App* keygen = app.add_subcommand("keygen", "make this reader's key (EC P-256, mode 0600) and a CSR to sign");
  keygen->add_option("--key", key_path, "where the private key goes (never replaced)")->required();
  keygen->add_option("--csr", csr_path, "where the certificate signing request goes")->required();
  keygen->add_option("--reader-id", key_reader, "this reader's id (CN reader-N)")->required();
  CLI11_PARSE(app, argc, argv);
  if (keygen->parsed()) {
    if (Status made = ca::generate_reader_key(key_path, csr_path, citycard::ReaderId{key_reader}); !made) return fail(made);
    std::fprintf(stderr, "reader %u: key %s (mode 0600), CSR %s: have it signed with `citycard pki sign-reader`\n",
                 key_reader, key_path.c_str(), csr_path.c_str());
    return 0;
  }
  if (config_path.empty()) return fail(Status::invalid_argument("--config is required"));

  auto config = ca::load_config(config_path);
  if (!config) return fail(config.status());
  if (!pcsc_reader_override.empty()) config->pcsc_reader = pcsc_reader_override;
  if (!state_dir_override.empty()) config->state_dir = state_dir_override;
  // Only the tap loop talks to the engine or the card; the service commands never do.
  bool service_command = list_queue || !deny_import.empty();
  bool online = !offline && !service_command;
  // The card master keys stay in the token; only the card keys it derives
  // (one CMAC in the token per tap) reach this process.
  std::unique_ptr<citycard::card::CardKeySource> card_keys = std::make_unique<citycard::card::MasterKeySource>();
  if (!service_command) {
    auto token = citycard::token::Token::open(config->token);
    if (!token) return fail(token.status());
    card_keys = std::make_unique<citycard::token::TokenKeySource>(*token);
  }

  ca::OfflineLink offline_link;
  std::unique_ptr<ca::UplinkEngineLink> engine_link;
  if (online) {
    auto options = ca::uplink_link_options(*config);
    if (!options) return fail(options.status());
    engine_link = std::make_unique<ca::UplinkEngineLink>(std::move(*options));
  }
  ca::EngineLink& link = online ? static_cast<ca::EngineLink&>(*engine_link) : offline_link;
  auto agent = ca::Agent::open(*config, *card_keys, link);
  if (!agent) return fail(agent.status());
  if (auto report = (*agent)->queue().open_report(); report.torn_tail_bytes > 0) {
    std::fprintf(stderr, "citycard-reader: dropped a torn record (%zu bytes) at the end of the tap journal\n",
                 report.torn_tail_bytes);
  }
  if (auto report = (*agent)->queue().open_report(); report.damaged_ranges > 0) {
    std::fprintf(stderr,
                 "citycard-reader: event=journal_damaged ranges=%zu bytes=%zu first_offset=%zu: skipped damaged records "
                 "of the tap journal (taps in them are lost), kept the records after them\n",
                 report.damaged_ranges, report.damaged_bytes, report.damaged_first_offset);
  }
  if (list_queue) {
    show_queue(**agent);
    return 0;
  }
  if (!deny_import.empty()) {
    auto delta = read_delta(deny_import);
    if (!delta) return fail(delta.status());
    if (auto applied = (*agent)->apply_deny_list_delta(*delta); !applied) return fail(applied);
    std::fprintf(stderr, "deny list now version %llu with %zu cards\n",
                 static_cast<unsigned long long>((*agent)->deny_list().version()), (*agent)->deny_list().size());
    return 0;
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  int stop_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
  if (stop_fd < 0) return fail(Status::io_error("signalfd failed"));

  auto context = citycard::pcsc::Context::establish();
  if (!context) return fail(context.status());
  std::string reader = config->pcsc_reader;
  if (reader.empty()) {
    auto readers = context->list_readers();
    if (!readers) return fail(readers.status());
    if (readers->empty()) return fail(Status::not_found("pcscd lists no readers"));
    reader = readers->front();
  }
  std::fprintf(stderr, "citycard-reader %u: %s on '%s', %zu taps queued, journal damage skipped: %zu bytes\n",
               config->reader.value, online ? ("engine " + config->engine_address).c_str() : "offline", reader.c_str(),
               (*agent)->queue().pending().size(), (*agent)->queue().open_report().damaged_bytes);

  using namespace std::chrono_literals;
  unsigned handled = 0;
  bool link_up = false;
  ca::Clock::time_point next_deny_refresh{};
  ca::Clock::time_point next_reserve_try{};
  bool reserve_held = true;
  while (!stop_requested(stop_fd) && (taps_limit == 0 || handled < taps_limit)) {
    // The room for admitting riders on a full disk: said once when it is
    // gone, put back once the disk has room again.
    if (const auto now = ca::Clock::now(); !(*agent)->reserve_held() && now >= next_reserve_try) {
      next_reserve_try = now + 10s;
      Status restored = (*agent)->restore_reserve();
      if (!restored && reserve_held) {
        std::fprintf(stderr, "citycard-reader: state disk full, reserve in use; offline taps are refused once it is gone: %s\n",
                     restored.to_string().c_str());
      } else if (restored && !reserve_held) {
        std::fprintf(stderr, "citycard-reader: state disk has room again, reserve restored\n");
      }
      reserve_held = restored.is_ok();
    }
    if (online) {
      auto now = ca::Clock::now();
      Status alive = engine_link->keep_alive(now);
      if (alive.is_ok() != link_up) {
        link_up = alive.is_ok();
        if (link_up) next_deny_refresh = now;   // catch up with what changed while the link was down
        std::fprintf(stderr, "citycard-reader: engine link %s\n", link_up ? "up" : ("down: " + alive.to_string()).c_str());
      }
      if (link_up) {
        ca::UploadReport report = (*agent)->upload_step(now);
        if (report.attempted && !report.error.is_ok()) {
          std::fprintf(stderr, "citycard-reader: upload: %s\n", report.error.to_string().c_str());
        }
        if (now >= next_deny_refresh) {
          Status refreshed = (*agent)->refresh_deny_list(now + 2s);
          if (!refreshed.is_ok()) std::fprintf(stderr, "citycard-reader: deny list: %s\n", refreshed.to_string().c_str());
          next_deny_refresh = now + (refreshed.is_ok() ? config->deny_list_refresh : 5s);
        }
      }
    }
    // Short waits so SIGTERM and uploads are served between cards.
    auto present = context->wait_for_card(reader, ca::Clock::now() + 250ms);
    if (!present) {
      std::fprintf(stderr, "citycard-reader: %s\n", present.status().to_string().c_str());
      if (present.status().code() != citycard::StatusCode::unavailable || stop_requested(stop_fd, 1000)) break;
      continue;
    }
    if (!*present) continue;
    auto connection = context->connect(reader);
    ca::TapOutcome outcome;
    if (!connection) {
      outcome.result = ca::TapResult::tap_again;
      outcome.detail = "card left before it could be read (" + connection.status().message() + ")";
    } else {
      outcome = (*agent)->handle_card(*connection, wall_clock_now());
      (void)connection->disconnect(citycard::pcsc::Disposition::leave);
    }
    std::printf("%s\n", (json ? ca::format_json(outcome) : ca::format_line(outcome)).c_str());
    std::fflush(stdout);
    ++handled;
    // One tap per presentation: wait until the card leaves the field.
    for (;;) {
      auto gone = context->wait_for_removal(reader, ca::Clock::now() + 250ms);
      if (!gone || *gone || stop_requested(stop_fd)) break;
    }
  }
  ::close(stop_fd);
  return 0;
}
