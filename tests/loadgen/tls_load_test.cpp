// The TLS load driver against a real mutual-TLS net::Server in this process
// (the net tests' remembering sink behind it, wrapped to answer busy, cut
// links or never answer), and against a fake engine that sends bad frames.
// Assertions are on counts and order, never on timing: speed is bench/'s.
#include <stdlib.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/net/server.h"
#include "engine/pki/pki.h"
#include "loadgen/city_day.h"
#include "loadgen/city_map.h"
#include "loadgen/roster.h"
#include "loadgen/tls_load.h"
#include "protocol/codec.h"
#include "readers/uplink/asio.h"
#include "tests/net/test_tap_sink.h"

using namespace citycard;
using namespace citycard::loadgen;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t readers_used = 12;

// A small city day, and a PKI with the certificates of its first readers.
struct Fixture {
  std::filesystem::path root;
  pki::Paths pki{""};
  CityMap map = CityMap::standard();
  CityDay day;
  std::map<TapId, std::uint64_t> position;  // in the load's send order (readers_used only)
  std::map<TapId, CardId> card_of;
  std::uint64_t taps = 0;

  static const Fixture& get() {
    static Fixture fixture;
    return fixture;
  }
  ~Fixture() {
    std::error_code ignored;
    std::filesystem::remove_all(root, ignored);
  }

 private:
  Fixture() {
    char pattern[] = "/tmp/citycard-loadgen-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    root = pattern;
    pki = pki::Paths{root / "pki"};
    REQUIRE(pki::init(pki.dir).is_ok());
    REQUIRE(pki::issue_engine(pki.dir, {"localhost", "127.0.0.1"}).is_ok());
    for (std::size_t i = 0; i < readers_used; ++i) REQUIRE(pki::issue_reader(pki.dir, map.readers[i].reader).is_ok());
    day = generate_city_day(map, Roster::make(PopulationMix{}.scaled_to(5000)), DayOptions{});
    for (const SendSlot& slot : day.send_order) {
      if (slot.reader_index >= readers_used) continue;
      position[day.at(slot).record.tap.id] = taps++;
      card_of[day.at(slot).record.tap.id] = day.at(slot).record.tap.card;
    }
    REQUIRE(taps > 100);
  }
};

TlsLoadOptions load_options(std::uint16_t port) {
  TlsLoadOptions options;
  options.port = port;
  options.pki_dir = Fixture::get().pki.dir.string();
  options.threads = 2;
  options.readers_max = readers_used;
  options.batch_taps_max = 8;
  options.reply_timeout = 3000ms;
  return options;
}

net::ServerOptions server_options() {
  const pki::Paths& paths = Fixture::get().pki;
  net::ServerOptions options;
  options.tls = net::TlsFiles{paths.ca_certificate().string(), paths.crl().string(),
                              paths.engine_certificate().string(), paths.engine_key().string()};
  options.handshake_timeout = 3000ms;
  options.heartbeat_interval = 1000ms;
  return options;
}

// The remembering sink, scripted: busy for the first batches, a hook just
// before a batch's decisions go back, or no answer at all. Logs every tap
// that reaches the remembering sink, in order.
class ScriptedSink final : public net::TapSink {
 public:
  std::size_t busy_first = 0;                 // batches answered busy before any is taken
  std::uint32_t busy_hint_ms = 20;            // their retry_later hint
  std::size_t hook_at_batch = 0;              // 1-based batch taken; 0 = none
  std::function<void()> hook;                 // run on the sink's thread before that batch's done
  void set_never_answer(bool value) {
    std::lock_guard lock(mutex_);
    never_answer_ = value;
  }

  void submit(ReaderId reader, std::vector<protocol::TapRecord> taps,
              std::function<void(net::SubmitResult)> done) override {
    std::size_t taken = 0;
    {
      std::lock_guard lock(mutex_);
      if (busy_answered_ < busy_first) {
        ++busy_answered_;
        done(net::SubmitResult::busy(busy_hint_ms));
        return;
      }
      if (never_answer_) {
        held_.push_back(std::move(done));
        return;
      }
      for (const auto& record : taps) log_.push_back(record.tap.id);
      taken = ++taken_;
    }
    if (taken == hook_at_batch && hook) {
      inner_.submit(reader, std::move(taps), [this, done = std::move(done)](net::SubmitResult result) {
        hook();
        done(std::move(result));
      });
      return;
    }
    inner_.submit(reader, std::move(taps), std::move(done));
  }

