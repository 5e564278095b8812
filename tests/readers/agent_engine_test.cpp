// The reader agent against the REAL engine: UplinkEngineLink over mutual TLS
// on loopback to net::Server, whose sink is engine::Engine (shards, rating
// with the real rules/city.toml, group commit) on a real ledger in a
// temporary directory. The engine holds the card keys and requires
// the card's tap proof, so every tap it charges was proven by the card.
//
// Online: the engine's decision reaches the rider with the rules' fare and
// the ledger's wallet drops by exactly that. Offline: taps admitted while the
// engine is unreachable are uploaded in order when it returns, charged once
// each, pruned from the journal; a resend of the same journal (a reader that
// lost its acknowledgement) gets the same decisions, replayed, and no charge.
#include <catch2/catch.hpp>

#include <filesystem>
#include <numeric>
#include <thread>

#include "engine_fixture.h"
#include "online_fixture.h"

using namespace citycard;
using agent::TapResult;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace et = citycard::engine::testing;

namespace {

const std::string card_hex = "04A1B2C3D4E5F6";
constexpr std::int64_t topped_up = 100;
constexpr OperatorId bus_operator{101};   // Capital Bus, network city_bus (flat fare at boarding)

// The city bus flat fare for a general rider, as rules/city.toml gives it.
std::int64_t bus_fare() {
  const rules::RuleSet& rule_set = et::city_rules();
  for (const auto& product : rule_set.products) {
    if (product.id != "bus_flat") continue;
    auto price = rules::product_price(product, RiderCategory::general, Media::physical_card);
    REQUIRE(price.has_value());
    return *price;
  }
  FAIL("rules/city.toml has no bus_flat product");
  return 0;
}

// The real engine and ledger; the TLS server in front of it can be started
// and stopped (the engine, and what it decided, stay).
struct RealEngine {
  RealEngine() : dir("agent-engine"), ledger(et::make_ledger(dir.path / "ledger")) {
    et::issue_card(*ledger, card_hex, topped_up);
    engine::EngineOptions options = et::Pipeline::quick_options();
    options.card_keys = std::make_shared<card::MasterKeySource>(test::online_master());
    options.require_card_proof = true;
    pipeline = std::make_unique<et::Pipeline>(*ledger, std::move(options));
  }
  ~RealEngine() {
    stop_server();
    pipeline->engine->stop();
  }

  void start_server(std::uint16_t port = 0) {
    net::ServerOptions options = net::testing::server_options();
    options.port = port;
    auto started = net::Server::start(std::move(options), *pipeline->engine, &pipeline->engine->deny_list());
    INFO(started.status().to_string());
    REQUIRE(started);
    server = std::move(started).value();
  }
  void stop_server() {
    if (server) server->stop(milliseconds(2000));
    server.reset();
  }

  std::int64_t wallet() const { return et::wallet_of(*ledger, card_hex); }
  AccountId wallet_account() const {
    auto card = ledger->card(*CardId::parse(card_hex));
    REQUIRE(card);
    return card->wallet_account;
  }
  // What the ledger took from the wallet under the tap's key (0 if nothing posted).
  std::int64_t charged(TapId tap) const {
    auto transfers = ledger->transfers_for(IdempotencyKey::for_tap(tap));
    if (!transfers) return 0;
    std::int64_t sum = 0;
    for (const auto& stored : *transfers) {
      if (stored.transfer.debit_account == wallet_account()) sum += stored.transfer.amount_minor;
      if (stored.transfer.credit_account == wallet_account()) sum -= stored.transfer.amount_minor;
    }
    return sum;
  }
  bool holds(TapId tap) const {
    auto posted = ledger->posted(IdempotencyKey::for_tap(tap));
    REQUIRE(posted);
    return posted->has_value();
  }

