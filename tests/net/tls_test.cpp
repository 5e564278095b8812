// The tap server and the uplink client over real TLS on loopback.
#include <catch2/catch.hpp>

#include <cstdio>
#include <future>
#include <thread>

#include "protocol/codec.h"
#include "tls_fixture.h"

using namespace citycard;
using namespace citycard::net;
using namespace citycard::net::testing;
using namespace std::chrono_literals;

namespace {

protocol::ErrorFrame expect_error_frame(uplink::Uplink& client) {
  auto message = client.receive(3000ms);
  INFO(message.status().to_string());
  REQUIRE(message);
  auto* error = std::get_if<protocol::ErrorFrame>(&message.value());
  REQUIRE(error != nullptr);
  return *error;
}

std::vector<std::uint8_t> frame_of(const protocol::Message& message) {
  auto frame = protocol::encode(message);
  REQUIRE(frame);
  return frame.value();
}

void expect_working(std::uint16_t port, std::uint64_t first_sequence) {
  uplink::Uplink client(client_options(port, other_reader));
  REQUIRE(client.connect().is_ok());
  auto reply = client.submit(make_batch(other_reader, 1, first_sequence, 3));
  REQUIRE(reply);
  CHECK(reply->decisions.decisions.size() == 3);
}

}  // namespace

TEST_CASE("a reader sends taps over mutual TLS and gets one decision per tap") {
  TestServer server;
  server.deny_list.add(*CardId::parse("DEAD01"));
  uplink::Uplink client(client_options(server.server->port(), good_reader));
  Status connected = client.connect();
  INFO(connected.to_string());
  REQUIRE(connected.is_ok());
  CHECK(client.session().version == protocol::protocol_version);
  CHECK(client.session().deny_list_version == 1);
  CHECK(client.session().inflight_batches_max == 8);

  auto batch = make_batch(good_reader, 42, 1, 10);
  auto reply = client.submit(batch);
  REQUIRE(reply);
  REQUIRE(reply->kind == uplink::BatchReply::Kind::decided);
  CHECK(reply->decisions.batch_id == 42);
  REQUIRE(reply->decisions.decisions.size() == 10);
  for (std::size_t i = 0; i < 10; ++i) {
    CHECK(reply->decisions.decisions[i] == RememberingTapSink::decide(batch.taps[i]));
  }
  CHECK(reply->decisions.decisions[2].outcome == protocol::Outcome::refused);  // sequence 3

  auto delta = client.deny_list_since(0);
  REQUIRE(delta);
  CHECK(delta->to_version == 1);
  CHECK(delta->added == std::vector<CardId>{*CardId::parse("DEAD01")});
  server.deny_list.remove(*CardId::parse("DEAD01"));
  delta = client.deny_list_since(1);
  REQUIRE(delta);
  CHECK(delta->from_version == 1);
  CHECK(delta->to_version == 2);
  CHECK(delta->removed.size() == 1);
  CHECK(client.heartbeat(99).is_ok());
  CHECK(server.server->stats().taps_submitted == 10);
}

TEST_CASE("certificates from an unknown CA, expired or revoked are refused at the handshake") {
  TestServer server;
  std::uint16_t port = server.server->port();
  struct Case {
    const char* name;
    uplink::UplinkOptions options;
    const char* logged;
  };
  std::vector<Case> cases = {
      {"unknown CA", client_options(port, good_reader, TestPki::get().foreign), "unable to get local issuer"},
      {"expired", client_options(port, expired_reader), "certificate has expired"},
      {"revoked", client_options(port, revoked_reader), "certificate revoked"},
  };
  std::uint64_t failed = 0;
  for (auto& c : cases) {
    INFO(c.name);
    uplink::Uplink client(c.options);
    Status status = client.connect();
    // TLS 1.3: the client may finish its side before the server's verdict
    // arrives; then the alert ends the hello exchange instead.
    CHECK_FALSE(status.is_ok());
    CHECK(status.code() == StatusCode::unavailable);
    CHECK_FALSE(client.connected());
    ++failed;
    // The server counts the refusal on its own thread, maybe after the client gave up.
    CHECK(eventually([&] { return server.server->stats().handshakes_failed >= failed; }));
    CHECK(server.server->stats().handshakes_failed == failed);
    CHECK(server.logged(c.logged));
  }
  CHECK(server.sink.batches_submitted() == 0);
  expect_working(port, 1);
}

