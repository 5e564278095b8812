// citycard-reader online on the real path, end to end: pcscd + vpcd +
// emulator on the card side, mutual TLS to the real net::Server on loopback
// (certificates from engine/pki, the net layer's test TapSink) on the engine
// side. One tap: decided by the engine, shown to the rider, proof received.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "online_fixture.h"
#include "pcsc_fixture.h"

using namespace citycard;
using namespace citycard::test;
using std::chrono::seconds;

TEST_CASE("reader online: a genuine card through pcscd is decided by the engine over TLS", "[pcsc][agent][online]") {
  pcsc::Context context = establish();
  require_empty_slot(context);
  LoopbackEngine engine;
  TempDir dir;
  const auto& pki = net::testing::TestPki::get();
  pki::Paths paths{pki.dir};
  std::ofstream(dir.file("master.key")) << master_key_hex << "\nversion 1\n";
  std::ofstream(dir.file("reader.toml"))
      << "[reader]\nid = 17\noperator = 3\nmode = \"bus_board\"\nroute = 307\nlocation = 12\n"
      << "pcsc_reader = \"" << reader_name << "\"\nstate_dir = \"" << dir.file("state") << "\"\n"
      << "master_key_file = \"" << dir.file("master.key") << "\"\n"
      << "[engine]\naddress = \"127.0.0.1:" << engine.port() << "\"\n"
      << "ca_file = \"" << paths.ca_certificate().string() << "\"\n"
      << "cert_file = \"" << paths.reader_certificate(net::testing::good_reader).string() << "\"\n"
      << "key_file = \"" << paths.reader_key(net::testing::good_reader).string() << "\"\n";

  ChildProcess reader =
      ChildProcess::start({CITYCARD_READER_PATH, "--config", dir.file("reader.toml"), "--json", "--taps", "1"}, true);
  REQUIRE(reader.started());
  // The reader connects at start; wait for it so the tap finds the link up.
  auto deadline = after(seconds(5));
  while (engine.server->stats().connections_open == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(engine.server->stats().connections_open == 1);

  ChildProcess card = start_emulator({"--uid", "04A1B2C3D4E5F6", "--present-ms", "1500", "--exit-after-removal"});
  auto line = reader.read_line(seconds(8));
  REQUIRE(line.has_value());
  INFO("line: " << *line);
  nlohmann::json tap = nlohmann::json::parse(*line, nullptr, false);
  REQUIRE(!tap.is_discarded());
  CHECK(tap["offline"] == false);
  CHECK(tap["card"] == "04A1B2C3D4E5F6");
  protocol::TapRecord sent;
  sent.tap.id = TapId{ReaderId{17}, tap["sequence"].get<std::uint64_t>()};
  protocol::DecisionRecord expected = net::testing::RememberingTapSink::decide(sent);
  if (expected.outcome == protocol::Outcome::approved) {
    CHECK(tap["result"] == "approved");
    CHECK(tap["fare_minor"] == expected.fare_minor);
    CHECK(tap["balance_minor"] == expected.balance_after_minor);
  } else {
    CHECK(tap["result"] == "refused");
  }
  auto exited = reader.wait_exit(seconds(5));
  REQUIRE(exited.has_value());
  CHECK(WEXITSTATUS(*exited) == 0);

  auto records = engine.sink.records();
  REQUIRE(records.size() == 1);
  CHECK(records.front().tap.id == sent.tap.id);
  CHECK(records.front().cryptogram.size == card::proof_bytes);
  auto proof = card::decode_proof(card::ByteView(records.front().cryptogram.bytes.data(), records.front().cryptogram.size));
  REQUIRE(proof.has_value());
  CHECK(card::verify_tap_proof(master_key(), sent.tap.id, *proof).is_ok());
  auto journal = agent::Journal::open(dir.file("state") + "/taps.journal");
  REQUIRE(journal.has_value());
  CHECK(journal->pending().empty());   // decided online: nothing queued
}
