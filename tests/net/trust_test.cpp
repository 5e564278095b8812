// What the tap server trusts and whom it lets wait: the CA/CRL reloaded
// without a restart (open connections of a revoked reader closed, a
// handshake under way checked when it completes, a bad file changing
// nothing), handshake_timeout from accept to hello, and the rationing of
// connections before hello per source address and in total.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <thread>

#include "engine/net/admission.h"
#include "engine/net/log_budget.h"
#include "protocol/codec.h"
#include "tls_fixture.h"

using namespace citycard;
using namespace citycard::net;
using namespace citycard::net::testing;
using namespace std::chrono_literals;

namespace {

constexpr ReaderId reader_a{41};
constexpr ReaderId reader_b{42};

// A PKI of this test's own, so revoking changes no other test's.
struct OwnPki {
  OwnPki() {
    char pattern[] = "/tmp/citycard-trust-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    root = pattern;
    dir = root / "pki";
    REQUIRE(pki::init(dir).is_ok());
    REQUIRE(pki::issue_engine(dir, {"localhost", "127.0.0.1"}).is_ok());
    for (ReaderId reader : {reader_a, reader_b}) REQUIRE(pki::issue_reader(dir, reader).is_ok());
  }
  ~OwnPki() {
    std::error_code ignored;
    std::filesystem::remove_all(root, ignored);
  }
  TlsFiles files() const {
    pki::Paths paths{dir};
    return TlsFiles{paths.ca_certificate(), paths.crl(), paths.engine_certificate(), paths.engine_key()};
  }
  ServerOptions options() const {
    ServerOptions options = server_options();
    options.tls = files();
    return options;
  }
  uplink::UplinkOptions client(std::uint16_t port, ReaderId reader) const {
    auto options = client_options(port, reader, dir);
    options.ca_certificate = pki::Paths{dir}.ca_certificate();
    return options;
  }
  std::filesystem::path root;
  std::filesystem::path dir;
};

// A plain TCP connection from `source` (an address of 127/8) that sends nothing.
int plain_connect(std::uint16_t port, const char* source = "127.0.0.1") {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &from.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  return fd;
}

// Whether the server closed the connection (EOF or reset) within the timeout.
bool closed_by_server(int fd, std::chrono::milliseconds timeout = 3000ms) {
  pollfd entry{fd, POLLIN, 0};
  if (::poll(&entry, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char byte;
  return ::recv(fd, &byte, 1, MSG_DONTWAIT) <= 0;
}

}  // namespace

TEST_CASE("a connection that finishes TLS but says no hello is closed with timeout at handshake_timeout from accept") {
  OwnPki own;
  ServerOptions options = own.options();
  options.handshake_timeout = 1500ms;  // room for a TLS handshake on a busy machine
  options.idle_timeout = 30000ms;      // far beyond: only the hello deadline can close it in time
  TestServer server(options);
  uplink::Uplink silent(own.client(server.server->port(), reader_a));
  REQUIRE(silent.connect(uplink::Uplink::Greeting::none).is_ok());
  auto message = silent.receive(20000ms);
  INFO(message.status().to_string());
  REQUIRE(message);
  auto* error = std::get_if<protocol::ErrorFrame>(&message.value());
  REQUIRE(error != nullptr);
  CHECK(error->code == protocol::ErrorCode::timeout);
  CHECK(error->message.find("no hello within handshake_timeout (1500 ms from accept)") != std::string::npos);
  CHECK(server.server->stats().connections_errored == 1);

  // One that says hello in time is served, and its hello deadline is over.
  uplink::Uplink greeted(own.client(server.server->port(), reader_b));
  REQUIRE(greeted.connect().is_ok());
  std::this_thread::sleep_for(1800ms);  // past where its hello deadline was
  auto reply = greeted.submit(make_batch(reader_b, 1, 1, 2));
  REQUIRE(reply);
  CHECK(reply->decisions.decisions.size() == 2);
}

TEST_CASE("a revoke and a reload close the revoked reader's open connection and refuse its next handshake") {
  OwnPki own;
  TestServer server(own.options());
  std::uint16_t port = server.server->port();
  uplink::Uplink revoked(own.client(port, reader_a));
  uplink::Uplink other(own.client(port, reader_b));
  REQUIRE(revoked.connect().is_ok());
  REQUIRE(other.connect().is_ok());
  REQUIRE(revoked.submit(make_batch(reader_a, 1, 1, 2)));
  REQUIRE(other.submit(make_batch(reader_b, 1, 1, 2)));

  REQUIRE(pki::revoke_reader(own.dir, reader_a).is_ok());
  // Nothing changes before the reload: the CRL in force is the old one.
  REQUIRE(revoked.submit(make_batch(reader_a, 2, 10, 2)));

  auto reloaded = server.server->reload_tls(own.files());
  INFO(reloaded.status().to_string());
  REQUIRE(reloaded);
  CHECK(reloaded->connections_closed == 1);
  CHECK_FALSE(revoked.receive(3000ms));  // closed, without a word
  CHECK(server.logged("the reloaded CA/CRL refuse its certificate (certificate revoked)"));

  uplink::Uplink again(own.client(port, reader_a));
  CHECK_FALSE(again.connect().is_ok());
  CHECK(eventually([&] { return server.logged("handshake refused"); }));

  // The other reader's connection was never interrupted.
  auto reply = other.submit(make_batch(reader_b, 2, 10, 3));
  REQUIRE(reply);
  CHECK(reply->decisions.decisions.size() == 3);
  ServerStats stats = server.server->stats();
  CHECK(stats.trust_reloads == 1);
  CHECK(stats.closed_untrusted == 1);
}

TEST_CASE("a handshake under way when the CRL is reloaded is checked against the new one when it completes") {
  OwnPki own;
  TestServer server(own.options());
  std::uint16_t port = server.server->port();
  // TCP first: the connection is made with the old CA/CRL.
  int fd = plain_connect(port);
  REQUIRE(eventually([&] { return server.server->stats().connections_accepted == 1; }));
  REQUIRE(pki::revoke_reader(own.dir, reader_a).is_ok());
  REQUIRE(server.server->reload_tls(own.files()));

  // Then TLS with the now revoked certificate, then hello (into a socket the
  // server may have closed already).
  std::signal(SIGPIPE, SIG_IGN);
  pki::Paths paths{own.dir};
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  REQUIRE(SSL_CTX_use_certificate_file(context, paths.reader_certificate(reader_a).c_str(), SSL_FILETYPE_PEM) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey_file(context, paths.reader_key(reader_a).c_str(), SSL_FILETYPE_PEM) == 1);
  SSL* ssl = SSL_new(context);
  SSL_set_fd(ssl, fd);
  bool hello_acked = false;
  if (SSL_connect(ssl) == 1) {
    auto hello = protocol::encode(protocol::Hello{1, 1, reader_a, "test"});
    REQUIRE(hello);
    SSL_write(ssl, hello->data(), static_cast<int>(hello->size()));
    pollfd entry{fd, POLLIN, 0};
    if (::poll(&entry, 1, 3000) > 0) {
      std::uint8_t buffer[256];
      hello_acked = SSL_read(ssl, buffer, sizeof buffer) > 0;
    }
  }
  SSL_free(ssl);
  SSL_CTX_free(context);
  ::close(fd);
  CHECK_FALSE(hello_acked);
  CHECK(eventually([&] { return server.server->stats().closed_untrusted == 1; }));
  CHECK(server.logged("closed after the handshake: the reloaded CA/CRL refuse its certificate (certificate revoked)"));
  CHECK(server.sink.batches_submitted() == 0);
}

TEST_CASE("a reload with a file that cannot be used changes nothing") {
  OwnPki own;
  TestServer server(own.options());
  std::uint16_t port = server.server->port();
  uplink::Uplink open(own.client(port, reader_a));
  REQUIRE(open.connect().is_ok());
  TlsFiles broken = own.files();
  broken.crl = (own.root / "garbage.pem").string();
  std::ofstream(broken.crl) << "not a CRL\n";
  auto reloaded = server.server->reload_tls(broken);
  CHECK(reloaded.status().code() == StatusCode::invalid_argument);
  CHECK(reloaded.status().message().find("garbage.pem") != std::string::npos);
  CHECK(server.server->stats().trust_reloads == 0);
  REQUIRE(open.submit(make_batch(reader_a, 1, 1, 1)));
  uplink::Uplink fresh(own.client(port, reader_b));
  CHECK(fresh.connect().is_ok());
}

TEST_CASE("connections before hello are rationed per source address and in total, the refused closed at accept") {
  OwnPki own;
  ServerOptions options = own.options();
  options.pending_per_address_max = 4;
  options.pending_connections_max = 6;
  TestServer server(options);
  std::uint16_t port = server.server->port();
  auto stats = [&] { return server.server->stats(); };

  // Ten from one address: four wait for their handshake, six are closed at once.
  std::vector<int> first;
  for (int i = 0; i < 10; ++i) first.push_back(plain_connect(port, "127.0.0.2"));
  REQUIRE(eventually([&] { return stats().connections_accepted == 10; }));
  CHECK(stats().refused_pending_per_address == 6);
  int closed = 0;
  for (int fd : first) closed += closed_by_server(fd, 200ms) ? 1 : 0;
  CHECK(closed == 6);
  CHECK(stats().connections_open == 4);

  // Another address gets two more in, then the total is reached.
  std::vector<int> second;
  for (int i = 0; i < 4; ++i) second.push_back(plain_connect(port, "127.0.0.3"));
  REQUIRE(eventually([&] { return stats().connections_accepted == 14; }));
  CHECK(stats().refused_pending_total == 2);
  CHECK(stats().connections_open == 6);
  // So is a reader's, from a third address, while they wait.
  uplink::Uplink reader(own.client(port, reader_a));
  CHECK_FALSE(reader.connect().is_ok());
  CHECK(stats().refused_pending_total == 3);
  // At most one line a second about refusals, however many there are.
  CHECK(server.logged("closed at accept"));
  std::size_t lines = 0;
  {
    std::lock_guard lock(server.log_mutex);
    for (const auto& line : server.log) lines += line.find("closed at accept") != std::string::npos ? 1 : 0;
  }
  CHECK(lines <= 2);

  // When the waiting ones go, the reader gets in; once past hello it no
  // longer counts, so four more from its address wait beside it.
  for (int fd : first) ::close(fd);
  for (int fd : second) ::close(fd);
  REQUIRE(eventually([&] { return stats().connections_open == 0; }));
  REQUIRE(reader.connect().is_ok());
  std::vector<int> beside;
  for (int i = 0; i < 4; ++i) beside.push_back(plain_connect(port));
  REQUIRE(eventually([&] { return stats().connections_open == 5; }));
  CHECK(stats().refused_pending_per_address == 6);
  REQUIRE(reader.submit(make_batch(reader_a, 1, 1, 2)));
  for (int fd : beside) ::close(fd);
}

TEST_CASE("the descriptor budget keeps the reserve free: the descriptor just accepted bounds what is in use") {
  // The kernel gives out the lowest free descriptor: one numbered past the
  // limit less the reserve means the reserve is already being eaten.
  FdBudget budget(256);
  REQUIRE(budget.limit() > 300);
  auto now = std::chrono::steady_clock::now();
  std::size_t ceiling = budget.limit() - 256;
  CHECK(budget.allows(3, 0, now));
  CHECK_FALSE(budget.allows(static_cast<int>(ceiling), 0, now));
  // The counted rest of the process, plus the connections, must fit too.
  CHECK_FALSE(budget.allows(3, ceiling, now + 1s));
  FdBudget everything_reserved(budget.limit());
  CHECK_FALSE(everything_reserved.allows(3, 0, now));
}

TEST_CASE("the server's log lines are bounded per second, and what was left out is counted in the next line") {
  LogBudget budget(3);
  std::vector<std::string> lines;
  std::function<void(std::string_view)> out = [&](std::string_view line) { lines.emplace_back(line); };
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) budget.write(out, "handshake refused " + std::to_string(i), start + 1ms);
  CHECK(lines.size() == 3);
  budget.write(out, "later", start + 1500ms);
  REQUIRE(lines.size() == 5);
  CHECK(lines[3] == "997 log lines suppressed (more than 3 a second)");
  CHECK(lines[4] == "later");
}