  // Answers what was held (never_answer), busy: every done is called once.
  void release() {
    std::vector<std::function<void(net::SubmitResult)>> held;
    {
      std::lock_guard lock(mutex_);
      held.swap(held_);
    }
    for (auto& done : held) done(net::SubmitResult::busy());
  }
  std::vector<TapId> log() const {
    std::lock_guard lock(mutex_);
    return log_;
  }
  std::size_t held() const {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  std::size_t taps_decided() const { return inner_.taps_decided(); }

 private:
  net::testing::RememberingTapSink inner_;
  mutable std::mutex mutex_;
  bool never_answer_ = false;
  std::size_t busy_answered_ = 0, taken_ = 0;
  std::vector<TapId> log_;
  std::vector<std::function<void(net::SubmitResult)>> held_;
};

struct TestServer {
  explicit TestServer(ScriptedSink& sink) {
    auto started = net::Server::start(server_options(), sink, nullptr);
    INFO(started.status().to_string());
    REQUIRE(started);
    server = std::move(started).value();
  }
  std::unique_ptr<net::Server> server;
};

// Every tap of the readers in use reached the engine, each reader's in
// sequence order (first submissions; resends may repeat a tap).
void check_order_per_reader(const std::vector<TapId>& log) {
  std::map<std::uint32_t, std::uint64_t> last;
  for (const TapId& id : log) {
    std::uint64_t& seen = last[id.reader.value];
    INFO("reader " << id.reader.value << " sequence " << id.sequence << " after " << seen);
    REQUIRE(id.sequence <= seen + 1);  // never skips ahead
    seen = std::max(seen, id.sequence);
  }
  const Fixture& fixture = Fixture::get();
  for (std::size_t r = 0; r < readers_used; ++r) {
    const std::uint32_t reader = fixture.map.readers[r].reader.value;
    CHECK(last[reader] == fixture.day.readers[r].taps.size());
  }
}

// Each card's taps first reached the engine in the day's send order, also
// where they went through different readers (card_order). Returns how many
// cards used more than one reader, so a caller can tell the check bit.
std::size_t check_order_per_card(const std::vector<TapId>& log) {
  const Fixture& fixture = Fixture::get();
  std::map<CardId, std::uint64_t> last_position;
  std::map<CardId, std::set<std::uint32_t>> readers_of;
  std::set<TapId> seen;
  for (const TapId& id : log) {
    if (!seen.insert(id).second) continue;  // a resend
    const CardId card = fixture.card_of.at(id);
    const std::uint64_t position = fixture.position.at(id);
    auto last = last_position.find(card);
    INFO("card " << card.to_string() << " tap " << id.reader.value << ":" << id.sequence);
    if (last != last_position.end()) REQUIRE(position > last->second);
    last_position[card] = position;
    readers_of[card].insert(id.reader.value);
  }
  return static_cast<std::size_t>(
      std::count_if(readers_of.begin(), readers_of.end(), [](const auto& entry) { return entry.second.size() > 1; }));
}

// Bytes between the driver and the server; cut_all() closes every
// connection at once (a network that drops), new ones are forwarded again.
class CuttingProxy {
 public:
  explicit CuttingProxy(std::uint16_t upstream)
      : acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)), upstream_(upstream) {
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~CuttingProxy() {
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      cut_now();
    });
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::size_t accepted() const { return accepted_; }
  std::size_t cuts() const { return cuts_; }
  void cut_all() {
    std::promise<void> done;
    asio::post(io_, [this, &done] {
      cut_now();
      ++cuts_;
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  struct Pair {
    explicit Pair(tcp::socket accepted) : client(std::move(accepted)), server(client.get_executor()) {}
    tcp::socket client;
    tcp::socket server;
    std::array<char, 16384> up{}, down{};
  };
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      ++accepted_;
      auto pair = std::make_shared<Pair>(std::move(socket));
      pairs_.push_back(pair);
      pair->server.async_connect({asio::ip::address_v4::loopback(), upstream_}, [this, pair](boost::system::error_code ec) {
        if (ec) return close(*pair);
        pump(pair, pair->client, pair->server, pair->up);
        pump(pair, pair->server, pair->client, pair->down);
      });
      accept();
    });
  }
  void pump(std::shared_ptr<Pair> pair, tcp::socket& from, tcp::socket& to, std::array<char, 16384>& buffer) {
    from.async_read_some(asio::buffer(buffer), [this, pair, &from, &to, &buffer](boost::system::error_code ec, std::size_t n) {
      if (ec) return close(*pair);
      asio::async_write(to, asio::buffer(buffer.data(), n), [this, pair, &from, &to, &buffer](boost::system::error_code ec, std::size_t) {
        if (ec) return close(*pair);
        pump(pair, from, to, buffer);
      });
    });
  }
  static void close(Pair& pair) {
    boost::system::error_code ignored;
    pair.client.close(ignored);
    pair.server.close(ignored);
  }
  void cut_now() {
    for (auto& pair : pairs_) close(*pair);
    pairs_.clear();
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t upstream_;
  std::uint16_t port_ = 0;
  std::vector<std::shared_ptr<Pair>> pairs_;
  std::atomic<std::size_t> accepted_{0}, cuts_{0};
  std::thread thread_;
};

