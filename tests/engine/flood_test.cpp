// citycard-engine under `ulimit -n 1024` and a flood of plain TCP connects
// that never start TLS, far more than it has descriptors, from several
// threads and source addresses (all of 127/8 is loopback): it stays up,
// nothing aborts, a registered reader keeps getting its taps decided during
// the flood and a new one connects after it, the admin socket answers
// throughout, the log stays bounded and the ledger verifies afterwards.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include <atomic>

#include "edge_fixture.h"

namespace citycard::engine::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Threads that each keep `per_address` connects open from each of their
// source addresses, opening new ones as the engine closes them. They send
// nothing: each costs the engine a descriptor until it is refused at accept
// or its handshake times out.
class Flood {
 public:
  Flood(std::uint16_t port, std::vector<std::vector<std::string>> addresses_per_thread, std::size_t per_address)
      : port_(port) {
    for (auto& addresses : addresses_per_thread) {
      threads_.emplace_back([this, addresses, per_address] { run(addresses, per_address); });
    }
  }
  ~Flood() { stop(); }
  void stop() {
    stopping_ = true;
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  std::uint64_t connects() const { return connects_.load(); }
  // The most sockets the threads held at once.
  std::uint64_t open_max() const { return open_max_.load(); }

 private:
  int connect_from(const std::string& source) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);  // the port at connect, per destination
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port_);
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
        (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)) {
      ::close(fd);
      return -1;
    }
    ++connects_;
    return fd;
  }

  void run(const std::vector<std::string>& addresses, std::size_t per_address) {
    std::vector<pollfd> open;
    std::vector<std::size_t> owner;  // index into addresses
    std::vector<std::size_t> count(addresses.size(), 0);
    std::size_t counted = 0;  // of open, in open_now_
    while (!stopping_) {
      // Top up, a bounded number per turn: a flood, not a spin.
      for (std::size_t a = 0; a < addresses.size(); ++a) {
        for (int made = 0; count[a] < per_address && made < 25; ++made) {
          int fd = connect_from(addresses[a]);
          if (fd < 0) break;
          open.push_back(pollfd{fd, POLLIN, 0});
          owner.push_back(a);
          ++count[a];
        }
      }
      std::uint64_t now_open = open_now_.fetch_add(open.size() - counted) + open.size() - counted;
      counted = open.size();
      for (std::uint64_t seen = open_max_.load(); now_open > seen && !open_max_.compare_exchange_weak(seen, now_open);) {
      }
      ::poll(open.data(), open.size(), 10);
      for (std::size_t i = open.size(); i-- > 0;) {
        if (open[i].revents == 0) continue;
        ::close(open[i].fd);  // closed by the engine (or refused): make another
        --count[owner[i]];
        --counted;
        --open_now_;
        open[i] = open.back();
        owner[i] = owner.back();
        open.pop_back();
        owner.pop_back();
      }
    }
    for (const pollfd& entry : open) ::close(entry.fd);
    open_now_ -= counted;
  }

  std::uint16_t port_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> connects_{0};
  std::atomic<std::uint64_t> open_now_{0};  // sockets all threads hold
  std::atomic<std::uint64_t> open_max_{0};
  std::vector<std::thread> threads_;
};

std::vector<std::vector<std::string>> source_addresses(int threads, int addresses_each, int first) {
  std::vector<std::vector<std::string>> out(static_cast<std::size_t>(threads));
  int next = first;
  for (auto& addresses : out) {
    for (int i = 0; i < addresses_each; ++i) addresses.push_back("127.0.0." + std::to_string(next++));
  }
  return out;
}

// Taps from an open link until told to stop; counts decided taps.
struct Tapping {
  Tapping(Reader& reader) : thread([this, &reader] {
      while (!stop) {
        auto decided = reader.tap();
        if (!decided) {
          failure = decided.status().to_string();
          return;
        }
        taps += *decided;
        std::this_thread::sleep_for(20ms);
      }
    }) {}
  ~Tapping() { finish(); }
  void finish() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> taps{0};
  std::string failure;
  std::thread thread;
};

}  // namespace

TEST_CASE("a flood of TCP connects under ulimit -n 1024 stops neither the engine nor a reader") {
  // The flood holds thousands of sockets on this side.
  rlimit ours{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &ours) == 0);
  if (ours.rlim_cur < ours.rlim_max) {
    ours.rlim_cur = ours.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &ours);
  }
  REQUIRE(ours.rlim_cur >= 8192);

  TempDir dir("engine-flood");

  issue_cards(dir.path);
  std::filesystem::path pki_dir = dir.path / "pki";
  make_pki(pki_dir, pki::crl_validity(), {1, 2, 3});
  EngineProcess engine(dir.path, "[server]\nhandshake_timeout_ms = 2500\n");
  engine.set_fd_limit(1024);
  engine.start();
  CHECK(engine.log_count("event=fd_limit soft_before=1024 soft=1024 hard=1024") == 1);
  CHECK(metric(engine.metrics_port(), "citycard_fd_limit") == 1024);
