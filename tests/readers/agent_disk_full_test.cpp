// The agent with its state on a small filesystem of its own (a tmpfs the
// test mounts): filled to the last byte, the reader keeps admitting riders
// offline out of its reserve, every admitted tap journaled; once the reserve
// is used up it refuses to admit (tap again, "reader disk full") rather than
// let a rider through on a tap it cannot record; freed, it admits again and
// puts its reserve back. docs/readers.md, "A full disk".
#include <catch2/catch.hpp>

#include <cstdio>

#include "agent.h"
#include "card_application.h"
#include "small_disk.h"

using namespace citycard;
using namespace citycard::agent;

namespace {

class FieldTransport final : public card::CardTransport {
 public:
  explicit FieldTransport(emulator::CardApplication& card) : card_(card) {}
  Result<card::Bytes> transmit(card::ByteView command) override { return card_.process(command); }

 private:
  emulator::CardApplication& card_;
};

card::MasterKey master() { return card::MasterKey{*card::parse_key_hex("000102030405060708090A0B0C0D0E0F"), 1}; }

emulator::CardProfile profile(int i) {
  char uid[16];
  std::snprintf(uid, sizeof uid, "04A1B2C3%06X", i);
  emulator::CardProfile p;
  p.uid = *card::parse_hex(uid);
  p.record.card_id = *CardId::parse(uid);
  p.key = card::diversify_card_key(master(), p.record.card_id);
  return p;
}

AgentConfig config(const std::filesystem::path& state_dir) {
  AgentConfig c;
  c.reader = ReaderId{17};
  c.operator_id = OperatorId{3};
  c.mode = Mode::bus_board;
  c.state_dir = state_dir.string();
  c.token.pin_env = "UNUSED_IN_PROCESS";
  c.sequence_first = 1;
  // Small enough to be used up by a test: ~50 taps and a few reservations.
  c.disk_reserve_bytes = 16 * 1024;
  c.sequence_block = 10;
  return c;
}

TapOutcome tap(Agent& agent, int card) {
  emulator::CardApplication application(profile(card));
  FieldTransport transport(application);
  return agent.handle_card(transport, EventTime::from_unix_seconds(1'700'000'000));
}

}  // namespace

TEST_CASE("agent on a full disk admits riders out of its reserve, then refuses to admit a tap it cannot record", "[agent]") {
  citycard::testing::SmallDisk disk(1u << 20);
  if (!disk.mounted()) {
    WARN("skipped: " << disk.refusal());
    return;
  }
  card::MasterKeySource keys(master());
  OfflineLink link;
  const std::filesystem::path state = disk.root() / "state";
  std::vector<TapId> admitted;
  {
    auto agent = Agent::open(config(state), keys, link);
    REQUIRE(agent.has_value());
    REQUIRE((*agent)->reserve_held());
    TapOutcome first = tap(**agent, 0);
    REQUIRE(first.result == TapResult::approved);
    CHECK(!first.disk_full);
    admitted.push_back(first.tap);

    disk.fill_leaving(0);
    // The journal's last page takes a few more; then the reserve is given
    // up for a tap, which is admitted, journaled, and says the disk is full;
    // then riders are admitted out of the reserve until it is gone too, and
    // from there on no rider is let through on a tap that is not recorded.
    TapOutcome outcome;
    std::size_t on_reserve = 0;
    bool reserve_used = false;
    for (int i = 1; i < 10'000; ++i) {
      outcome = tap(**agent, i);
      if (outcome.result != TapResult::approved) break;
      CHECK(outcome.offline);
      admitted.push_back(outcome.tap);
      if (outcome.disk_full) {
        CHECK(!reserve_used);  // said by the tap that took it
        CHECK(format_json(outcome).find(R"("disk_full":true)") != std::string::npos);
        reserve_used = true;
      }
      if (reserve_used) ++on_reserve;
    }
    INFO(outcome.detail);
    CHECK(reserve_used);
    CHECK(!(*agent)->reserve_held());
    CHECK(on_reserve > 10);
    REQUIRE(outcome.result == TapResult::tap_again);
    CHECK(outcome.disk_full);
    CHECK(!outcome.offline);
    CHECK(outcome.detail.find("reader disk full") != std::string::npos);
    CHECK((*agent)->queue().pending().size() == admitted.size());
    CHECK(!(*agent)->restore_reserve());  // no room for it yet

    // Freed: admitted again, and the reserve is back.
    disk.free_filler();
    REQUIRE((*agent)->restore_reserve());
    CHECK((*agent)->reserve_held());
    TapOutcome after = tap(**agent, 1);
    CHECK(after.result == TapResult::approved);
    CHECK(!after.disk_full);
    admitted.push_back(after.tap);
  }
  // Every admitted tap is in the journal, after a restart too, and no other.
  OfflineLink again;
  auto reopened = Agent::open(config(state), keys, again);
  REQUIRE(reopened.has_value());
  const auto& pending = (*reopened)->queue().pending();
  REQUIRE(pending.size() == admitted.size());
  for (std::size_t i = 0; i < admitted.size(); ++i) CHECK(pending[i].tap.id == admitted[i]);
}
