// Shared by the trust-at-the-edge process tests (pki_process_test.cpp,
// flood_test.cpp): cards in a ledger, a PKI made before the engine starts,
// a reader over the real uplink, and the engine's metrics and admin socket
// as an operator would read them.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cstdlib>
#include <thread>

#include "engine/pki/pki.h"
#include "engine_fixture.h"
#include "engine_process.h"
#include "readers/uplink/uplink.h"

namespace citycard::engine::testing {


inline constexpr int card_count = 20;

inline std::string card_hex(int i) {
  char text[16];
  std::snprintf(text, sizeof text, "0D%08X", i);
  return text;
}

// The readers these tests connect as: library terminals of operator 501.
inline constexpr std::uint32_t edge_readers[] = {1, 2, 3, 7};

inline void issue_cards(const std::filesystem::path& data) {
  auto ledger = make_ledger(data / "ledger");
  for (int i = 0; i < card_count; ++i) issue_card(*ledger, card_hex(i), 5000);
  for (std::uint32_t reader : edge_readers) register_reader(*ledger, reader, 501, ReaderKind::identity_terminal);
}

// The engine runs on the real clock: taps are dated an hour ago.
inline std::int64_t an_hour_ago_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count() -
         3'600'000'000LL;
}

// A PKI made before the engine's first start, as an operator would: the
// engine then uses it instead of making one. `crl` is the CRL's validity.
inline void make_pki(const std::filesystem::path& dir, pki::Validity crl, std::initializer_list<std::uint32_t> readers) {
  REQUIRE(pki::init(dir, pki::ca_validity(), crl).is_ok());
  REQUIRE(pki::issue_engine(dir, {"localhost", "127.0.0.1"}).is_ok());
  for (std::uint32_t reader : readers) REQUIRE(pki::issue_reader(dir, ReaderId{reader}).is_ok());
}

// One reader over the real uplink, registered by issue_cards.
class Reader {
 public:
  Reader(const std::filesystem::path& pki_dir, ReaderId id, std::uint16_t port, std::string certificate = {},
         std::string key = {})
      : id_(id), link_(options(pki_dir, id, port, std::move(certificate), std::move(key))) {}

  Status connect() { return link_.connect(); }
  // Before stopping the engine: a link left open waits out its drain.
  void close() { link_.close(); }
  // Taps of one batch approved (library sign-ins), or the status that broke the link.
  Result<std::size_t> tap(std::size_t count = 4) {
    std::vector<protocol::TapRecord> taps;
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint64_t sequence = next_sequence();
      taps.push_back(make_tap(id_.value, sequence, card_hex(static_cast<int>(sequence % card_count)), Mode::identify, 501,
                              an_hour_ago_us()));
    }
    auto decisions = decide(std::move(taps));
    if (!decisions) return decisions.status();
    std::size_t approved = 0;
    for (const auto& decision : *decisions) approved += decision.outcome == protocol::Outcome::approved;
    return approved;
  }
  // One batch decided (retried while the engine says retry_later).
  Result<std::vector<protocol::DecisionRecord>> decide(std::vector<protocol::TapRecord> taps) {
    protocol::TapBatch batch;
    batch.batch_id = ++batches_;
    batch.taps = std::move(taps);
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto reply = link_.submit(batch);
      if (!reply) return reply.status();
      if (reply->kind == uplink::BatchReply::Kind::decided) return reply->decisions.decisions;
      std::this_thread::sleep_for(std::chrono::milliseconds(reply->retry.retry_after_ms));
    }
    return Status::busy("retry_later 50 times");
  }
  std::uint64_t next_sequence() { return ++sequence_; }
  // True once the engine has closed this link (waits up to the timeout).
  bool closed_by_engine(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    auto message = link_.receive(timeout);
    return !message && !link_.connected();
  }

 private:
  static uplink::UplinkOptions options(const std::filesystem::path& pki_dir, ReaderId id, std::uint16_t port,
                                       std::string certificate, std::string key) {
    pki::Paths paths{pki_dir};
    uplink::UplinkOptions options;
    options.port = port;
    options.ca_certificate = paths.ca_certificate().string();
    options.certificate = certificate.empty() ? paths.reader_certificate(id).string() : certificate;
    options.private_key = key.empty() ? paths.reader_key(id).string() : key;
    options.reader = id;
    options.connect_timeout = std::chrono::milliseconds(10000);
    options.reply_timeout = std::chrono::milliseconds(10000);
    return options;
  }
  ReaderId id_;
  uplink::Uplink link_;
  std::uint64_t sequence_ = 0;
  std::uint64_t batches_ = 0;
};

inline std::string run(const std::string& command, int* exit_code) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  int status = ::pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

// GET /metrics; the value of the sample named exactly `name` (labels included).
inline double metric(std::uint16_t port, const std::string& name) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
  std::string body;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) body.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  auto at = body.find("\n" + name + " ");
  INFO(name);
  REQUIRE(at != std::string::npos);
  return std::strtod(body.c_str() + at + name.size() + 2, nullptr);
}

// One admin request on the engine's socket; the reply line.
inline std::string admin_request(const std::filesystem::path& socket_path, const std::string& line) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path.c_str());
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  std::string request = line + "\n";
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
  std::string reply;
  char buffer[1024];
  pollfd entry{fd, POLLIN, 0};
  while (reply.find('\n') == std::string::npos && ::poll(&entry, 1, 10000) > 0) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    reply.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply;
}

// Waits (up to 20 s) for the predicate to hold.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = std::chrono::milliseconds(20000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return predicate();
}

// Waits for a metric of the running engine to reach `at_least`.
inline bool eventually_metric(const EngineProcess& engine, const std::string& name, double at_least) {
  return eventually([&] { return metric(engine.metrics_port(), name) >= at_least; });
}

inline void check_ledger_verifies(const std::filesystem::path& data) {
  auto ledger = reopen_ledger(data / "ledger");
  auto report = ledger->verify();
  for (const auto& problem : report.problems) INFO(problem.kind + ": " + problem.detail);
  CHECK(report.ok());
}

}  // namespace citycard::engine::testing