#ifndef __SANITIZE_ADDRESS__  // no tcmalloc, no huge page heap there
  // Its heap on huge pages (pipeline.huge_page_heap, on by default); started,
  // it has taken regions (the card cache, the memtables).
  CHECK(metric(engine.metrics_port(), "citycard_heap_huge_pages") == 1);
#endif
  auto started = Clock::now();

  Reader first(pki_dir, ReaderId{1}, engine.port());
  REQUIRE(first.connect().is_ok());
  Tapping tapping(first);

  // Eight source addresses: at most 8 x 64 wait for a handshake, under the
  // descriptor budget, so a new reader from 127.0.0.1 still gets in.
  {
    Flood flood(engine.port(), source_addresses(4, 2, 10), 150);
    REQUIRE(eventually_metric(engine, "citycard_connections_refused_total{reason=\"pending_per_address\"}", 1));
    std::size_t before = tapping.taps;
    // A busy engine may take long over a handshake: a reader tries again,
    // as it would in the field.
    Reader second(pki_dir, ReaderId{2}, engine.port());
    Status connected = second.connect();
    for (int attempt = 1; attempt < 5 && !connected.is_ok(); ++attempt) connected = second.connect();
    INFO(connected.to_string());
    REQUIRE(connected.is_ok());
    auto decided = second.tap();
    REQUIRE(decided);
    CHECK(*decided == 4);
    CHECK(eventually([&] { return tapping.taps > before; }));
    // Far more connections than the engine has descriptors.
    CHECK(eventually([&] { return flood.connects() > 3 * 1024; }));
    INFO("connects: " << flood.connects() << ", open at most " << flood.open_max());
    CHECK(engine.alive());
  }

  // Twenty-four addresses: the waiting ones would take more descriptors than
  // the engine has, so the reserve closes them at accept; the reader already
  // connected goes on, and the card office still gets an answer.
  {
    Flood flood(engine.port(), source_addresses(8, 3, 30), 120);
    REQUIRE(eventually_metric(engine, "citycard_connections_refused_total{reason=\"fd_reserve\"}", 1));
    // Long enough for the waiting ones to be closed at their handshake
    // deadline, and their places taken by the flood again.
    double timed_out = metric(engine.metrics_port(), "citycard_handshakes_failed_total");
    REQUIRE(eventually_metric(engine, "citycard_handshakes_failed_total", timed_out + 200));
    std::size_t before = tapping.taps;
    CHECK(eventually([&] { return tapping.taps > before + 8; }));
    std::string pong = admin_request(engine.admin_socket(), "{\"op\":\"ping\"}");
    CHECK(pong.find("\"ok\":true") != std::string::npos);
    CHECK(eventually([&] { return flood.connects() > 4 * 1024; }));
    INFO("connects: " << flood.connects() << ", open at most " << flood.open_max());
    CHECK(engine.alive());
  }
  tapping.finish();
  INFO(tapping.failure);
  CHECK(tapping.failure.empty());
  CHECK(tapping.taps > 0);

  // After the flood a new reader connects, once the waiting ones are gone.
  Reader third(pki_dir, ReaderId{3}, engine.port());
  Status connected = Status::unavailable("not tried");
  for (int attempt = 0; attempt < 50 && !connected.is_ok(); ++attempt) {
    connected = third.connect();
    if (!connected.is_ok()) std::this_thread::sleep_for(200ms);
  }
  INFO(connected.to_string());
  REQUIRE(connected.is_ok());
  auto decided = third.tap();
  REQUIRE(decided);
  CHECK(*decided == 4);
  first.close();
  third.close();

  CHECK(engine.alive());
  // The reserve kept the engine from running out: accept never failed.
  CHECK(metric(engine.metrics_port(), "citycard_accept_errors_total") == 0);
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::string log = engine.log_text();
  CHECK(log.find("ledger_write_failed") == std::string::npos);
  CHECK(log.find("invariant_broken") == std::string::npos);
  // Bounded: 20 connection lines a second, and one a second about refusals.
  std::size_t connection_lines = engine.log_count("event=connection");
  INFO("log lines about connections: " << connection_lines << " in " << seconds << " s");
  CHECK(connection_lines <= static_cast<std::size_t>(22 * (seconds + 2)));
  CHECK(engine.terminate() == 0);
  check_ledger_verifies(dir.path);
}

}  // namespace citycard::engine::testing
