// citycard-reader on the real path (pcscd + vpcd + emulator), offline:
// the deny list refuses a blocked card, and a reader killed mid-queue loses
// no admitted tap and repeats no sequence number after restart.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "journal.h"
#include "pcsc_fixture.h"
#include "scripted_link.h"
#include "temp_dir.h"
#include "token_fixture.h"
#include "uploader.h"

using namespace citycard;
using namespace citycard::test;
using citycard::test::TestToken;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// A reader's config, its SoftHSM2 token (the test master key imported, as
// the emulator's card key is diversified from it) and state directory.
struct ReaderSetup {
  TempDir dir;
  TestToken token;
  std::string config = dir.file("reader.toml");
  std::string state = dir.file("state");

  ReaderSetup() {
    token::TokenOptions options = token.options();
    std::ofstream(config) << "[reader]\nid = 17\noperator = 3\nmode = \"bus_board\"\nroute = 307\nlocation = 12\n"
                          << "pcsc_reader = \"" << reader_name << "\"\nstate_dir = \"" << state << "\"\n"
                          << "[token]\npin_file = \"" << options.pin_file << "\"\n"
                          << "softhsm2_conf = \"" << options.softhsm2_conf << "\"\n";
  }
  std::vector<std::string> command(std::vector<std::string> extra) const {
    std::vector<std::string> argv = {CITYCARD_READER_PATH, "--config", config};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
};

nlohmann::json next_tap(ChildProcess& reader) {
  auto line = reader.read_line(seconds(8));
  INFO("no tap line from citycard-reader within 8 s");
  REQUIRE(line.has_value());
  INFO("line: " << *line);
  nlohmann::json json = nlohmann::json::parse(*line, nullptr, false);
  REQUIRE(!json.is_discarded());
  return json;
}

}  // namespace

TEST_CASE("reader: blocked card is refused from the deny list while offline, a good card is admitted", "[pcsc][agent]") {
  pcsc::Context context = establish();
  require_empty_slot(context);
  ReaderSetup setup;
  std::ofstream(setup.dir.file("delta.json")) << R"({"from_version":0,"to_version":3,"added":["04DEAD00BEEF01"]})";
  {
    ChildProcess import = ChildProcess::start(setup.command({"--deny-list-import", setup.dir.file("delta.json")}));
    auto status = import.wait_exit(seconds(5));
    REQUIRE(status.has_value());
    REQUIRE(WEXITSTATUS(*status) == 0);
  }
  ChildProcess reader = ChildProcess::start(setup.command({"--offline", "--json", "--taps", "3"}), true);
  {
    ChildProcess card = start_emulator({"--uid", "04DEAD00BEEF01", "--present-ms", "1500", "--exit-after-removal"});
    nlohmann::json tap = next_tap(reader);
    CHECK(tap["result"] == "refused");
    CHECK(tap["reason"] == "card_blocked");
    CHECK(tap["card"] == "04DEAD00BEEF01");
    CHECK(tap["detail"].get<std::string>().find("deny list (version 3)") != std::string::npos);
  }
  require_empty_slot(context);
  {
    ChildProcess card = start_emulator({"--uid", "04000000000B0C", "--status", "blocked", "--present-ms", "1500",
                                        "--exit-after-removal"});
    nlohmann::json tap = next_tap(reader);
    CHECK(tap["result"] == "refused");
    CHECK(tap["reason"] == "card_blocked");
  }
  require_empty_slot(context);
  {
    ChildProcess card = start_emulator({"--uid", "04A1B2C3D4E5F6", "--present-ms", "1500", "--exit-after-removal"});
    nlohmann::json tap = next_tap(reader);
    CHECK(tap["result"] == "approved");
    CHECK(tap["offline"] == true);
    CHECK(tap["queued"] == 1);
  }
  auto exited = reader.wait_exit(seconds(5));
  REQUIRE(exited.has_value());
  CHECK(WEXITSTATUS(*exited) == 0);
  auto journal = agent::Journal::open(setup.state + "/taps.journal");
  REQUIRE(journal.has_value());
  REQUIRE(journal->pending().size() == 1);   // refusals are not queued
  CHECK(journal->pending().front().tap.card.to_string() == "04A1B2C3D4E5F6");
}

TEST_CASE("reader: SIGKILL mid-queue and restart lose no admitted tap, the queue then uploads in order", "[pcsc][agent]") {
  pcsc::Context context = establish();
  require_empty_slot(context);
  ReaderSetup setup;
  // One card presented again and again: in the field 700 ms, away 300 ms.
  ChildProcess card = start_emulator({"--present-ms", "700", "--gap-ms", "300"});
  std::map<std::uint64_t, std::string> admitted;   // sequence -> run that printed it
  for (const char* run : {"first", "second"}) {
    ChildProcess reader = ChildProcess::start(setup.command({"--offline", "--json"}), true);
    for (int approved = 0; approved < 3;) {
      nlohmann::json tap = next_tap(reader);
      INFO(run << " run: " << tap.dump());
      CHECK(tap["reader"] == 17);
      if (tap["result"] == "tap_again") continue;   // presentation cut by the emulator's own timer
      REQUIRE(tap["result"] == "approved");
      CHECK(admitted.emplace(tap["sequence"].get<std::uint64_t>(), run).second);   // never repeated
      ++approved;
    }
    if (std::string(run) == "first") reader.kill_now();   // power cut, possibly mid-tap
    else reader.stop();
  }
  card.stop();

  auto journal = agent::Journal::open(setup.state + "/taps.journal");
  INFO(journal.status().to_string());
  REQUIRE(journal.has_value());
  std::map<std::uint64_t, int> stored;
  for (const auto& queued : journal->pending()) {
    ++stored[queued.tap.id.sequence];
    CHECK(queued.tap.offline);
    CHECK(card::verify_tap_proof(master_keys(), queued.tap, queued.proof).is_ok());
  }
  for (const auto& [sequence, run] : admitted) {
    INFO("tap " << sequence << " admitted in the " << run << " run");
    CHECK(stored[sequence] == 1);
  }
  // At most the tap in flight when the first run was killed is stored unannounced.
  CHECK(stored.size() <= admitted.size() + 1);

  // When the link returns, the queue goes up in admission order and is pruned.
  ScriptedEngineLink link;
  agent::Uploader uploader(*journal, link, agent::UploadOptions{4, seconds(1), milliseconds(100), seconds(1), 17});
  while (!journal->pending().empty()) REQUIRE(uploader.step(agent::Clock::now()).error.is_ok());
  std::vector<std::uint64_t> uploaded;
  for (const auto& batch : link.batches) uploaded.insert(uploaded.end(), batch.begin(), batch.end());
  CHECK(std::is_sorted(uploaded.begin(), uploaded.end()));
  CHECK(uploaded.size() == stored.size());
}
