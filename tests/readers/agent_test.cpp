// The agent's decisions with the card application in process: offline
// admission is queued durably, refusals are not, online answers come from
// the EngineLink, and a lost link falls back to the offline decision.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "agent.h"
#include "card_application.h"
#include "scripted_link.h"
#include "temp_dir.h"

using namespace citycard;
using namespace citycard::agent;
using citycard::test::ScriptedEngineLink;
using citycard::test::TempDir;

namespace {

// After answers_max APDUs the card has left the field (a 0-byte answer, as PC/SC reports it).
class InProcessTransport final : public card::CardTransport {
 public:
  explicit InProcessTransport(emulator::CardApplication& card, std::size_t answers_max = SIZE_MAX)
      : card_(card), answers_max_(answers_max) {}
  Result<card::Bytes> transmit(card::ByteView command) override {
    if (answered_ >= answers_max_) return card::Bytes{};
    ++answered_;
    return card_.process(command);
  }

 private:
  emulator::CardApplication& card_;
  std::size_t answers_max_;
  std::size_t answered_ = 0;
};

card::MasterKey master() { return card::MasterKey{*card::parse_key_hex("000102030405060708090A0B0C0D0E0F"), 1}; }
card::MasterKeySource& keys() {
  static card::MasterKeySource source(master());
  return source;
}

emulator::CardProfile profile(const char* uid) {
  emulator::CardProfile p;
  p.uid = *card::parse_hex(uid);
  p.record.card_id = *CardId::parse(uid);
  p.key = card::diversify_card_key(master(), p.record.card_id);
  return p;
}

AgentConfig config(const TempDir& dir) {
  AgentConfig c;
  c.reader = ReaderId{17};
  c.operator_id = OperatorId{3};
  c.mode = Mode::bus_board;
  c.route = 307;
  c.location = 12;
  c.state_dir = dir.file("state");
  c.token.pin_env = "UNUSED_IN_PROCESS";
  return c;
}

TapOutcome tap(Agent& agent, const emulator::CardProfile& card_profile) {
  emulator::CardApplication card(card_profile);
  InProcessTransport transport(card);
  return agent.handle_card(transport, EventTime::from_unix_seconds(1'700'000'000));
}

}  // namespace

TEST_CASE("agent offline: genuine card is admitted and its tap queued with its proof", "[agent]") {
  TempDir dir;
  OfflineLink link;
  auto agent = Agent::open(config(dir), keys(), link);
  REQUIRE(agent.has_value());
  TapOutcome outcome = tap(**agent, profile("04A1B2C3D4E5F6"));
  CHECK(outcome.result == TapResult::approved);
  CHECK(outcome.offline);
  CHECK(outcome.queued == 1);
  REQUIRE((*agent)->queue().pending().size() == 1);
  const QueuedTap& queued = (*agent)->queue().pending().front();
  CHECK(queued.tap.offline);
  CHECK(queued.tap.id == outcome.tap);
  CHECK(queued.tap.route == 307);
  CHECK(queued.tap.mode == Mode::bus_board);
  CHECK(card::verify_tap_proof(keys(), queued.tap, queued.proof).is_ok());
  CHECK(format_line(outcome).rfind("APPROVED", 0) == 0);
  CHECK(format_json(outcome).find("\"result\":\"approved\"") != std::string::npos);
}

TEST_CASE("agent offline: refusals are not queued", "[agent]") {
  TempDir dir;
  OfflineLink link;
  auto agent = Agent::open(config(dir), keys(), link);
  REQUIRE(agent.has_value());
  REQUIRE((*agent)->apply_deny_list_delta({0, 1, false, {*CardId::parse("04000000000001")}, {}}).is_ok());

  emulator::CardProfile clone = profile("04A1B2C3D4E5F6");
  clone.key.bytes[3] ^= 1;
  TapOutcome refused_clone = tap(**agent, clone);
  CHECK(refused_clone.result == TapResult::refused);
  CHECK(refused_clone.reason == RefusalReason::card_not_genuine);

  TapOutcome denied = tap(**agent, profile("04000000000001"));
  CHECK(denied.result == TapResult::refused);
  CHECK(denied.reason == RefusalReason::card_blocked);
  CHECK(format_line(denied).find("deny list") != std::string::npos);

  emulator::CardProfile lost = profile("04000000000002");
  lost.record.status = CardStatus::lost;
  CHECK(tap(**agent, lost).reason == RefusalReason::card_lost);

  CHECK((*agent)->queue().pending().empty());
}

TEST_CASE("agent online: the engine decides, without an answer the reader decides and queues", "[agent]") {
  TempDir dir;
  ScriptedEngineLink link;
  auto agent = Agent::open(config(dir), keys(), link);
  REQUIRE(agent.has_value());
  TapOutcome online = tap(**agent, profile("04A1B2C3D4E5F6"));
  CHECK(online.result == TapResult::approved);
  CHECK(!online.offline);
  CHECK(online.fare_minor == 15);
  CHECK(online.balance_minor == 285);
  CHECK(format_line(online).find("fare 15 TWD  balance 285 TWD") != std::string::npos);
  CHECK((*agent)->queue().pending().empty());

  link.failures_left = 1;
  TapOutcome fallback = tap(**agent, profile("04A1B2C3D4E5F6"));
  CHECK(fallback.result == TapResult::approved);
  CHECK(fallback.offline);
  REQUIRE((*agent)->queue().pending().size() == 1);
  CHECK((*agent)->queue().pending().front().tap.id == fallback.tap);

  UploadReport report = (*agent)->upload_step(Clock::now());
  CHECK(report.taps_acknowledged == 1);
  CHECK((*agent)->queue().pending().empty());

  link.deny_delta = {0, 4, false, {*CardId::parse("04A1B2C3D4E5F6")}, {}};
  REQUIRE((*agent)->refresh_deny_list(Clock::now() + std::chrono::seconds(1)).is_ok());
  CHECK((*agent)->deny_list().version() == 4);
}

TEST_CASE("agent: sequence numbers are unique across restarts and refusals", "[agent]") {
  TempDir dir;
  OfflineLink link;
  std::set<std::uint64_t> seen;
  for (int restart = 0; restart < 3; ++restart) {
    auto agent = Agent::open(config(dir), keys(), link);
    REQUIRE(agent.has_value());
    for (int i = 0; i < 4; ++i) {
      emulator::CardProfile card = profile("04A1B2C3D4E5F6");
      if (i == 2) card.key.bytes[0] ^= 1;   // a refused clone still uses a number
      CHECK(seen.insert(tap(**agent, card).tap.sequence).second);
    }
  }
  auto agent = Agent::open(config(dir), keys(), link);
  CHECK((*agent)->queue().pending().size() == 9);
}

TEST_CASE("agent config: TOML keys, defaults and validation", "[agent][config]") {
  auto parsed = parse_config(R"(
[reader]
id = 17
operator = 3
mode = "metro_in"
location = 104
state_dir = "/tmp/x"
[token]
pin_file = "/tmp/k.pin"
token_label = "reader-sam"
[engine]
address = "engine:7443"
timeout_ms = 120
[queue]
taps_max = 500
)",
                             "test.toml");
  REQUIRE(parsed.has_value());
  CHECK(parsed->reader.value == 17);
  CHECK(parsed->mode == Mode::metro_in);
  CHECK(parsed->location == 104);
  CHECK(parsed->engine_timeout == std::chrono::milliseconds(120));
  CHECK(parsed->queue_taps_max == 500);
  CHECK(parsed->upload_batch_taps == 512);
  CHECK(parsed->token.pin_file == "/tmp/k.pin");
  CHECK(parsed->token.token_label == "reader-sam");
  CHECK(parsed->token.module_path == "/usr/lib/softhsm/libsofthsm2.so");
  CHECK(parsed->validate().is_ok());
  auto no_pin = parse_config("[reader]\nid=1\noperator=2\nstate_dir=\"s\"\n", "t");
  REQUIRE(no_pin.has_value());
  CHECK(no_pin->validate().message().find("pin_file or pin_env") != std::string::npos);

  CHECK(parse_config("[reader]\nmode = \"fly\"\n", "t").status().message().find("fly") != std::string::npos);
  CHECK(parse_config("[reader]\nid = -1\n", "t").status().code() == StatusCode::invalid_argument);
  CHECK(parse_config("[reader\n", "t").status().code() == StatusCode::invalid_argument);
  auto missing = parse_config("[reader]\nid = 1\n", "t");
  REQUIRE(missing.has_value());
  CHECK(missing->validate().message().find("operator") != std::string::npos);
  auto pay = parse_config("[reader]\nid=1\noperator=2\nmode=\"pay\"\nstate_dir=\"s\"\n[token]\npin_env=\"P\"\n", "t");
  CHECK(pay->validate().message().find("amount_minor") != std::string::npos);
}

TEST_CASE("agent: no online answer in time and the card still in the field: it signs the same tap again, marked "
          "offline, and that is journaled", "[agent]") {
  TempDir dir;
  ScriptedEngineLink link;
  link.failures_left = 1;   // the online attempt gets no answer
  auto agent = Agent::open(config(dir), keys(), link);
  REQUIRE(agent.has_value());
  emulator::CardProfile card_profile = profile("04A1B2C3D4E5F6");
  card_profile.atc = 41;
  emulator::CardApplication card(card_profile);
  InProcessTransport transport(card);
  TapOutcome outcome = (*agent)->handle_card(transport, EventTime::from_unix_seconds(1'700'000'000));
  INFO(format_line(outcome));
  CHECK(outcome.result == TapResult::approved);
  CHECK(outcome.offline);

  // The online attempt: offline flag 0, counter 42, its own proof.
  REQUIRE(link.sent.size() == 1);
  const QueuedTap& online = link.sent.front();
  CHECK(online.tap.id == outcome.tap);
  CHECK_FALSE(online.tap.offline);
  CHECK(online.proof.atc == 42);
  CHECK(card::verify_tap_proof(keys(), online.tap, online.proof).is_ok());

  // The journaled copy: the same tap id X, offline flag 1, the second proof (counter 43).
  REQUIRE((*agent)->queue().pending().size() == 1);
  const QueuedTap& queued = (*agent)->queue().pending().front();
  CHECK(queued.tap.id == online.tap.id);
  CHECK(queued.tap.offline);
  CHECK(queued.proof.atc == 43);
  CHECK(card.atc() == 43);
  CHECK(card::verify_tap_proof(keys(), queued.tap, queued.proof).is_ok());
  // Neither proof passes for the other's tap: the engine can tell them apart.
  CHECK(card::verify_tap_proof(keys(), queued.tap, online.proof).code() == StatusCode::refused);
  CHECK(card::verify_tap_proof(keys(), online.tap, queued.proof).code() == StatusCode::refused);
  // Every other field is the online attempt's.
  CHECK(queued.tap.event_time == online.tap.event_time);
  CHECK(queued.tap.mode == online.tap.mode);
  CHECK(queued.tap.route == online.tap.route);
}

TEST_CASE("agent: no online answer in time and the card already gone: tap again, nothing journaled", "[agent]") {
  TempDir dir;
  ScriptedEngineLink link;
  link.failures_left = 1;
  auto agent = Agent::open(config(dir), keys(), link);
  REQUIRE(agent.has_value());
  emulator::CardApplication card(profile("04A1B2C3D4E5F6"));
  InProcessTransport transport(card, 4);   // GET UID, SELECT, READ DATA, INTERNAL AUTHENTICATE; then gone
  TapOutcome outcome = (*agent)->handle_card(transport, EventTime::from_unix_seconds(1'700'000'000));
  INFO(format_line(outcome));
  CHECK(outcome.result == TapResult::tap_again);
  CHECK(outcome.detail.find("offline") != std::string::npos);
  CHECK(link.sent.size() == 1);
  CHECK((*agent)->queue().pending().empty());
}

TEST_CASE("agent: a link that can never reach an engine has the card sign the tap offline at once", "[agent]") {
  TempDir dir;
  OfflineLink link;
  auto agent = Agent::open(config(dir), keys(), link);
  REQUIRE(agent.has_value());
  emulator::CardApplication card(profile("04A1B2C3D4E5F6"));
  InProcessTransport transport(card, 4);   // one authentication is all it takes
  TapOutcome outcome = (*agent)->handle_card(transport, EventTime::from_unix_seconds(1'700'000'000));
  CHECK(outcome.result == TapResult::approved);
  REQUIRE((*agent)->queue().pending().size() == 1);
  const QueuedTap& queued = (*agent)->queue().pending().front();
  CHECK(queued.tap.offline);
  CHECK(queued.proof.atc == 1);
  CHECK(card::verify_tap_proof(keys(), queued.tap, queued.proof).is_ok());
}

TEST_CASE("agent: a reader whose state lost its numbers never reuses one the engine holds", "[agent]") {
  TempDir dir;
  ScriptedEngineLink link;
  AgentConfig restored = config(dir);
  restored.sequence_first = 1;  // as if numbering restarted low (a state restored from an old copy)
  auto agent = Agent::open(restored, keys(), link);
  REQUIRE(agent.has_value());
  link.last_sequence = 5000;  // the engine's hello_ack: it holds taps up to 5000
  TapOutcome first = tap(**agent, profile("04A1B2C3D4E5F6"));
  CHECK(first.tap.sequence == 5001);
  TapOutcome second = tap(**agent, profile("04A1B2C3D4E5F6"));
  CHECK(second.tap.sequence == 5002);
}

TEST_CASE("agent: a new reader without state numbers its taps from the clock", "[agent]") {
  TempDir dir;
  OfflineLink link;
  AgentConfig fresh = config(dir);
  fresh.sequence_first = 0;
  auto agent = Agent::open(fresh, keys(), link);
  REQUIRE(agent.has_value());
  TapOutcome outcome = tap(**agent, profile("04A1B2C3D4E5F6"));
  CHECK(outcome.tap.sequence > 1'700'000'000'000'000ULL);  // microseconds since 1970, after 2023
}

TEST_CASE("agent: a restart clears the state files a killed agent left half-written", "[agent]") {
  TempDir dir;
  OfflineLink link;
  { REQUIRE(Agent::open(config(dir), keys(), link).has_value()); }
  const std::string state = dir.file("state");
  // As files/durable_file.h names its temporaries; a SIGKILL mid-write leaves them.
  for (const char* name : {"/.sequence.tmp-4242-0", "/.deny.list.tmp-4242-1", "/.taps.journal.tmp-4242-2"})
    std::ofstream(state + name) << "half";
  auto agent = Agent::open(config(dir), keys(), link);
  REQUIRE(agent.has_value());
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(state)) names.insert(entry.path().filename().string());
  CHECK(names.count("taps.journal") == 1);
  for (const auto& name : names) CHECK(name[0] != '.');
}
