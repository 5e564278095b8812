// Card proofs in the engine, with the card keys derived in a real SoftHSM2
// token (tests/token/token_fixture.h): a proof binds the whole tap, a tap
// without one is refused by default, counters are unique per card but may
// arrive out of order, cards of two key versions work side by side, and a
// failing key source refuses the tap without stopping the engine.
#include <catch2/catch.hpp>

#include <atomic>

#include "card/cryptogram.h"
#include "engine_fixture.h"
#include "token_fixture.h"

using namespace citycard;
using namespace citycard::engine;
using namespace citycard::engine::testing;
using citycard::test::TestToken;
using citycard::test::test_master_key;

namespace {

constexpr std::uint32_t bus = 101;   // Capital Bus: flat fare at boarding
const std::string card_a = "04A1B2C3D4E5F6";
const std::string card_b = "04A1B2C3D4E5F7";
constexpr std::int64_t minute_us = 60'000'000;

// Signs the record's tap as the card of `hex` would, with its key of
// `key_version` and counter `atc`, and puts the proof in the record.
void prove(protocol::TapRecord& record, std::uint32_t atc, std::uint8_t key_version = 1) {
  card::CardData data;
  data.card_id = record.tap.card;
  data.media = record.tap.media;
  data.key_version = key_version;
  card::TapProof proof;
  proof.record = data;
  proof.atc = atc;
  for (std::size_t i = 0; i < proof.challenge.size(); ++i) proof.challenge[i] = static_cast<std::uint8_t>(atc + i);
  card::CardKey key = card::diversify_card_key(test_master_key(key_version), data.card_id);
  proof.cryptogram = *card::compute_cryptogram(key, data, atc, proof.challenge, record.tap);
  card::Bytes wire = card::encode_proof(proof);
  record.cryptogram.size = static_cast<std::uint8_t>(wire.size());
  std::copy(wire.begin(), wire.end(), record.cryptogram.bytes.begin());
}

protocol::TapRecord proven_tap(std::uint64_t sequence, const std::string& card, std::uint32_t atc,
                               std::int64_t event_us = monday_8am_us, std::uint8_t key_version = 1) {
  protocol::TapRecord record = make_tap(17, sequence, card, Mode::bus_board, bus, event_us, 12);
  prove(record, atc, key_version);
  return record;
}

EngineOptions proof_options(std::shared_ptr<card::CardKeySource> keys) {
  EngineOptions options = Pipeline::quick_options();
  options.require_card_proof = true;
  options.card_keys = std::move(keys);
  return options;
}

// Fails every call while `failing` is set, like a token whose session died.
class FlakyKeySource final : public card::CardKeySource {
 public:
  explicit FlakyKeySource(std::shared_ptr<card::CardKeySource> inner) : inner_(std::move(inner)) {}
  Result<card::CardKey> card_key(std::uint8_t version, const CardId& card) override {
    ++calls;
    if (failing) return Status::unavailable("PKCS#11 C_Sign failed (CKR 0x30)");
    return inner_->card_key(version, card);
  }
  std::atomic<bool> failing{false};
  std::atomic<int> calls{0};

 private:
  std::shared_ptr<card::CardKeySource> inner_;
};

}  // namespace

TEST_CASE("engine proofs: a proven tap is charged, any field changed after the card signed is refused card_not_genuine") {
  TempDir dir("proof-binding");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  issue_card(*ledger, card_b, 100);
  TestToken token;
  Pipeline pipeline(*ledger, proof_options(token.key_source()));

  struct Change {
    const char* field;
    void (*apply)(Tap&);
  };
  std::uint64_t sequence = 1;
  for (Change change : {Change{"sequence", [](Tap& t) { t.id.sequence += 1000; }},
                        Change{"mode", [](Tap& t) { t.mode = Mode::bus_alight; }},
                        Change{"operator", [](Tap& t) { t.operator_id.value = 102; }},
                        Change{"route", [](Tap& t) { t.route += 1; }},
                        Change{"location", [](Tap& t) { t.location += 1; }},
                        Change{"amount", [](Tap& t) { t.amount_minor = 1; }},
                        Change{"event time", [](Tap& t) { t.event_time.unix_us -= minute_us; }},
                        Change{"offline flag", [](Tap& t) { t.offline = true; }},
                        Change{"card", [](Tap& t) { t.card = *CardId::parse(card_b); }},
                        Change{"media", [](Tap& t) { t.media = Media::mobile; }}}) {
    INFO("changed after signing: " << change.field);
    protocol::TapRecord record = proven_tap(sequence, card_a, static_cast<std::uint32_t>(sequence));
    change.apply(record.tap);
    protocol::DecisionRecord decision = pipeline.tap(record);
    CHECK(decision.outcome == protocol::Outcome::refused);
    // Reader 17 is Capital Bus's validator: another operator is refused by the
    // registry before the proof is looked at.
    CHECK(decision.reason == (std::string(change.field) == "operator" ? RefusalReason::reader_not_allowed
                                                                       : RefusalReason::card_not_genuine));
    ++sequence;
  }
  CHECK(wallet_of(*ledger, card_a) == 100);
  CHECK(wallet_of(*ledger, card_b) == 100);

  // A proof cut short, and one whose cryptogram has one bit flipped.
  protocol::TapRecord short_proof = proven_tap(50, card_a, 50);
  short_proof.cryptogram.size = 57;
  CHECK(pipeline.tap(short_proof).reason == RefusalReason::card_not_genuine);
  protocol::TapRecord flipped = proven_tap(51, card_a, 51);
  flipped.cryptogram.bytes[57] ^= 1;
  CHECK(pipeline.tap(flipped).reason == RefusalReason::card_not_genuine);

  protocol::TapRecord genuine = proven_tap(100, card_a, 100);
  protocol::DecisionRecord decision = pipeline.tap(genuine);
  CHECK(decision.outcome == protocol::Outcome::approved);
  CHECK(decision.fare_minor == 15);
  CHECK(wallet_of(*ledger, card_a) == 85);
  CHECK(ledger->verify().ok());
}

