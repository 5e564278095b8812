// citycard-reader online on the real path, end to end, with SoftHSM2-backed
// proofs: pcscd + vpcd + emulator on the card side (the card holds the key
// the token derived for it, as the card bureau's export gives it), and the
// REAL engine (shards, rules/city.toml, ledger in a temporary directory) over
// mutual TLS on loopback, deriving the card's key in the same token and
// requiring the proof. One tap: charged by the engine, shown to the rider.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine_fixture.h"
#include "online_fixture.h"
#include "pcsc_fixture.h"
#include "token_fixture.h"

using namespace citycard;
using namespace citycard::test;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace et = citycard::engine::testing;

TEST_CASE("reader online: a genuine card through pcscd, proven with token keys, is charged by the real engine over TLS",
          "[pcsc][agent][online]") {
  pcsc::Context context = establish();
  require_empty_slot(context);
  TestToken token;   // the engine's and the reader's master key v1 (a SAM and an HSM holding the same key)
  const std::string card_hex = "04A1B2C3D4E5F6";

  et::TempDir engine_dir("pcsc-online");
  auto ledger = et::make_ledger(engine_dir.path / "ledger");
  et::issue_card(*ledger, card_hex, 100);
  engine::EngineOptions options = et::Pipeline::quick_options();
  options.require_card_proof = true;
  options.card_keys = token.key_source();
  options.clock = {};  // citycard-reader dates its taps by the wall clock: so does this engine
  et::Pipeline pipeline(*ledger, std::move(options));
  net::ServerOptions server_options = net::testing::server_options();
  server_options.port = 0;
  auto server = net::Server::start(std::move(server_options), *pipeline.engine, &pipeline.engine->deny_list());
  INFO(server.status().to_string());
  REQUIRE(server);

  TempDir dir;
  const auto& pki = net::testing::TestPki::get();
  pki::Paths paths{pki.dir};
  token::TokenOptions token_options = token.options();
  std::ofstream(dir.file("reader.toml"))
      << "[reader]\nid = " << net::testing::good_reader.value << "\noperator = 101\nmode = \"bus_board\"\nroute = 1\n"
      << "location = 12\npcsc_reader = \"" << reader_name << "\"\nstate_dir = \"" << dir.file("state") << "\"\n"
      << "[token]\npin_file = \"" << token_options.pin_file << "\"\nsofthsm2_conf = \"" << token_options.softhsm2_conf
      << "\"\n"
      << "[engine]\naddress = \"127.0.0.1:" << (*server)->port() << "\"\ntimeout_ms = 3000\n"
      << "ca_file = \"" << paths.ca_certificate().string() << "\"\n"
      << "cert_file = \"" << paths.reader_certificate(net::testing::good_reader).string() << "\"\n"
      << "key_file = \"" << paths.reader_key(net::testing::good_reader).string() << "\"\n";

  ChildProcess reader =
      ChildProcess::start({CITYCARD_READER_PATH, "--config", dir.file("reader.toml"), "--json", "--taps", "1"}, true);
  REQUIRE(reader.started());
  // The reader connects at start; wait for it so the tap finds the link up.
  auto deadline = after(seconds(5));
  while ((*server)->stats().connections_open == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  REQUIRE((*server)->stats().connections_open == 1);

  // The card's own key, derived in the token: what personalisation wrote on it.
  auto card_key = token.key_source()->card_key(1, *CardId::parse(card_hex));
  REQUIRE(card_key.has_value());
  std::vector<std::string> argv = {CITYCARD_EMULATOR_PATH, "--port", emulator_port, "--card-key-hex",
                                   card::to_hex(card_key->bytes), "--uid", card_hex, "--present-ms", "3000",
                                   "--exit-after-removal", "--connect-timeout-ms", "5000"};
  ChildProcess card = ChildProcess::start(argv);
  REQUIRE(card.started());
  auto line = reader.read_line(seconds(10));
  REQUIRE(line.has_value());
  INFO("line: " << *line);
  nlohmann::json tap = nlohmann::json::parse(*line, nullptr, false);
  REQUIRE(!tap.is_discarded());
  CHECK(tap["result"] == "approved");
  CHECK(tap["offline"] == false);
  CHECK(tap["card"] == card_hex);
  CHECK(tap["fare_minor"] == 15);
  CHECK(tap["balance_minor"] == 85);
  auto exited = reader.wait_exit(seconds(5));
  REQUIRE(exited.has_value());
  CHECK(WEXITSTATUS(*exited) == 0);

  CHECK(et::wallet_of(*ledger, card_hex) == 85);
  {
    auto journal = agent::Journal::open(dir.file("state") + "/taps.journal");
    REQUIRE(journal.has_value());
    CHECK(journal->pending().empty());   // decided online: nothing queued
  }   // (and its lock released for the next reader run)

  // A clone of the same card (UID and record copied, no key): the reader
  // refuses it itself, and nothing reaches the engine or moves.
  card.stop();
  require_empty_slot(context);
  ChildProcess clone_reader =
      ChildProcess::start({CITYCARD_READER_PATH, "--config", dir.file("reader.toml"), "--json", "--taps", "1"}, true);
  ChildProcess clone = ChildProcess::start({CITYCARD_EMULATOR_PATH, "--port", emulator_port, "--master-key-hex",
                                            master_key_hex, "--uid", card_hex, "--behaviour", "clone", "--present-ms",
                                            "3000", "--exit-after-removal", "--connect-timeout-ms", "5000"});
  auto refused = clone_reader.read_line(seconds(10));
  REQUIRE(refused.has_value());
  INFO("line: " << *refused);
  nlohmann::json refused_tap = nlohmann::json::parse(*refused, nullptr, false);
  CHECK(refused_tap["result"] == "refused");
  CHECK(refused_tap["reason"] == "card_not_genuine");
  clone_reader.wait_exit(seconds(5));
  CHECK(et::wallet_of(*ledger, card_hex) == 85);
  (*server)->stop(milliseconds(2000));
}

namespace {

// A reader config for LoopbackEngine `engine` (its test sink) with a short
// online deadline, keys from `token`.
void write_reader_config(const TempDir& dir, const TestToken& token, std::uint16_t port, int timeout_ms) {
  const auto& pki = net::testing::TestPki::get();
  pki::Paths paths{pki.dir};
  token::TokenOptions token_options = token.options();
  std::ofstream(dir.file("reader.toml"))
      << "[reader]\nid = " << net::testing::good_reader.value << "\noperator = 3\nmode = \"bus_board\"\nroute = 307\n"
      << "location = 12\npcsc_reader = \"" << reader_name << "\"\nstate_dir = \"" << dir.file("state") << "\"\n"
      << "[token]\npin_file = \"" << token_options.pin_file << "\"\nsofthsm2_conf = \"" << token_options.softhsm2_conf
      << "\"\n"
      << "[engine]\naddress = \"127.0.0.1:" << port << "\"\ntimeout_ms = " << timeout_ms << "\n"
      << "ca_file = \"" << paths.ca_certificate().string() << "\"\n"
      << "cert_file = \"" << paths.reader_certificate(net::testing::good_reader).string() << "\"\n"
      << "key_file = \"" << paths.reader_key(net::testing::good_reader).string() << "\"\n";
}

void wait_connected(LoopbackEngine& engine) {
  auto deadline = after(seconds(5));
  while (engine.server->stats().connections_open == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  REQUIRE(engine.server->stats().connections_open == 1);
}

}  // namespace

TEST_CASE("reader online: the engine answers too late, the card, still in the field, signs the same tap offline and "
          "that is journaled", "[pcsc][agent][online]") {
  pcsc::Context context = establish();
  require_empty_slot(context);
  TestToken token;
  LoopbackEngine engine(0, milliseconds(1500));   // decides, but only after the reader gave up
  TempDir dir;
  write_reader_config(dir, token, engine.port(), 150);
  ChildProcess reader =
      ChildProcess::start({CITYCARD_READER_PATH, "--config", dir.file("reader.toml"), "--json", "--taps", "1"}, true);
  REQUIRE(reader.started());
  wait_connected(engine);
  ChildProcess card = start_emulator({"--uid", "04A1B2C3D4E5F6", "--atc", "41", "--present-ms", "3000",
                                      "--exit-after-removal"});
  auto line = reader.read_line(seconds(10));
  REQUIRE(line.has_value());
  INFO("line: " << *line);
  nlohmann::json tap = nlohmann::json::parse(*line, nullptr, false);
  CHECK(tap["result"] == "approved");
  CHECK(tap["offline"] == true);
  REQUIRE(reader.wait_exit(seconds(5)).has_value());

  // The online attempt reached the engine: offline flag 0, counter 42.
  auto deadline = after(seconds(5));
  while (engine.sink.records().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  auto records = engine.sink.records();
  REQUIRE(records.size() == 1);
  const protocol::TapRecord& online = records.front();
  CHECK_FALSE(online.tap.offline);
  auto p1 = card::decode_proof(card::ByteView(online.cryptogram.bytes.data(), online.cryptogram.size));
  REQUIRE(p1.has_value());
  CHECK(p1->atc == 42);
  CHECK(card::verify_tap_proof(master_keys(), online.tap, *p1).is_ok());

  // The journal: the same tap id, offline flag 1, the second proof (counter 43).
  auto journal = agent::Journal::open(dir.file("state") + "/taps.journal");
  REQUIRE(journal.has_value());
  REQUIRE(journal->pending().size() == 1);
  const agent::QueuedTap& queued = journal->pending().front();
  CHECK(queued.tap.id == online.tap.id);
  CHECK(queued.tap.offline);
  CHECK(queued.proof.atc == 43);
  CHECK(card::verify_tap_proof(master_keys(), queued.tap, queued.proof).is_ok());
  CHECK(card::verify_tap_proof(master_keys(), queued.tap, *p1).code() == StatusCode::refused);
}

TEST_CASE("reader online: the engine answers too late and the card has left: tap again, nothing journaled",
          "[pcsc][agent][online]") {
  pcsc::Context context = establish();
  require_empty_slot(context);
  TestToken token;
  LoopbackEngine engine(0, milliseconds(1500));
  TempDir dir;
  write_reader_config(dir, token, engine.port(), 150);
  ChildProcess reader =
      ChildProcess::start({CITYCARD_READER_PATH, "--config", dir.file("reader.toml"), "--json", "--taps", "1"}, true);
  REQUIRE(reader.started());
  wait_connected(engine);
  // GET UID, SELECT, READ DATA, INTERNAL AUTHENTICATE answered; the card is
  // gone at the 5th APDU, the second INTERNAL AUTHENTICATE.
  ChildProcess card = start_emulator({"--uid", "04A1B2C3D4E5F6", "--behaviour", "pull-after=5", "--exit-after-removal"});
  auto line = reader.read_line(seconds(10));
  REQUIRE(line.has_value());
  INFO("line: " << *line);
  nlohmann::json tap = nlohmann::json::parse(*line, nullptr, false);
  CHECK(tap["result"] == "tap_again");
  REQUIRE(reader.wait_exit(seconds(5)).has_value());
  auto journal = agent::Journal::open(dir.file("state") + "/taps.journal");
  REQUIRE(journal.has_value());
  CHECK(journal->pending().empty());
}