  et::TempDir dir;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<et::Pipeline> pipeline;
  std::unique_ptr<net::Server> server;
};

// Reader 17 on a Capital Bus, boarding.
agent::AgentConfig bus_config(const test::TempDir& dir, std::uint16_t port) {
  agent::AgentConfig config = test::online_config(dir, port);
  config.operator_id = bus_operator;
  config.mode = Mode::bus_board;
  config.route = 1;
  config.location = 12;
  return config;
}

// Presents the card with the tap's event time at `event_us`.
agent::TapOutcome present_at(agent::Agent& reader, emulator::CardProfile& profile, std::int64_t event_us) {
  emulator::CardApplication card(profile);
  test::InProcessCard transport(card);
  agent::TapOutcome outcome = reader.handle_card(transport, EventTime{event_us});
  profile.atc = card.atc();
  return outcome;
}

void wait_connected(agent::UplinkEngineLink& link) {
  auto deadline = agent::Clock::now() + seconds(5);
  while (!link.keep_alive(agent::Clock::now()).is_ok() && agent::Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  REQUIRE(link.connected());
}

constexpr std::int64_t minute_us = 60'000'000;

}  // namespace

TEST_CASE("agent engine: the real engine decides an online bus tap with the rules' fare and the ledger charges it",
          "[online][engine]") {
  const std::int64_t fare = bus_fare();
  REQUIRE(fare == 15);   // rules/city.toml: city bus, general rider
  RealEngine engine;
  engine.start_server();
  test::TempDir dir;
  agent::AgentConfig config = bus_config(dir, engine.server->port());
  config.engine_timeout = milliseconds(3000);   // correctness here, not the tap budget (shared CI cores)
  auto link = test::make_link(config);
  auto reader = test::open_agent(config, *link);
  wait_connected(*link);
  emulator::CardProfile card = test::card_profile(card_hex.c_str());

  agent::TapOutcome outcome = present_at(*reader, card, et::monday_8am_us);
  INFO(agent::format_line(outcome));
  CHECK(outcome.result == TapResult::approved);
  CHECK_FALSE(outcome.offline);
  CHECK(outcome.card == *CardId::parse(card_hex));
  REQUIRE(outcome.fare_minor.has_value());
  CHECK(*outcome.fare_minor == fare);
  REQUIRE(outcome.balance_minor.has_value());
  CHECK(*outcome.balance_minor == topped_up - fare);
  CHECK(reader->queue().pending().empty());

  CHECK(engine.holds(outcome.tap));
  CHECK(engine.charged(outcome.tap) == fare);
  CHECK(engine.wallet() == topped_up - fare);

  // A card the ledger never issued: the engine refuses it (offline, the
  // reader would have admitted it), and nothing moves.
  emulator::CardProfile stranger = test::card_profile("04CAFE00BEEF02");
  agent::TapOutcome refused = present_at(*reader, stranger, et::monday_8am_us + minute_us);
  INFO(agent::format_line(refused));
  CHECK(refused.result == TapResult::refused);
  CHECK_FALSE(refused.offline);
  CHECK(refused.reason == RefusalReason::card_unknown);
  CHECK(reader->queue().pending().empty());
  CHECK(engine.charged(refused.tap) == 0);
  CHECK(engine.wallet() == topped_up - fare);
  CHECK(engine.ledger->verify().ok());
}

TEST_CASE("agent engine: taps admitted offline are uploaded in order when the engine returns, charged once, pruned, "
          "and a resent journal is replayed without a second charge",
          "[online][engine]") {
  const std::int64_t fare = bus_fare();
  RealEngine engine;                               // engine and ledger up, no server in front yet
  std::uint16_t port = test::dead_port();
  test::TempDir dir;
  agent::AgentConfig config = bus_config(dir, port);
  auto link = test::make_link(config);
  auto reader = test::open_agent(config, *link);
  emulator::CardProfile card = test::card_profile(card_hex.c_str());

  std::vector<TapId> admitted;
  for (int i = 0; i < 3; ++i) {
    agent::TapOutcome outcome = present_at(*reader, card, et::monday_8am_us + i * 10 * minute_us);
    INFO(agent::format_line(outcome));
    REQUIRE(outcome.result == TapResult::approved);
    REQUIRE(outcome.offline);
    CHECK(outcome.queued == static_cast<std::size_t>(i + 1));
    CHECK_FALSE(outcome.fare_minor.has_value());
    admitted.push_back(outcome.tap);
  }
  REQUIRE(reader->queue().pending().size() == 3);
  for (TapId tap : admitted) CHECK_FALSE(engine.holds(tap));
  CHECK(engine.wallet() == topped_up);

  // The journal as it is before any acknowledgement (for the resend below).
  const std::string journal = config.state_dir + "/taps.journal";
  const std::string before_ack = dir.file("taps.journal.before-ack");
  std::filesystem::copy_file(journal, before_ack);

  engine.start_server(port);   // the engine is reachable again, at the same address
  wait_connected(*link);
  test::upload_all(*reader, seconds(10));
  CHECK(reader->queue().pending().empty());

  // Each tap in the ledger exactly once, in the order the reader admitted them.
  std::uint64_t previous_sequence = 0;
  for (std::size_t i = 0; i < admitted.size(); ++i) {
    INFO("tap " << admitted[i].sequence);
    REQUIRE(engine.holds(admitted[i]));
    auto transfers = engine.ledger->transfers_for(IdempotencyKey::for_tap(admitted[i]));
    REQUIRE(transfers);
    REQUIRE_FALSE(transfers->empty());
    CHECK(transfers->front().sequence > previous_sequence);
    previous_sequence = transfers->front().sequence;
    CHECK(engine.charged(admitted[i]) == fare);
  }
  const std::int64_t after_upload = topped_up - 3 * fare;
  CHECK(engine.wallet() == after_upload);
  const std::uint64_t ledger_end = engine.ledger->last_sequence();

  // Pruned on disk: a restarted reader has nothing to send.
  reader.reset();
  reader = test::open_agent(config, *link);
  CHECK(reader->queue().pending().empty());

  // The power went before the acknowledgement reached the journal: the
  // reader comes back with all three taps and sends them again.
  reader.reset();
  std::filesystem::copy_file(before_ack, journal, std::filesystem::copy_options::overwrite_existing);
  reader = test::open_agent(config, *link);
  REQUIRE(reader->queue().pending().size() == 3);
  std::vector<agent::QueuedTap> again(reader->queue().pending().begin(), reader->queue().pending().end());
  for (std::size_t i = 0; i < again.size(); ++i) CHECK(again[i].tap.id == admitted[i]);
  auto resent = link->submit_taps(again, agent::Clock::now() + seconds(5));
  INFO(resent.status().to_string());
  REQUIRE(resent);
  REQUIRE(resent->size() == 3);
  for (std::size_t i = 0; i < resent->size(); ++i) {
    const agent::TapDecision& decision = (*resent)[i];
    INFO("tap " << admitted[i].sequence);
    CHECK(decision.tap == admitted[i]);
    CHECK(decision.replayed);
    CHECK(decision.verdict == agent::Verdict::approved);
    CHECK(decision.fare_minor == fare);
    // The balance after each tap, as first decided: rated in admission order.
    REQUIRE(decision.balance_minor.has_value());
    CHECK(*decision.balance_minor == topped_up - static_cast<std::int64_t>(i + 1) * fare);
    CHECK_FALSE(decision.debt);
  }
  test::upload_all(*reader, seconds(10));   // the uploader's own resend, acknowledged and pruned
  CHECK(reader->queue().pending().empty());

  CHECK(engine.wallet() == after_upload);                // no second charge
  CHECK(engine.ledger->last_sequence() == ledger_end);   // nothing posted at all
  for (TapId tap : admitted) CHECK(engine.charged(tap) == fare);
  auto report = engine.ledger->verify();
  for (const auto& problem : report.problems) UNSCOPED_INFO(problem.kind << ": " << problem.detail);
  CHECK(report.ok());
}