TEST_CASE("engine proofs: required by default, a tap without one is refused, no key source, no start") {
  TempDir dir("proof-required");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  CHECK(EngineOptions{}.require_card_proof);

  Metrics metrics;
  Log log(std::tmpfile());
  EngineOptions keyless = Pipeline::quick_options();
  keyless.require_card_proof = true;
  auto refused = Engine::start(*ledger, city_rules(), keyless, metrics, log);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.status().code() == StatusCode::invalid_argument);
  CHECK(refused.status().message().find("no card key source") != std::string::npos);

  TestToken token;
  Pipeline pipeline(*ledger, proof_options(token.key_source()));
  protocol::TapRecord bare = make_tap(17, 1, card_a, Mode::bus_board, bus, monday_8am_us, 12);
  protocol::DecisionRecord decision = pipeline.tap(bare);
  CHECK(decision.outcome == protocol::Outcome::refused);
  CHECK(decision.reason == RefusalReason::card_not_genuine);
  CHECK(wallet_of(*ledger, card_a) == 100);
}

TEST_CASE("engine proofs: an offline tap with a lower counter uploaded after a later online tap is accepted, a counter "
          "used twice is refused, also after a restart") {
  TempDir dir("proof-counters");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  TestToken token;
  {
    Pipeline pipeline(*ledger, proof_options(token.key_source()));
    // 08:30 online, counter 10.
    CHECK(pipeline.tap(proven_tap(1, card_a, 10, monday_8am_us + 30 * minute_us)).outcome == protocol::Outcome::approved);
    // 08:00 on a bus out of coverage, counter 9, uploaded now.
    protocol::TapRecord offline = make_tap(bus_reader_2, 1, card_a, Mode::bus_board, bus, monday_8am_us, 12);
    offline.tap.offline = true;
    prove(offline, 9);
    CHECK(pipeline.tap(offline).outcome == protocol::Outcome::approved);
    // Counter 9 again, on another tap id (a cloned or replayed proof made anew): refused.
    protocol::TapRecord again = proven_tap(2, card_a, 9, monday_8am_us + 40 * minute_us);
    protocol::DecisionRecord decision = pipeline.tap(again);
    CHECK(decision.outcome == protocol::Outcome::refused);
    CHECK(decision.reason == RefusalReason::card_not_genuine);
    // The same tap sent again is its first decision, replayed: not a counter reuse.
    protocol::DecisionRecord replay = pipeline.tap(offline);
    CHECK(replay.outcome == protocol::Outcome::approved);
    CHECK((replay.flags & protocol::DecisionFlags::replayed) != 0);
    // Below the window: older than 256 counters under the highest.
    CHECK(pipeline.tap(proven_tap(3, card_a, 300, monday_8am_us + 50 * minute_us)).outcome ==
          protocol::Outcome::approved);
    CHECK(pipeline.tap(proven_tap(4, card_a, 44, monday_8am_us + 60 * minute_us)).reason ==
          RefusalReason::card_not_genuine);
    CHECK(pipeline.tap(proven_tap(5, card_a, 45, monday_8am_us + 61 * minute_us)).outcome ==
          protocol::Outcome::approved);
    pipeline.engine->stop();
  }
  // A restarted engine reads the counters back from the ledger.
  Pipeline restarted(*ledger, proof_options(token.key_source()));
  CHECK(restarted.tap(proven_tap(6, card_a, 10, monday_8am_us + 70 * minute_us)).reason == RefusalReason::card_not_genuine);
  CHECK(restarted.tap(proven_tap(7, card_a, 45, monday_8am_us + 71 * minute_us)).reason == RefusalReason::card_not_genuine);
  CHECK(restarted.tap(proven_tap(8, card_a, 299, monday_8am_us + 72 * minute_us)).outcome == protocol::Outcome::approved);
  CHECK(ledger->verify().ok());
}

