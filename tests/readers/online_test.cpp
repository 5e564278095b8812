// The reader agent online: UplinkEngineLink against the real mutual-TLS
// net::Server on loopback, certificates from engine/pki. Online decisions,
// the fall back to offline when the link is down or slow, the queue's upload
// when it returns, resend after a crash, deny list deltas, heartbeats.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <thread>

#include "online_fixture.h"

using namespace citycard;
using namespace citycard::test;
using agent::TapResult;
using net::testing::RememberingTapSink;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// The proof the engine received re-verifies for exactly that tap.
void check_proof(const protocol::TapRecord& record) {
  INFO("tap " << record.tap.id.sequence);
  REQUIRE(record.cryptogram.size == card::proof_bytes);
  auto proof = card::decode_proof(card::ByteView(record.cryptogram.bytes.data(), record.cryptogram.size));
  REQUIRE(proof.has_value());
  CHECK(proof->record.card_id == record.tap.card);
  CHECK(card::verify_tap_proof(online_keys(), record.tap, *proof).is_ok());
}

double ms_since(agent::Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(agent::Clock::now() - start).count();
}

}  // namespace

TEST_CASE("online: the engine decides each tap over mutual TLS and receives the card's tap proof", "[online]") {
  LoopbackEngine engine;
  TempDir dir;
  agent::AgentConfig config = online_config(dir, engine.port());
  auto link = make_link(config);
  auto reader = open_agent(config, *link);
  emulator::CardProfile card = card_profile("04A1B2C3D4E5F6");

  bool saw_refusal = false;
  for (int i = 0; i < 8; ++i) {
    agent::TapOutcome outcome = present(*reader, card);
    INFO(agent::format_line(outcome));
    protocol::TapRecord sent;
    sent.tap.id = outcome.tap;
    protocol::DecisionRecord expected = RememberingTapSink::decide(sent);
    CHECK_FALSE(outcome.offline);
    CHECK(outcome.card == card.record.card_id);
    if (expected.outcome == protocol::Outcome::approved) {
      CHECK(outcome.result == TapResult::approved);
      CHECK(outcome.fare_minor == expected.fare_minor);
      CHECK(outcome.balance_minor == expected.balance_after_minor);
    } else {
      saw_refusal = true;
      CHECK(outcome.result == TapResult::refused);
      CHECK(outcome.reason == RefusalReason::insufficient_balance);
      CHECK(agent::format_line(outcome).find("refused by the engine") != std::string::npos);
    }
  }
  CHECK(saw_refusal);                           // sequence 3 (mod 7) is refused by the test sink
  CHECK(reader->queue().pending().empty());     // online decisions are the engine's to keep
  auto records = engine.sink.records();
  REQUIRE(records.size() == 8);
  for (const auto& record : records) {
    CHECK_FALSE(record.tap.offline);
    CHECK(record.tap.route == 307);
    check_proof(record);
  }
}

TEST_CASE("online: with the engine unreachable the tap is admitted offline and queued", "[online]") {
  TempDir dir;
  agent::AgentConfig config = online_config(dir, dead_port());
  // A refused connection is the engine's whole answer: the tap must not wait
  // out the engine timeout (30 s in these tests).
  auto link = make_link(config);
  auto reader = open_agent(config, *link);
  emulator::CardProfile card = card_profile("04A1B2C3D4E5F6");

  auto start = agent::Clock::now();
  agent::TapOutcome outcome = present(*reader, card);
  double elapsed_ms = ms_since(start);
  CHECK(outcome.result == TapResult::approved);
  CHECK(outcome.offline);
  CHECK(outcome.queued == 1);
  CHECK_FALSE(outcome.fare_minor.has_value());
  CHECK(elapsed_ms < static_cast<double>(config.engine_timeout.count()));
  REQUIRE(reader->queue().pending().size() == 1);
  CHECK(reader->queue().pending().front().tap.offline);
  CHECK(reader->upload_step(agent::Clock::now()).error.code() == StatusCode::unavailable);
  CHECK(link->keep_alive(agent::Clock::now()).code() == StatusCode::unavailable);
  CHECK_FALSE(link->connected());
}