// A fake engine for one reader: real TLS and hello, then answers the n-th
// tap_batch frame it receives with script[n] (a broken frame of some kind),
// and correctly once the script is used up. One connection at a time.
class FakeEngine {
 public:
  enum class Answer {
    bad_magic, wrong_batch_id, hello_ack, too_large, error_frame,  // broken
    split, after_heartbeat,  // right, but in two writes (two TLS records) or after another frame in one write
    late,                    // right, but sent after the answer to the next batch (out of order)
  };

  explicit FakeEngine(std::vector<Answer> script)
      : script_(std::move(script)), tls_(asio::ssl::context::tls_server),
        acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    const pki::Paths& paths = Fixture::get().pki;
    tls_.use_certificate_chain_file(paths.engine_certificate().string());
    tls_.use_private_key_file(paths.engine_key().string(), asio::ssl::context::pem);
    tls_.load_verify_file(paths.ca_certificate().string());
    tls_.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeEngine() {
    stopping_ = true;
    boost::system::error_code ignored;
    tcp::socket poke(io_);
    poke.connect({asio::ip::address_v4::loopback(), port_}, ignored);  // wakes accept()
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::size_t connections() const { return connections_; }

 private:
  void serve() {
    while (!stopping_) {
      asio::ssl::stream<tcp::socket> stream(io_, tls_);
      boost::system::error_code ec;
      acceptor_.accept(stream.lowest_layer(), ec);
      if (ec || stopping_) return;
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (ec) continue;
      ++connections_;
      while (!ec) {
        std::array<std::uint8_t, protocol::header_bytes> header_bytes;
        asio::read(stream, asio::buffer(header_bytes), ec);
        if (ec) break;
        auto header = protocol::decode_header(header_bytes);
        if (!header) break;
        std::vector<std::uint8_t> payload(header->payload_bytes);
        asio::read(stream, asio::buffer(payload), ec);
        if (ec) break;
        auto message = protocol::decode_payload(header.value(), payload);
        if (!message) break;
        std::vector<std::uint8_t> out;
        if (std::holds_alternative<protocol::Hello>(message.value())) {
          out = encode(protocol::HelloAck{1, 1000, 512, 8, 0});
        } else if (auto* beat = std::get_if<protocol::Heartbeat>(&message.value())) {
          out = encode(*beat);
        } else if (auto* batch = std::get_if<protocol::TapBatch>(&message.value())) {
          const std::size_t n = batches_++;
          out = answer(*batch, n);
          if (n < script_.size() && script_[n] == Answer::late) {
            held_answer_ = std::move(out);
            continue;  // goes out behind the next batch's answer
          }
          if (!held_answer_.empty()) {
            out.insert(out.end(), held_answer_.begin(), held_answer_.end());
            held_answer_.clear();
          }
          if (n < script_.size() && script_[n] == Answer::split) {
            const std::size_t half = out.size() / 2;
            asio::write(stream, asio::buffer(out.data(), half), ec);
            std::this_thread::sleep_for(5ms);
            out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(half));
          }
        }
        asio::write(stream, asio::buffer(out), ec);
      }
    }
  }
  static std::vector<std::uint8_t> encode(const protocol::Message& message) {
    auto frame = protocol::encode(message);
    REQUIRE(frame);
    return std::move(frame).value();
  }
  std::vector<std::uint8_t> answer(const protocol::TapBatch& batch, std::size_t n) {
    protocol::Decisions decisions{batch.batch_id, {}};
    for (const auto& record : batch.taps) decisions.decisions.push_back(net::testing::RememberingTapSink::decide(record));
    if (n >= script_.size()) return encode(decisions);
    std::vector<std::uint8_t> out;
    switch (script_[n]) {
      case Answer::bad_magic:
        out = encode(decisions);
        out[0] ^= 0xFF;
        return out;
      case Answer::wrong_batch_id:
        decisions.batch_id += 1000;
        return encode(decisions);
      case Answer::hello_ack: return encode(protocol::HelloAck{1, 1000, 512, 8, 0});
      case Answer::too_large: {
        out.resize(protocol::header_bytes);
        protocol::encode_header({1, protocol::FrameType::decisions, 0, 0x7FFFFFFF, 0}, out.data());
        return out;
      }
      case Answer::error_frame: return encode(protocol::ErrorFrame{protocol::ErrorCode::internal, "scripted"});
      case Answer::split:
      case Answer::late: return encode(decisions);
      case Answer::after_heartbeat: {
        out = encode(protocol::Heartbeat{77});
        std::vector<std::uint8_t> reply = encode(decisions);
        out.insert(out.end(), reply.begin(), reply.end());
        return out;
      }
    }
    return out;
  }

