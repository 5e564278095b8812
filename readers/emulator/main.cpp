// citycard-card-emulator: one citycard on a vsmartcard-vpcd slot.
//
//   citycard-card-emulator --port 35963 --uid 04A1B2C3D4E5F6 --card-key-hex <32 hex> [--key-version N]
//       [--behaviour genuine|clone|pull-after=N] [--status active|blocked|lost]
//
// The card holds only its own diversified key, as personalised by the card
// bureau (`citycard keys export`). --master-key-hex diversifies one from a
// test master key (test vectors only: deployed master keys live in a token).
//
// Connecting to vpcd puts the card in the field; closing the socket takes it
// away. Stops cleanly on SIGTERM/SIGINT (the card is removed on the way out).
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include "card/crypto.h"
#include "card_application.h"
#include "vpcd_link.h"

namespace ce = citycard::emulator;
namespace cc = citycard::card;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 35963;
  std::string uid_hex = "04A1B2C3D4E5F6";
  std::string card_id_hex;          // default: the UID
  std::string card_key_hex;
  std::string master_key_hex;
  unsigned key_version = 1;
  std::string category = "general";
  std::string media = "card";
  std::string status = "active";
  std::uint32_t atc = 0;
  std::string behaviour = "genuine";
  unsigned present_ms = 0;          // 0 = stay in the field until stopped or vpcd goes away
  unsigned gap_ms = 500;
  unsigned presentations = 0;       // 0 = present again and again
  bool exit_after_removal = false;
  unsigned connect_timeout_ms = 10000;
  bool verbose = false;
};

enum class Behaviour { genuine, clone, pull_after };

struct Plan {
  Behaviour behaviour = Behaviour::genuine;
  unsigned pull_after = 0;          // with pull_after: the APDU that is never answered
};