TEST_CASE("stock openssl s_client: handshake completes with a good certificate only") {
  ServerOptions options = server_options();
  options.idle_timeout = 1000ms;
  options.heartbeat_interval = 500ms;
  TestServer server(options);
  pki::Paths ours{TestPki::get().dir};
  pki::Paths foreign{TestPki::get().foreign};
  auto s_client = [&](const pki::Paths& paths, ReaderId reader) {
    std::string command = "timeout 10 openssl s_client -connect 127.0.0.1:" +
                          std::to_string(server.server->port()) + " -tls1_3 -ign_eof -CAfile " +
                          ours.ca_certificate().string() + " -cert " + paths.reader_certificate(reader).string() +
                          " -key " + paths.reader_key(reader).string() + " </dev/null 2>&1";
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    pclose(pipe);
    return output;
  };
  // A good reader: the handshake completes, the engine then waits for hello
  // and closes with a timeout error frame, whose text shows in the output.
  std::string good = s_client(ours, good_reader);
  INFO(good);
  CHECK(good.find("Verification: OK") != std::string::npos);
  CHECK(good.find("no frame within") != std::string::npos);
  CHECK(good.find("alert") == std::string::npos);
  std::string revoked = s_client(ours, revoked_reader);
  INFO(revoked);
  CHECK(revoked.find("alert certificate revoked") != std::string::npos);
  CHECK(revoked.find("no frame within") == std::string::npos);
  std::string expired = s_client(ours, expired_reader);
  CHECK(expired.find("alert certificate expired") != std::string::npos);
  std::string unknown = s_client(foreign, good_reader);
  CHECK(unknown.find("alert unknown ca") != std::string::npos);
  CHECK(server.server->stats().handshakes_failed == 3);
}

TEST_CASE("a reader cannot speak or submit taps under another reader's id") {
  TestServer server;
  std::uint16_t port = server.server->port();
  SECTION("hello claiming another id") {
    auto options = client_options(port, good_reader);
    options.reader = other_reader;
    uplink::Uplink client(options);
    Status status = client.connect();
    CHECK(status.code() == StatusCode::refused);
    CHECK(status.message().find("certificate is reader 17") != std::string::npos);
  }
  SECTION("a tap claiming another id, in an otherwise good batch") {
    uplink::Uplink client(client_options(port, good_reader));
    REQUIRE(client.connect().is_ok());
    auto batch = make_batch(good_reader, 7, 1, 5);
    batch.taps[3].tap.id.reader = other_reader;
    REQUIRE(client.send(batch).is_ok());
    auto error = expect_error_frame(client);
    CHECK(error.code == protocol::ErrorCode::reader_mismatch);
    CHECK_FALSE(client.receive(1000ms));  // closed
  }
  CHECK(server.sink.batches_submitted() == 0);
  CHECK(server.sink.taps_decided() == 0);
  expect_working(port, 100);
}