  std::vector<Answer> script_;
  asio::io_context io_;
  asio::ssl::context tls_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> connections_{0};
  std::size_t batches_ = 0;
  std::vector<std::uint8_t> held_answer_;  // a late answer
  std::thread thread_;
};

LoadStep closed_loop() {
  LoadStep step;
  step.duration = 30s;  // ends when the day's taps are decided
  return step;
}

// The first reader alone, on one worker, against a fake engine, for the
// closed loop of its day; `load` is kept for remaining().
LoadReport one_reader_against(FakeEngine& engine, std::size_t batch_taps, std::size_t inflight,
                              std::unique_ptr<TlsLoad>& load) {
  TlsLoadOptions options = load_options(engine.port());
  options.readers_max = 1;
  options.threads = 1;
  options.batch_taps_max = batch_taps;
  options.inflight_batches_max = inflight;
  auto connected = TlsLoad::connect(Fixture::get().day, Fixture::get().map, options);
  REQUIRE(connected);
  load = std::move(connected).value();
  return load->run(closed_loop());
}

// Every tap of the reader decided on its first link, nothing counted wrong.
void check_clean_on_one_link(const LoadReport& report, const FakeEngine& engine) {
  CHECK(report.tally.errors == 0);
  CHECK(report.tally.reconnects == 0);
  CHECK(engine.connections() == 1);
  CHECK(report.tally.taps_decided == Fixture::get().day.readers[0].taps.size());
}

}  // namespace