std::optional<Plan> parse_behaviour(const std::string& text) {
  if (text == "genuine") return Plan{Behaviour::genuine, 0};
  if (text == "clone") return Plan{Behaviour::clone, 0};
  const std::string prefix = "pull-after=";
  if (text.rfind(prefix, 0) == 0) {
    try {
      unsigned long n = std::stoul(text.substr(prefix.size()));
      if (n >= 1 && n < 1000000) return Plan{Behaviour::pull_after, static_cast<unsigned>(n)};
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

citycard::Result<ce::CardProfile> build_profile(const Options& options, const Plan& plan) {
  using citycard::Status;
  auto uid = cc::parse_hex(options.uid_hex);
  if (!uid || uid->empty() || uid->size() > citycard::CardId::bytes_max) return Status::invalid_argument("--uid: 1..16 bytes of hex");
  auto card_id = citycard::CardId::parse(options.card_id_hex.empty() ? options.uid_hex : options.card_id_hex);
  if (!card_id) return Status::invalid_argument("--card-id: 1..16 bytes of hex");
  cc::CardKey card_key;
  if (!options.card_key_hex.empty()) {
    auto key = cc::parse_key_hex(options.card_key_hex);
    if (!key) return Status::invalid_argument("--card-key-hex: " + key.status().message());
    card_key.bytes = *key;
  } else {
    auto key = cc::parse_key_hex(options.master_key_hex);
    if (!key) return Status::invalid_argument("--card-key-hex or --master-key-hex is required: " + key.status().message());
    card_key = cc::diversify_card_key(cc::MasterKey{*key, static_cast<std::uint8_t>(options.key_version)}, *card_id);
  }
  ce::CardProfile profile;
  profile.uid = *uid;
  profile.atc = options.atc;
  profile.record.key_version = static_cast<std::uint8_t>(options.key_version);
  profile.record.card_id = *card_id;
  auto category = citycard::parse_rider_category(options.category);
  auto media = citycard::parse_media(options.media);
  auto status = citycard::parse_card_status(options.status);
  if (!category) return Status::invalid_argument("--category: general|student|senior|disability|disability_companion|employee");
  if (!media) return Status::invalid_argument("--media: card|mobile|co_branded_credit");
  if (!status) return Status::invalid_argument("--status: active|blocked|lost|replaced");
  profile.record.category = *category;
  profile.record.media = *media;
  profile.record.status = *status;
  if (plan.behaviour == Behaviour::clone) {
    // A clone copied the UID and the readable record but never saw the key.
    if (RAND_bytes(profile.key.bytes.data(), static_cast<int>(profile.key.bytes.size())) != 1) {
      return Status::io_error("RAND_bytes failed");
    }
  } else {
    profile.key = card_key;
  }
  return profile;
}

enum class SessionEnd { removed, stop_requested, vpcd_gone };

// One presentation: serve vpcd until the card leaves the field.
citycard::Result<SessionEnd> serve(ce::VpcdConnection& link, ce::CardApplication& card, const Plan& plan,
                                   ce::Clock::time_point leave_at, bool verbose) {
  unsigned apdus = 0;
  cc::Bytes payload;
  for (;;) {
    auto outcome = link.read_frame(payload, leave_at);
    if (!outcome) return outcome.status();
    switch (*outcome) {
      case ce::ReadOutcome::deadline: return SessionEnd::removed;
      case ce::ReadOutcome::stop_requested: return SessionEnd::stop_requested;
      case ce::ReadOutcome::peer_closed: return SessionEnd::vpcd_gone;
      case ce::ReadOutcome::frame: break;
    }
    if (payload.size() == 1) {
      if (payload[0] == 0x04) {
        if (auto sent = link.send_frame(ce::CardApplication::atr()); !sent) return sent;
      } else {
        card.reset();  // 00 power off, 01 power on, 02 reset
      }
      continue;
    }
    ++apdus;
    if (plan.behaviour == Behaviour::pull_after && apdus >= plan.pull_after) {
      if (verbose) std::fprintf(stderr, "emulator: pulled away at APDU %u without answering\n", apdus);
      return SessionEnd::removed;
    }
    cc::Bytes response = card.process(payload);
    if (verbose) std::fprintf(stderr, "emulator: %s -> %s\n", cc::to_hex(payload).c_str(), cc::to_hex(response).c_str());
    if (auto sent = link.send_frame(response); !sent) return sent;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"citycard card emulator for the vsmartcard-vpcd virtual reader"};
  app.add_option("--host", options.host, "vpcd address (IPv4)");
  app.add_option("--port", options.port, "vpcd TCP port of the slot (35963 = first slot)");
  app.add_option("--uid", options.uid_hex, "UID answered to GET UID, hex");
  app.add_option("--card-id", options.card_id_hex, "card id in the record, hex (default: the UID)");
  app.add_option("--card-key-hex", options.card_key_hex, "the card's diversified key, 32 hex digits (citycard keys export)");
  app.add_option("--master-key-hex", options.master_key_hex, "test master key to diversify the card key from (test vectors only)");
  app.add_option("--key-version", options.key_version, "the card's key version, in its record (default 1)")->check(CLI::Range(1, 255));
  app.add_option("--category", options.category, "rider category hint");
  app.add_option("--media", options.media, "card|mobile|co_branded_credit");
  app.add_option("--status", options.status, "card status in the record: active|blocked|lost|replaced");
  app.add_option("--atc", options.atc, "transaction counter at start");
  app.add_option("--behaviour", options.behaviour, "genuine | clone (UID copied, wrong key) | pull-after=N (leave at the Nth APDU)");
  app.add_option("--present-ms", options.present_ms, "time in the field per presentation; 0 = until stopped");
  app.add_option("--gap-ms", options.gap_ms, "time out of the field between presentations");
  app.add_option("--presentations", options.presentations, "number of presentations; 0 = forever");
  app.add_flag("--exit-after-removal", options.exit_after_removal, "exit when the card first leaves the field");
  app.add_option("--connect-timeout-ms", options.connect_timeout_ms, "how long to retry while vpcd refuses");
  app.add_flag("-v,--verbose", options.verbose, "log every APDU to stderr");
  CLI11_PARSE(app, argc, argv);

  auto plan = parse_behaviour(options.behaviour);
  if (!plan) {
    std::fprintf(stderr, "citycard-card-emulator: --behaviour must be genuine, clone or pull-after=N\n");
    return 2;
  }
  auto profile = build_profile(options, *plan);
  if (!profile) {
    std::fprintf(stderr, "citycard-card-emulator: %s\n", profile.status().to_string().c_str());
    return 2;
  }
  if (options.exit_after_removal) options.presentations = 1;

  // Signals arrive as readable data on a descriptor every wait polls, so no
  // handler and no global flag are needed.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  int stop_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
  if (stop_fd < 0) {
    std::perror("signalfd");
    return 1;
  }

  ce::CardApplication card(std::move(*profile));
  int exit_code = 0;
  for (unsigned presented = 0; options.presentations == 0 || presented < options.presentations; ++presented) {
    auto connect_deadline = ce::Clock::now() + std::chrono::milliseconds(options.connect_timeout_ms);
    auto link = ce::VpcdConnection::connect(options.host, options.port, connect_deadline, stop_fd);
    if (!link) {
      std::fprintf(stderr, "citycard-card-emulator: %s\n", link.status().to_string().c_str());
      exit_code = 1;
      break;
    }
    if (options.verbose) std::fprintf(stderr, "emulator: card in the field (presentation %u)\n", presented + 1);
    card.reset();
    auto leave_at = options.present_ms == 0 ? ce::Clock::time_point::max()
                                            : ce::Clock::now() + std::chrono::milliseconds(options.present_ms);
    auto end = serve(*link, card, *plan, leave_at, options.verbose);
    link->close();
    if (!end) {
      std::fprintf(stderr, "citycard-card-emulator: %s\n", end.status().to_string().c_str());
      exit_code = 1;
      break;
    }
    if (options.verbose) std::fprintf(stderr, "emulator: card left the field\n");
    if (*end == SessionEnd::stop_requested) break;
    if (*end == SessionEnd::vpcd_gone && options.present_ms == 0 && options.presentations == 1) break;
    pollfd entry{stop_fd, POLLIN, 0};
    if (::poll(&entry, 1, static_cast<int>(options.gap_ms)) > 0) break;
  }
  ::close(stop_fd);
  return exit_code;
}