TEST_CASE("malformed, oversized and out-of-order frames close only that connection") {
  TestServer server;
  std::uint16_t port = server.server->port();
  uplink::Uplink bystander(client_options(port, other_reader));
  REQUIRE(bystander.connect().is_ok());

  auto hello = frame_of(protocol::Hello{1, 1, good_reader, "test"});
  auto good_batch = frame_of(make_batch(good_reader, 1, 1, 2));
  std::vector<std::uint8_t> bad_magic = good_batch;
  bad_magic[0] = 'X';
  std::vector<std::uint8_t> oversized = good_batch;
  std::uint32_t huge = 10'000'000;
  for (int i = 0; i < 4; ++i) oversized[8 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(huge >> (8 * i));
  oversized.resize(4000, 0xAB);  // and keeps sending
  std::vector<std::uint8_t> bad_crc = good_batch;
  bad_crc.back() ^= 0xFF;
  std::vector<std::uint8_t> bad_version = good_batch;
  bad_version[4] = 9;

  struct Case {
    const char* name;
    bool send_hello;
    std::vector<std::uint8_t> bytes;
    protocol::ErrorCode expected;
  };
  std::vector<Case> cases = {
      {"bad magic", true, bad_magic, protocol::ErrorCode::bad_magic},
      {"length over the frame limit", true, oversized, protocol::ErrorCode::frame_too_large},
      {"checksum mismatch", true, bad_crc, protocol::ErrorCode::bad_checksum},
      {"unknown version", true, bad_version, protocol::ErrorCode::bad_version},
      {"taps before hello", false, good_batch, protocol::ErrorCode::unexpected_frame},
      {"engine frame from a reader", true, frame_of(protocol::HelloAck{}), protocol::ErrorCode::unexpected_frame},
      {"second hello", true, hello, protocol::ErrorCode::unexpected_frame},
  };
  std::uint64_t sequence = 1;
  for (const Case& c : cases) {
    INFO(c.name);
    uplink::Uplink client(client_options(port, good_reader));
    REQUIRE(client.connect(uplink::Uplink::Greeting::none).is_ok());
    if (c.send_hello) {
      REQUIRE(client.send_bytes(hello).is_ok());
      auto ack = client.receive(3000ms);
      REQUIRE(ack);
      REQUIRE(std::holds_alternative<protocol::HelloAck>(ack.value()));
    }
    REQUIRE(client.send_bytes(c.bytes).is_ok());
    auto error = expect_error_frame(client);
    CHECK(error.code == c.expected);
    CHECK_FALSE(error.message.empty());
    CHECK_FALSE(client.connected());
    // The other reader is unaffected.
    auto reply = bystander.submit(make_batch(other_reader, sequence, sequence, 2));
    REQUIRE(reply);
    CHECK(reply->decisions.decisions.size() == 2);
    sequence += 2;
  }
  CHECK(server.server->stats().connections_errored == cases.size());
  CHECK(server.sink.batches_submitted() == cases.size());  // only the bystander's
}

TEST_CASE("frames that arrive together or in pieces are each taken whole") {
  TestServer server;
  uplink::Uplink client(client_options(server.server->port(), good_reader));
  REQUIRE(client.connect().is_ok());
  auto decided_batch = [&](std::uint64_t batch_id, std::size_t taps) {
    auto message = client.receive(3000ms);
    INFO(message.status().to_string());
    REQUIRE(message);
    auto* decisions = std::get_if<protocol::Decisions>(&message.value());
    REQUIRE(decisions != nullptr);
    CHECK(decisions->batch_id == batch_id);
    CHECK(decisions->decisions.size() == taps);
  };

  // Three frames in one write (one TLS record): three answers.
  std::vector<std::uint8_t> together;
  for (std::uint64_t b = 1; b <= 3; ++b) {
    auto frame = frame_of(make_batch(good_reader, b, b * 10, 2));
    together.insert(together.end(), frame.begin(), frame.end());
  }
  REQUIRE(client.send_bytes(together).is_ok());
  for (std::uint64_t b = 1; b <= 3; ++b) decided_batch(b, 2);

  // One frame in pieces: a split header, then the payload in two parts.
  auto pieces = frame_of(make_batch(good_reader, 4, 100, 5));
  const std::vector<std::size_t> cuts = {3, protocol::header_bytes, protocol::header_bytes + 7, pieces.size()};
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    REQUIRE(client.send_bytes(std::span(pieces).subspan(from, cut - from)).is_ok());
    from = cut;
    std::this_thread::sleep_for(20ms);
  }
  decided_batch(4, 5);

  // A good frame and a bad one in one write: the good one is taken (its
  // decision may be overtaken by the goodbye: a reader resends what was not
  // answered), then the connection is closed with the bad one's error.
  auto good = frame_of(make_batch(good_reader, 5, 200, 1));
  auto bad = frame_of(make_batch(good_reader, 6, 300, 1));
  bad.back() ^= 0xFF;
  good.insert(good.end(), bad.begin(), bad.end());
  REQUIRE(client.send_bytes(good).is_ok());
  auto next = client.receive(3000ms);
  REQUIRE(next);
  if (auto* decisions = std::get_if<protocol::Decisions>(&next.value())) {
    CHECK(decisions->batch_id == 5);
    next = client.receive(3000ms);
    REQUIRE(next);
  }
  auto* error = std::get_if<protocol::ErrorFrame>(&next.value());
  REQUIRE(error != nullptr);
  CHECK(error->code == protocol::ErrorCode::bad_checksum);
  CHECK(server.server->stats().taps_submitted == 2 * 3 + 5 + 1);
}

TEST_CASE("a stalled client does not hold up others and is closed at its deadline") {
  ServerOptions options = server_options();
  options.frame_timeout = 3000ms;
  options.idle_timeout = 60000ms;  // far beyond: only the frame deadline can close it in time
  TestServer server(options);
  std::uint16_t port = server.server->port();
  uplink::Uplink stalled(client_options(port, good_reader));
  REQUIRE(stalled.connect().is_ok());
  auto frame = frame_of(make_batch(good_reader, 1, 1, 20));
  auto started = std::chrono::steady_clock::now();
  REQUIRE(stalled.send_bytes(std::span(frame).first(frame.size() / 2)).is_ok());

  uplink::Uplink other(client_options(port, other_reader));
  REQUIRE(other.connect().is_ok());
  for (std::uint64_t i = 0; i < 5; ++i) {
    auto reply = other.submit(make_batch(other_reader, i, i * 10 + 1, 10));
    REQUIRE(reply);
  }
  // Served while the stalled one still held its half frame: a server that
  // waited on it would have answered only after closing it.
  CHECK(server.server->stats().connections_open == 2);
  CHECK(server.server->stats().connections_errored == 0);
  auto message = stalled.receive(30000ms);
  auto waited = std::chrono::steady_clock::now() - started;
  INFO(message.status().to_string());
  REQUIRE(message);
  auto* error = std::get_if<protocol::ErrorFrame>(&message.value());
  REQUIRE(error != nullptr);
  CHECK(error->code == protocol::ErrorCode::timeout);
  CHECK(waited >= options.frame_timeout);
  CHECK(server.sink.batches_submitted() == 5);
}