TEST_CASE("tls load: every tap of a small day is decided once, in sequence order per reader and send order per card") {
  ScriptedSink sink;
  TestServer server(sink);
  auto load = TlsLoad::connect(Fixture::get().day, Fixture::get().map, load_options(server.server->port()));
  INFO(load.status().to_string());
  REQUIRE(load);
  LoadReport report = (*load)->run(closed_loop());
  const std::uint64_t taps = Fixture::get().taps;
  CHECK(report.tally.taps_decided == taps);
  CHECK(report.tally.taps_sent == taps);
  CHECK(report.tally.latency_us.size() == taps);
  CHECK(report.tally.round_trip_us.size() == report.tally.batches);
  CHECK(report.round_trip_ms_p99 <= report.latency_ms_max);
  // Second by second: every decided tap in one second, the slowest in one of them.
  std::uint64_t by_second = 0;
  std::uint32_t slowest_us = 0;
  for (const auto& second : report.tally.seconds) {
    by_second += second.taps;
    slowest_us = std::max(slowest_us, second.latency_max_us);
    CHECK(second.taps_over_10ms <= second.taps);
    CHECK(second.send_lag_max_us <= second.latency_max_us);  // closed loop: from the first send, no lag
  }
  CHECK(by_second == taps);
  CHECK(slowest_us / 1000.0 == report.latency_ms_max);
  const auto json = nlohmann::json::parse(report.json());
  REQUIRE(json.contains("by_second"));
  CHECK(json["by_second"].size() == report.tally.seconds.size());
  CHECK(report.tally.errors == 0);  // a decision for another tap id would count here
  CHECK(report.tally.replayed == 0);
  CHECK(report.tally.reconnects == 0);
  CHECK(report.tally.readers_stopped == 0);
  CHECK((*load)->remaining() == 0);
  CHECK(sink.taps_decided() == taps);
  std::vector<TapId> log = sink.log();
  CHECK(log.size() == taps);  // nothing sent twice
  check_order_per_reader(log);
  // A closed loop runs readers far ahead of each other: without card_order
  // a card's taps at two readers would race.
  CHECK(check_order_per_card(log) > 10);
}

TEST_CASE("tls load: an open loop sends no tap before it is due, and the next step starts at the frontier") {
  ScriptedSink sink;
  TestServer server(sink);
  auto load = TlsLoad::connect(Fixture::get().day, Fixture::get().map, load_options(server.server->port()));
  REQUIRE(load);
  // 400 taps/s for 200 ms: positions 0..80 fall due in the step.
  LoadStep open;
  open.taps_per_second = 400;
  open.duration = 200ms;
  LoadReport first = (*load)->run(open);
  const std::uint64_t due_in_step = 81;
  CHECK(first.tally.taps_sent <= due_in_step);
  CHECK(first.tally.taps_decided == first.tally.taps_sent);
  CHECK(first.tally.errors == 0);
  std::vector<TapId> log = sink.log();
  REQUIRE(log.size() == first.tally.taps_decided);
  for (const TapId& id : log) CHECK(Fixture::get().position.at(id) < due_in_step);
  // A step limited by taps_max decides exactly those; then the rest.
  LoadStep counted;
  counted.taps_per_second = 2000;
  counted.taps_max = 20;
  LoadReport second = (*load)->run(counted);
  CHECK(second.tally.taps_decided <= 20);
  CHECK(second.tally.errors == 0);
  LoadReport rest = (*load)->run(closed_loop());
  CHECK(first.tally.taps_decided + second.tally.taps_decided + rest.tally.taps_decided == Fixture::get().taps);
  CHECK((*load)->remaining() == 0);
  CHECK(sink.taps_decided() == Fixture::get().taps);
  log = sink.log();
  CHECK(log.size() == Fixture::get().taps);
  check_order_per_reader(log);
}

TEST_CASE("tls load: retry_later is honoured: the batch goes again after the hint") {
  TlsLoadOptions options = load_options(0);
  options.inflight_batches_max = 1;  // so nothing overtakes the refused batch
  // A hint longer than the reply timeout: an answered round trip cannot last
  // that long without being an error, so one that does counts from the
  // refused send. Any shorter hint makes it a wall-clock bound.
  const std::uint32_t hint_ms = static_cast<std::uint32_t>(options.reply_timeout.count()) + 500;
  ScriptedSink sink;
  sink.busy_first = 5;
  sink.busy_hint_ms = hint_ms;
  TestServer server(sink);
  options.port = server.server->port();
  auto load = TlsLoad::connect(Fixture::get().day, Fixture::get().map, options);
  REQUIRE(load);
  LoadReport report = (*load)->run(closed_loop());
  CHECK(report.tally.retry_later == 5);
  CHECK(report.tally.taps_decided == Fixture::get().taps);
  CHECK(report.tally.taps_sent == Fixture::get().taps);  // the refused sends do not count
  CHECK(report.tally.errors == 0);
  CHECK(report.tally.readers_stopped == 0);
  CHECK(sink.taps_decided() == Fixture::get().taps);
  check_order_per_reader(sink.log());
  // The refused batches' taps waited out the hint; their round trips count
  // from the send that was answered, so they did not.
  auto at_least_hint = [hint_ms](const std::vector<std::uint32_t>& us) {
    return std::count_if(us.begin(), us.end(), [hint_ms](std::uint32_t v) { return v >= hint_ms * 1000; });
  };
  CHECK(at_least_hint(report.tally.latency_us) >= 5);
  CHECK(at_least_hint(report.tally.round_trip_us) == 0);
}