TEST_CASE("online: an engine slower than timeout_ms leaves the decision to the reader, and the upload gets it replayed",
          "[online]") {
  // The tap's batch is decided 2 s after it arrives: a reader that waited for
  // the engine past its 150 ms would get that decision online, so `offline`
  // below is the upper bound, measured by the engine's answer, not a clock.
  LoopbackEngine engine(0, milliseconds(2000));
  engine.sink.inner.delay_only(1);
  TempDir dir;
  agent::AgentConfig config = online_config(dir, engine.port());
  config.engine_timeout = agent::AgentConfig{}.engine_timeout;
  REQUIRE(config.engine_timeout == milliseconds(150));   // the default
  auto link = make_link(config);
  auto reader = open_agent(config, *link);
  emulator::CardProfile card = card_profile("04A1B2C3D4E5F6");
  // Connected first: on a busy machine the TLS handshake alone can outlast
  // the 150 ms, and then the engine never sees the attempt.
  auto deadline = agent::Clock::now() + seconds(30);
  while (!link->keep_alive(agent::Clock::now()).is_ok() && agent::Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  REQUIRE(link->connected());

  auto start = agent::Clock::now();
  agent::TapOutcome outcome = present(*reader, card);
  double elapsed_ms = ms_since(start);
  CHECK(outcome.result == TapResult::approved);
  CHECK(outcome.offline);
  CHECK(elapsed_ms >= 150);
  REQUIRE(reader->queue().pending().size() == 1);

  // The engine did take the online attempt; the queued copy is the same tap.
  REQUIRE(net::testing::eventually([&] { return engine.sink.inner.batches_submitted() == 1; }));
  std::vector<agent::QueuedTap> queued(reader->queue().pending().begin(), reader->queue().pending().end());
  auto resent = link->submit_taps(queued, agent::Clock::now() + seconds(30));
  INFO(resent.status().to_string());
  REQUIRE(resent);
  REQUIRE(resent->size() == 1);
  CHECK(resent->front().tap == outcome.tap);
  CHECK(resent->front().replayed);
  CHECK(engine.sink.inner.taps_decided() == 1);
  upload_all(*reader, seconds(5));
  CHECK(reader->queue().pending().empty());
}

TEST_CASE("online: when the link returns the queue is uploaded in order and acknowledged taps are pruned",
          "[online]") {
  TempDir dir;
  std::uint16_t port = dead_port();
  agent::AgentConfig config = online_config(dir, port);
  config.upload_batch_taps = 2;   // several batches, so their order matters
  auto link = make_link(config);
  auto reader = open_agent(config, *link);
  emulator::CardProfile card = card_profile("04A1B2C3D4E5F6");
  std::vector<std::uint64_t> admitted;
  for (int i = 0; i < 5; ++i) {
    agent::TapOutcome outcome = present(*reader, card);
    REQUIRE(outcome.result == TapResult::approved);
    REQUIRE(outcome.offline);
    admitted.push_back(outcome.tap.sequence);
  }
  REQUIRE(reader->queue().pending().size() == 5);

  LoopbackEngine engine(port);   // the engine is back, at the same address
  auto deadline = agent::Clock::now() + seconds(5);
  while (!link->keep_alive(agent::Clock::now()).is_ok() && agent::Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  REQUIRE(link->connected());
  upload_all(*reader, seconds(10));
  CHECK(reader->queue().pending().empty());

  auto records = engine.sink.records();
  std::vector<std::uint64_t> uploaded;
  for (const auto& record : records) {
    uploaded.push_back(record.tap.id.sequence);
    CHECK(record.tap.offline);
    check_proof(record);
  }
  CHECK(uploaded == admitted);
  CHECK(engine.sink.inner.batches_submitted() == 3);   // 2 + 2 + 1

  // Pruned on disk too: a restart finds nothing to send.
  reader.reset();
  auto reopened = open_agent(config, *link);
  CHECK(reopened->queue().pending().empty());
}

TEST_CASE("online: a reader killed between the engine's answer and its acknowledgement resends and gets the same "
          "decisions, replayed, charged once",
          "[online]") {
  TempDir dir;
  std::uint16_t port = dead_port();
  agent::AgentConfig config = online_config(dir, port);
  std::vector<agent::QueuedTap> queued;
  {
    auto link = make_link(config);
    auto reader = open_agent(config, *link);
    emulator::CardProfile card = card_profile("04A1B2C3D4E5F6");
    for (int i = 0; i < 7; ++i) REQUIRE(present(*reader, card).offline);
    queued.assign(reader->queue().pending().begin(), reader->queue().pending().end());
  }
  REQUIRE(queued.size() == 7);

  LoopbackEngine engine(port);
  std::vector<agent::TapDecision> first;
  {
    // The agent sent its queue and the engine answered; the power went
    // before the acknowledgement reached the journal (the only durable step
    // of an upload, so this is the whole crash window).
    auto link = make_link(config);
    auto reader = open_agent(config, *link);
    auto answered = link->submit_taps(queued, agent::Clock::now() + seconds(3));
    INFO(answered.status().to_string());
    REQUIRE(answered);
    first = *answered;
  }
  REQUIRE(first.size() == 7);
  for (const auto& decision : first) CHECK_FALSE(decision.replayed);

  auto link = make_link(config);
  auto reader = open_agent(config, *link);
  REQUIRE(reader->queue().pending().size() == 7);   // nothing acknowledged, nothing lost
  std::vector<agent::QueuedTap> again(reader->queue().pending().begin(), reader->queue().pending().end());
  auto second = link->submit_taps(again, agent::Clock::now() + seconds(3));
  REQUIRE(second);
  REQUIRE(second->size() == first.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    INFO("tap " << first[i].tap.sequence);
    CHECK((*second)[i].tap == first[i].tap);
    CHECK((*second)[i].replayed);
    CHECK((*second)[i].verdict == first[i].verdict);
    CHECK((*second)[i].reason == first[i].reason);
    CHECK((*second)[i].fare_minor == first[i].fare_minor);
    CHECK((*second)[i].balance_minor == first[i].balance_minor);
  }
  upload_all(*reader, seconds(5));
  CHECK(reader->queue().pending().empty());
  CHECK(engine.sink.inner.taps_decided() == 7);   // every tap decided (and charged) once
}

TEST_CASE("online: deny list deltas are fetched and applied, in several parts when the engine says more follow",
          "[online]") {
  LoopbackEngine engine;
  TempDir dir;
  agent::AgentConfig config = online_config(dir, engine.port());
  auto link = make_link(config);
  auto reader = open_agent(config, *link);
  const CardId blocked = *CardId::parse("04DEAD00BEEF01");

  engine.deny_list.add(blocked);
  REQUIRE(reader->refresh_deny_list(agent::Clock::now() + seconds(3)).is_ok());
  CHECK(reader->deny_list().version() == engine.deny_list.current_version());
  CHECK(reader->deny_list().contains(blocked));

  // More changes than one delta frame holds (protocol::deny_cards_max = 2048).
  for (std::uint32_t i = 0; i < 3000; ++i) {
    engine.deny_list.add(*CardId::parse(fmt::format("05{:012X}", i)));
  }
  engine.deny_list.remove(blocked);
  REQUIRE(reader->refresh_deny_list(agent::Clock::now() + seconds(3)).is_ok());
  CHECK(reader->deny_list().version() == engine.deny_list.current_version());
  CHECK(reader->deny_list().size() == 3000);
  CHECK_FALSE(reader->deny_list().contains(blocked));
  CHECK(reader->deny_list().contains(*CardId::parse("05000000000BB7")));

  // Offline, the downloaded list refuses a blocked card.
  engine.deny_list.add(*CardId::parse("04000000000042"));
  REQUIRE(reader->refresh_deny_list(agent::Clock::now() + seconds(3)).is_ok());
  engine.server->stop(milliseconds(500));
  emulator::CardProfile card = card_profile("04000000000042");
  agent::TapOutcome outcome = present(*reader, card);
  CHECK(outcome.result == TapResult::refused);
  CHECK(outcome.reason == RefusalReason::card_blocked);
  CHECK(outcome.offline);
  CHECK(reader->queue().pending().empty());
}

TEST_CASE("online: keep_alive heartbeats hold the link open past the engine's idle timeout", "[online]") {
  net::ServerOptions options = net::testing::server_options();
  options.idle_timeout = milliseconds(400);
  options.heartbeat_interval = milliseconds(200);
  LoopbackEngine engine(0, milliseconds(0), options);
  TempDir dir;
  agent::AgentConfig config = online_config(dir, engine.port());
  auto link = make_link(config);
  auto reader = open_agent(config, *link);
  emulator::CardProfile card = card_profile("04A1B2C3D4E5F6");
  REQUIRE(link->keep_alive(agent::Clock::now()).is_ok());

  // Idle for three idle timeouts, with the loop's keep_alive every 50 ms.
  auto until = agent::Clock::now() + milliseconds(1200);
  while (agent::Clock::now() < until) {
    CHECK(link->keep_alive(agent::Clock::now()).is_ok());
    std::this_thread::sleep_for(milliseconds(50));
  }
  CHECK(engine.server->stats().connections_accepted == 1);   // the same connection all along
  CHECK_FALSE(engine.logged("no frame within"));
  agent::TapOutcome outcome = present(*reader, card);
  CHECK_FALSE(outcome.offline);

  // Without heartbeats the engine drops the quiet connection, on its own
  // thread, some time after its 400 ms.
  CHECK(net::testing::eventually([&] { return engine.logged("no frame within"); }));
}

TEST_CASE("online: [engine] settings become uplink options, and missing or malformed ones are named", "[online][config]") {
  TempDir dir;
  agent::AgentConfig config = online_config(dir, 7443);
  auto options = agent::uplink_link_options(config);
  REQUIRE(options);
  CHECK(options->uplink.host == "127.0.0.1");
  CHECK(options->uplink.server_name == "127.0.0.1");
  CHECK(options->uplink.port == 7443);
  CHECK(options->uplink.reader == config.reader);

  config.engine_address = "[::1]:7443";
  CHECK(agent::uplink_link_options(config)->uplink.host == "::1");
  for (const char* bad : {"engine", "engine:", ":7443", "engine:0", "engine:70000", "engine:74x3"}) {
    config.engine_address = bad;
    auto refused = agent::uplink_link_options(config);
    INFO(bad);
    REQUIRE_FALSE(refused);
    CHECK(refused.status().message().find("address") != std::string::npos);
  }
  config.engine_address = "engine:7443";
  config.cert_file.clear();
  CHECK(agent::uplink_link_options(config).status().message().find("cert_file") != std::string::npos);
}