TEST_CASE("resending after a disconnect returns the original decisions") {
  TestServer server;
  std::uint16_t port = server.server->port();
  auto batch = make_batch(good_reader, 5, 1, 12);
  std::vector<protocol::DecisionRecord> first;
  {
    uplink::Uplink client(client_options(port, good_reader));
    REQUIRE(client.connect().is_ok());
    auto reply = client.submit(batch);
    REQUIRE(reply);
    first = reply->decisions.decisions;
  }
  uplink::Uplink again(client_options(port, good_reader));
  REQUIRE(again.connect().is_ok());
  batch.batch_id = 6;
  auto reply = again.submit(batch);
  REQUIRE(reply);
  REQUIRE(reply->decisions.decisions.size() == first.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    auto replayed = reply->decisions.decisions[i];
    CHECK(replayed.flags == (first[i].flags | protocol::DecisionFlags::replayed));
    replayed.flags = first[i].flags;
    CHECK(replayed == first[i]);
  }
  CHECK(server.sink.taps_decided() == 12);
}

TEST_CASE("the uplink reconnects and resends when the link breaks") {
  TestServer server;
  auto options = client_options(server.server->port(), good_reader);
  options.reconnect_attempts = 3;
  uplink::Uplink client(options);
  REQUIRE(client.connect().is_ok());
  // Break the link from our side by sending garbage; the engine closes it.
  REQUIRE(client.send_bytes(std::vector<std::uint8_t>(16, 0)).is_ok());
  auto error = client.receive(3000ms);
  REQUIRE(error);
  CHECK_FALSE(client.connected());
  auto reply = client.submit(make_batch(good_reader, 1, 1, 4));
  REQUIRE(reply);
  CHECK(reply->decisions.decisions.size() == 4);
}

TEST_CASE("more unanswered batches than allowed are answered retry_later") {
  ServerOptions options = server_options();
  options.inflight_batches_max = 2;
  TestServer server(options, 300ms);
  uplink::Uplink client(client_options(server.server->port(), good_reader));
  REQUIRE(client.connect().is_ok());
  for (std::uint64_t id = 1; id <= 3; ++id) REQUIRE(client.send(make_batch(good_reader, id, id * 10, 2)).is_ok());
  std::map<std::uint64_t, protocol::FrameType> replies;
  for (int i = 0; i < 3; ++i) {
    auto message = client.receive(3000ms);
    REQUIRE(message);
    if (auto* decisions = std::get_if<protocol::Decisions>(&message.value())) {
      replies[decisions->batch_id] = protocol::FrameType::decisions;
    } else if (auto* retry = std::get_if<protocol::RetryLater>(&message.value())) {
      CHECK(retry->why == protocol::RetryReason::connection_busy);
      replies[retry->batch_id] = protocol::FrameType::retry_later;
    }
  }
  CHECK(replies[1] == protocol::FrameType::decisions);
  CHECK(replies[2] == protocol::FrameType::decisions);
  CHECK(replies[3] == protocol::FrameType::retry_later);
}

TEST_CASE("stop drains in-flight batches, then closes with shutting_down") {
  TestServer server(server_options(), 500ms);
  uplink::Uplink client(client_options(server.server->port(), good_reader));
  REQUIRE(client.connect().is_ok());
  REQUIRE(client.send(make_batch(good_reader, 1, 1, 5)).is_ok());
  REQUIRE(eventually([&] { return server.sink.batches_submitted() == 1; }));  // the batch is with the sink
  auto stopped = std::async(std::launch::async, [&] { server.server->stop(3000ms); });
  auto message = client.receive(3000ms);
  REQUIRE(message);
  auto* decisions = std::get_if<protocol::Decisions>(&message.value());
  REQUIRE(decisions != nullptr);
  CHECK(decisions->decisions.size() == 5);
  auto error = expect_error_frame(client);
  CHECK(error.code == protocol::ErrorCode::shutting_down);
  CHECK(stopped.wait_for(3000ms) == std::future_status::ready);
  CHECK(server.server->stats().connections_open == 0);
  // Not accepting any more.
  uplink::Uplink late(client_options(server.server->port(), good_reader));
  CHECK_FALSE(late.connect().is_ok());
}
