// Shared set-up for the TLS tests: a PKI in a temporary directory with good,
// expired, revoked and foreign reader certificates; a server on an ephemeral
// loopback port; uplink options for a given reader.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/net/memory_deny_list.h"
#include "engine/net/server.h"
#include "engine/pki/pki.h"
#include "readers/uplink/uplink.h"
#include "test_tap_sink.h"

namespace citycard::net::testing {

inline constexpr ReaderId good_reader{17};
inline constexpr ReaderId other_reader{18};
inline constexpr ReaderId revoked_reader{19};
inline constexpr ReaderId expired_reader{20};

struct TestPki {
  std::filesystem::path dir;      // our CA
  std::filesystem::path foreign;  // another CA nobody trusts

  static const TestPki& get() {
    static TestPki pki = make();
    return pki;
  }

 private:
  static TestPki make() {
    char pattern[] = "/tmp/citycard-net-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    TestPki pki{std::filesystem::path(pattern) / "pki", std::filesystem::path(pattern) / "foreign"};
    REQUIRE(pki::init(pki.dir).is_ok());
    REQUIRE(pki::issue_engine(pki.dir, {"localhost", "127.0.0.1"}).is_ok());
    for (ReaderId reader : {good_reader, other_reader, revoked_reader}) REQUIRE(pki::issue_reader(pki.dir, reader).is_ok());
    pki::Validity expired{std::chrono::hours(-48), std::chrono::hours(24)};
    REQUIRE(pki::issue_reader(pki.dir, expired_reader, expired).is_ok());
    REQUIRE(pki::revoke_reader(pki.dir, revoked_reader).is_ok());
    REQUIRE(pki::init(pki.foreign).is_ok());
    REQUIRE(pki::issue_reader(pki.foreign, good_reader).is_ok());
    return pki;
  }
};

// Polls for another thread's effect. The deadline only matters when the
// effect never comes; a busy machine may take seconds for one that does.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return predicate();
}

inline ServerOptions server_options() {
  const TestPki& pki = TestPki::get();
  pki::Paths paths{pki.dir};
  ServerOptions options;
  options.tls = TlsFiles{paths.ca_certificate(), paths.crl(), paths.engine_certificate(), paths.engine_key()};
  options.handshake_timeout = std::chrono::milliseconds(2000);
  options.idle_timeout = std::chrono::milliseconds(5000);
  options.frame_timeout = std::chrono::milliseconds(1000);
  options.write_timeout = std::chrono::milliseconds(1000);
  options.heartbeat_interval = std::chrono::milliseconds(1000);
  return options;
}

// A server with the test sink and a deny list, collecting its log lines.
struct TestServer {
  explicit TestServer(ServerOptions options = server_options(),
                      std::chrono::milliseconds sink_delay = std::chrono::milliseconds(0))
      : sink(sink_delay) {
    options.log = [this](std::string_view line) {
      std::lock_guard lock(log_mutex);
      log.emplace_back(line);
    };
    auto started = Server::start(std::move(options), sink, &deny_list);
    INFO(started.status().to_string());
    REQUIRE(started);
    server = std::move(started).value();
  }
  bool logged(std::string_view text) {
    std::lock_guard lock(log_mutex);
    for (const auto& line : log) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

  RememberingTapSink sink;
  MemoryDenyList deny_list;
  std::mutex log_mutex;
  std::vector<std::string> log;
  std::unique_ptr<Server> server;
};

// Uplink options for `reader`'s certificate from `dir` (our CA by default).
inline uplink::UplinkOptions client_options(std::uint16_t port, ReaderId certificate_of,
                                            std::filesystem::path dir = TestPki::get().dir) {
  pki::Paths ours{TestPki::get().dir};
  pki::Paths paths{dir};
  uplink::UplinkOptions options;
  options.port = port;
  options.ca_certificate = ours.ca_certificate();
  options.certificate = paths.reader_certificate(certificate_of);
  options.private_key = paths.reader_key(certificate_of);
  options.reader = certificate_of;
  options.reply_timeout = std::chrono::milliseconds(3000);
  return options;
}

inline protocol::TapBatch make_batch(ReaderId reader, std::uint64_t batch_id, std::uint64_t first_sequence,
                                     std::size_t count) {
  protocol::TapBatch batch;
  batch.batch_id = batch_id;
  for (std::size_t i = 0; i < count; ++i) {
    protocol::TapRecord record;
    record.tap.id = TapId{reader, first_sequence + i};
    record.tap.card = *CardId::parse("04A1B2C3D4E5F6");
    record.tap.mode = Mode::bus_board;
    record.tap.event_time = EventTime::from_unix_seconds(1'700'000'000 + static_cast<std::int64_t>(i));
    record.tap.operator_id = OperatorId{1};
    batch.taps.push_back(record);
  }
  return batch;
}

}  // namespace citycard::net::testing