TEST_CASE("engine proofs: cards of key versions 1 and 2 work side by side, an unknown version is refused") {
  TempDir dir("proof-rotation");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  issue_card(*ledger, card_b, 100);
  TestToken token(2);   // v1 and, being rolled out, v2
  Pipeline pipeline(*ledger, proof_options(token.key_source()));
  CHECK(pipeline.tap(proven_tap(1, card_a, 1, monday_8am_us, 1)).outcome == protocol::Outcome::approved);
  CHECK(pipeline.tap(proven_tap(2, card_b, 1, monday_8am_us, 2)).outcome == protocol::Outcome::approved);
  // Card b's proof under the v1 key while its record says v2: not genuine.
  protocol::TapRecord mixed = proven_tap(3, card_b, 2, monday_8am_us + minute_us, 2);
  protocol::TapRecord under_v1 = proven_tap(3, card_b, 2, monday_8am_us + minute_us, 1);
  std::copy_n(under_v1.cryptogram.bytes.begin() + 42, 16, mixed.cryptogram.bytes.begin() + 42);
  CHECK(pipeline.tap(mixed).reason == RefusalReason::card_not_genuine);
  // A card that says version 3: the token has no such master key.
  CHECK(pipeline.tap(proven_tap(4, card_a, 2, monday_8am_us + minute_us, 3)).reason == RefusalReason::card_not_genuine);
  // The same card re-personalised under v2 (a rotation) is accepted with its new key.
  CHECK(pipeline.tap(proven_tap(5, card_a, 3, monday_8am_us + 2 * minute_us, 2)).outcome == protocol::Outcome::approved);
  CHECK(wallet_of(*ledger, card_a) == 70);
  CHECK(wallet_of(*ledger, card_b) == 85);
}

TEST_CASE("engine proofs: a key source failure refuses the tap card_not_genuine, logged, and the engine goes on") {
  TempDir dir("proof-token-failure");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  TestToken token;
  auto flaky = std::make_shared<FlakyKeySource>(token.key_source());
  Pipeline pipeline(*ledger, proof_options(flaky));
  flaky->failing = true;
  protocol::DecisionRecord decision = pipeline.tap(proven_tap(1, card_a, 1));
  CHECK(decision.outcome == protocol::Outcome::refused);
  CHECK(decision.reason == RefusalReason::card_not_genuine);
  CHECK(flaky->calls == 1);
  CHECK(wallet_of(*ledger, card_a) == 100);
  // Nothing was cached from the failure: the next proof asks the token again.
  flaky->failing = false;
  CHECK(pipeline.tap(proven_tap(2, card_a, 2)).outcome == protocol::Outcome::approved);
  CHECK(flaky->calls == 2);
  // Derived once, then from the shard's memory: no further token call.
  CHECK(pipeline.tap(proven_tap(3, card_a, 3, monday_8am_us + 90 * minute_us)).outcome == protocol::Outcome::approved);
  CHECK(flaky->calls == 2);
}

TEST_CASE("engine proofs: preloaded cards' keys are derived ahead in the background, so a first tap asks no token") {
  TempDir dir("proof-warm");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  issue_card(*ledger, card_b, 100);
  TestToken token;
  auto counting = std::make_shared<FlakyKeySource>(token.key_source());
  EngineOptions options = proof_options(counting);
  options.warm_key_version = 1;
  Pipeline pipeline(*ledger, options);
  // Both cards' keys come from the warmer (a bounded wait: it runs at a lower priority).
  for (int i = 0; i < 1000 && pipeline.engine->card_keys_warmed() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(pipeline.engine->card_keys_warmed() == 2);
  REQUIRE(counting->calls == 2);
  // Handed to the shard as a message queued before the taps below.
  CHECK(pipeline.tap(proven_tap(1, card_a, 1)).outcome == protocol::Outcome::approved);
  CHECK(pipeline.tap(proven_tap(2, card_b, 1)).outcome == protocol::Outcome::approved);
  CHECK(counting->calls == 2);  // no derivation on the shard's thread
  // A card of another version still derives its own on its first proof.
  CHECK(pipeline.tap(proven_tap(3, card_a, 2, monday_8am_us + minute_us, 2)).reason == RefusalReason::card_not_genuine);
  CHECK(counting->calls == 3);
}
