// The reader agent online, in process: the real net::Server on a loopback
// port with mutual TLS and certificates made by engine/pki (TestPki from
// tests/net), the net layer's test TapSink (RememberingTapSink: it decides
// by tap id and remembers, flagging resends as replayed -- a stand-in until
// the engine's own sink exists), an in-memory deny list, and a card
// application in process instead of PC/SC.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <mutex>
#include <vector>

#include "agent.h"
#include "card_application.h"
#include "engine/net/memory_deny_list.h"
#include "engine/net/server.h"
#include "temp_dir.h"
#include "tls_fixture.h"
#include "uplink_link.h"

namespace citycard::test {

inline card::MasterKey online_master() {
  return card::MasterKey{*card::parse_key_hex("000102030405060708090A0B0C0D0E0F"), 1};
}
// The agent's card keys in process (the token is tested on its own and end
// to end through pcscd).
inline card::MasterKeySource& online_keys() {
  static card::MasterKeySource source(online_master());
  return source;
}

class InProcessCard final : public card::CardTransport {
 public:
  explicit InProcessCard(emulator::CardApplication& card) : card_(card) {}
  Result<card::Bytes> transmit(card::ByteView command) override { return card_.process(command); }

 private:
  emulator::CardApplication& card_;
};

inline emulator::CardProfile card_profile(const char* uid) {
  emulator::CardProfile profile;
  profile.uid = *card::parse_hex(uid);
  profile.record.card_id = *CardId::parse(uid);
  profile.key = card::diversify_card_key(online_master(), profile.record.card_id);
  return profile;
}

// Presents the card once (a fresh application each time; the counter is
// kept in the profile the caller passes).
inline agent::TapOutcome present(agent::Agent& agent, emulator::CardProfile& profile) {
  emulator::CardApplication card(profile);
  InProcessCard transport(card);
  agent::TapOutcome outcome = agent.handle_card(transport, EventTime::from_unix_seconds(1'700'000'000));
  profile.atc = card.atc();
  return outcome;
}

// The net test sink, plus every record in the order the server handed it over.
class RecordingSink final : public net::TapSink {
 public:
  explicit RecordingSink(std::chrono::milliseconds delay) : inner(delay) {}
  void submit(ReaderId reader, std::vector<protocol::TapRecord> taps,
              std::function<void(net::SubmitResult)> done) override {
    {
      std::lock_guard lock(mutex_);
      records_.insert(records_.end(), taps.begin(), taps.end());
    }
    inner.submit(reader, std::move(taps), std::move(done));
  }
  std::vector<protocol::TapRecord> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }

  net::testing::RememberingTapSink inner;

 private:
  mutable std::mutex mutex_;
  std::vector<protocol::TapRecord> records_;
};

// An engine on 127.0.0.1 (port 0 = ephemeral); it keeps what it decided
// only as long as the object lives.
struct LoopbackEngine {
  explicit LoopbackEngine(std::uint16_t port = 0, std::chrono::milliseconds sink_delay = std::chrono::milliseconds(0),
                          net::ServerOptions options = net::testing::server_options())
      : sink(sink_delay) {
    options.port = port;
    options.log = [this](std::string_view line) {
      std::lock_guard lock(log_mutex);
      log.emplace_back(line);
    };
    auto started = net::Server::start(std::move(options), sink, &deny_list);
    INFO(started.status().to_string());
    REQUIRE(started);
    server = std::move(started).value();
  }
  std::uint16_t port() const { return server->port(); }
  bool logged(std::string_view text) {
    std::lock_guard lock(log_mutex);
    for (const auto& line : log) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

  std::mutex log_mutex;
  std::vector<std::string> log;   // the server's event lines
  RecordingSink sink;
  net::MemoryDenyList deny_list;
  std::unique_ptr<net::Server> server;
};

// A port nothing listens on (an engine that was there and is gone).
inline std::uint16_t dead_port() {
  LoopbackEngine gone;
  return gone.port();
}

// Reader 17's agent config for an engine at 127.0.0.1:port, with its
// certificate from TestPki; state in dir.
inline agent::AgentConfig online_config(const TempDir& dir, std::uint16_t port) {
  const auto& pki = net::testing::TestPki::get();
  pki::Paths paths{pki.dir};
  agent::AgentConfig config;
  config.reader = net::testing::good_reader;
  config.operator_id = OperatorId{3};
  config.mode = Mode::bus_board;
  config.route = 307;
  config.location = 12;
  config.state_dir = dir.file("state");
  config.token.pin_env = "UNUSED_IN_PROCESS";
  config.engine_address = "127.0.0.1:" + std::to_string(port);
  config.ca_file = paths.ca_certificate();
  config.cert_file = paths.reader_certificate(net::testing::good_reader);
  config.key_file = paths.reader_key(net::testing::good_reader);
  config.backoff_initial = std::chrono::milliseconds(20);
  config.backoff_max = std::chrono::milliseconds(200);
  config.upload_timeout = std::chrono::milliseconds(3000);
  // Online decisions are these tests' subject, not the rider's 150 ms: on a
  // busy machine a round trip over TLS can take longer (the timeout has its
  // own test, the budget is bench/readers').
  config.engine_timeout = std::chrono::milliseconds(30000);
  return config;
}

inline std::unique_ptr<agent::UplinkEngineLink> make_link(const agent::AgentConfig& config) {
  auto options = agent::uplink_link_options(config);
  INFO(options.status().to_string());
  REQUIRE(options);
  options->reconnect_interval = std::chrono::milliseconds(50);
  options->reconnect_interval_max = std::chrono::milliseconds(200);
  return std::make_unique<agent::UplinkEngineLink>(std::move(*options));
}

inline std::unique_ptr<agent::Agent> open_agent(const agent::AgentConfig& config, agent::EngineLink& link) {
  auto opened = agent::Agent::open(config, online_keys(), link);
  INFO(opened.status().to_string());
  REQUIRE(opened);
  return std::move(*opened);
}

// Uploads until the queue is empty or the deadline passes.
inline void upload_all(agent::Agent& agent, std::chrono::milliseconds within) {
  auto deadline = agent::Clock::now() + within;
  while (!agent.queue().pending().empty() && agent::Clock::now() < deadline) {
    agent::UploadReport report = agent.upload_step(agent::Clock::now());
    if (!report.attempted) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace citycard::test