TEST_CASE("tls load: pipelined readers: a batch refused retry_later goes again, every tap decided once") {
  ScriptedSink sink;
  sink.busy_first = 5;
  TestServer server(sink);
  TlsLoadOptions options = load_options(server.server->port());
  options.inflight_batches_max = 4;
  options.batch_taps_max = 8;
  auto load = TlsLoad::connect(Fixture::get().day, Fixture::get().map, options);
  REQUIRE(load);
  LoadReport report = (*load)->run(closed_loop());
  CHECK(report.tally.retry_later == 5);
  CHECK(report.tally.taps_decided == Fixture::get().taps);
  CHECK(report.tally.taps_sent == Fixture::get().taps);
  CHECK(report.tally.errors == 0);
  CHECK(report.tally.replayed == 0);
  CHECK((*load)->remaining() == 0);
  CHECK(sink.taps_decided() == Fixture::get().taps);
  // Each tap reached the engine once (the refused submissions are not logged).
  std::vector<TapId> log = sink.log();
  std::set<std::pair<std::uint32_t, std::uint64_t>> distinct;
  for (const TapId& id : log) distinct.emplace(id.reader.value, id.sequence);
  CHECK(distinct.size() == log.size());
  CHECK(log.size() == Fixture::get().taps);
}

TEST_CASE("tls load: links dropped mid-step are reconnected, the batch resent and decided once (replayed)") {
  ScriptedSink sink;
  TestServer server(sink);
  CuttingProxy proxy(server.server->port());
  // Just before the third batch's decisions go back, every link is cut: that
  // batch is decided in the engine but its reader never hears of it.
  sink.hook_at_batch = 3;
  sink.hook = [&proxy] { proxy.cut_all(); };
  auto load = TlsLoad::connect(Fixture::get().day, Fixture::get().map, load_options(proxy.port()));
  REQUIRE(load);
  LoadReport report = (*load)->run(closed_loop());
  CHECK(proxy.cuts() == 1);
  CHECK(proxy.accepted() > readers_used);  // reconnected
  CHECK(report.tally.taps_decided == Fixture::get().taps);
  CHECK(report.tally.replayed >= 1);  // at least the third batch's taps
  CHECK(report.tally.errors >= 1);    // the links with a batch in flight
  CHECK(report.tally.reconnects >= 1);
  CHECK(report.tally.readers_stopped == 0);
  CHECK((*load)->remaining() == 0);
  CHECK(sink.taps_decided() == Fixture::get().taps);  // the engine decided each tap once
  check_order_per_reader(sink.log());
}

TEST_CASE("tls load: an engine that never answers: the step ends after the reply timeout, errors counted") {
  ScriptedSink sink;
  sink.set_never_answer(true);
  TestServer server(sink);
  // The reply timeout stays load_options' 3 s: it also bounds the readers'
  // connecting, and 12 TLS handshakes on a busy machine outlasted 300 ms.
  TlsLoadOptions options = load_options(server.server->port());
  auto load = TlsLoad::connect(Fixture::get().day, Fixture::get().map, options);
  REQUIRE(load);
  LoadStep step;
  step.duration = 200ms;
  LoadReport report = (*load)->run(step);  // returns: the test would hang otherwise
  CHECK(report.tally.taps_decided == 0);
  CHECK(report.tally.taps_sent > 0);
  CHECK(report.tally.errors >= 1);
  CHECK(report.tally.readers_stopped == 0);
  CHECK((*load)->remaining() == Fixture::get().taps);
  CHECK(sink.held() > 0);
  // The engine answers again: the next step picks up where this one stopped.
  sink.set_never_answer(false);
  sink.release();
  LoadReport rest = (*load)->run(closed_loop());
  CHECK(rest.tally.taps_decided == Fixture::get().taps);
  CHECK((*load)->remaining() == 0);
}

TEST_CASE("tls load: bad frames from the engine count as errors and reset the link, never crash") {
  using Answer = FakeEngine::Answer;
  FakeEngine engine({Answer::bad_magic, Answer::wrong_batch_id, Answer::hello_ack, Answer::too_large});
  std::unique_ptr<TlsLoad> load;
  // One batch in flight: the script counts batches as the engine reads them.
  LoadReport report = one_reader_against(engine, 4, 1, load);
  CHECK(report.tally.errors == 4);
  CHECK(report.tally.reconnects == 4);
  CHECK(engine.connections() == 5);
  CHECK(report.tally.readers_stopped == 0);
  CHECK(report.tally.taps_decided == Fixture::get().day.readers[0].taps.size());
  CHECK(load->remaining() == 0);
}

TEST_CASE("tls load: a frame split over two TLS records, or behind another frame, is read whole") {
  using Answer = FakeEngine::Answer;
  FakeEngine engine({Answer::split, Answer::after_heartbeat, Answer::split, Answer::after_heartbeat});
  std::unique_ptr<TlsLoad> load;
  check_clean_on_one_link(one_reader_against(engine, 2, 1, load), engine);
}

TEST_CASE("tls load: pipelined batches answered out of order are matched by batch id") {
  using Answer = FakeEngine::Answer;
  FakeEngine engine({Answer::late, Answer::split, Answer::late});
  std::unique_ptr<TlsLoad> load;
  check_clean_on_one_link(one_reader_against(engine, 2, 4, load), engine);
  CHECK(load->remaining() == 0);
}

TEST_CASE("tls load: idle links send heartbeats and stay open") {
  ScriptedSink sink;
  net::ServerOptions options = server_options();
  options.heartbeat_interval = 500ms;  // readers beat every 250 ms
  options.idle_timeout = 1500ms;
  auto started = net::Server::start(options, sink, nullptr);
  REQUIRE(started);
  std::unique_ptr<net::Server> server = std::move(started).value();
  auto load = TlsLoad::connect(Fixture::get().day, Fixture::get().map, load_options(server->port()));
  REQUIRE(load);
  // 10 taps/s for 2.5 s: most readers are idle for longer than the idle timeout.
  LoadStep slow;
  slow.taps_per_second = 10;
  slow.duration = 2500ms;
  LoadReport report = (*load)->run(slow);
  CHECK(report.tally.taps_decided > 0);
  CHECK(report.tally.errors == 0);
  CHECK(report.tally.reconnects == 0);
  CHECK(server->stats().connections_errored == 0);  // no idle timeouts
  CHECK(server->stats().connections_accepted == readers_used);
}

TEST_CASE("tls load: a batch answered with two error frames stops its reader") {
  using Answer = FakeEngine::Answer;
  FakeEngine engine({Answer::error_frame, Answer::error_frame});
  std::unique_ptr<TlsLoad> load;
  LoadReport report = one_reader_against(engine, 256, 1, load);
  CHECK(report.tally.errors == 2);
  CHECK(report.tally.readers_stopped == 1);
  CHECK(report.tally.taps_decided == 0);
}

TEST_CASE("tls load: a reader that cannot connect is named") {
  ScriptedSink sink;
  TestServer server(sink);
  TlsLoadOptions options = load_options(server.server->port());
  options.readers_max = readers_used + 1;  // no certificate for that one
  auto load = TlsLoad::connect(Fixture::get().day, Fixture::get().map, options);
  REQUIRE_FALSE(load);
  const std::string reader = "reader " + std::to_string(Fixture::get().map.readers[readers_used].reader.value) + ":";
  CHECK(load.status().code() == StatusCode::invalid_argument);
  CHECK(load.status().message().find(reader) != std::string::npos);

  // Nothing listening: the first reader cannot connect.
  std::uint16_t port = 0;
  {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    port = probe.local_endpoint().port();
  }
  auto refused = TlsLoad::connect(Fixture::get().day, Fixture::get().map, load_options(port));
  REQUIRE_FALSE(refused);
  INFO(refused.status().to_string());
  CHECK(refused.status().code() == StatusCode::unavailable);
  CHECK(refused.status().message().find("reader " + std::to_string(Fixture::get().map.readers[0].reader.value) + ":") !=
        std::string::npos);
}
