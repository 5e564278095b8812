// Overnight repricing (engine/groups/repricing.h): the same taps of a day,
// arriving in different orders at the real pipeline, closed with repricing,
// give byte-identical settlement files; without repricing the same orders
// give different files (the scenario depends on arrival order).
#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "engine_fixture.h"
#include "repricing_fixture.h"
#include "ledger/system_accounts.h"
#include "repricer.h"
#include "settlement/keys.h"
#include "settlement/settlement.h"

namespace citycard::engine::testing {
namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The first line that differs between two days' files, for the failure message.
std::string first_difference(const std::map<std::uint32_t, std::string>& a, const std::map<std::uint32_t, std::string>& b) {
  for (const auto& [op, text] : a) {
    auto other = b.find(op);
    if (other == b.end()) return "operator " + std::to_string(op) + " has no file";
    if (text == other->second) continue;
    std::istringstream x(text), y(other->second);
    std::string lx, ly;
    while (std::getline(x, lx)) {
      if (!std::getline(y, ly)) ly = "(none)";
      if (lx != ly) return "operator " + std::to_string(op) + ":\n  " + lx + "\n  " + ly;
    }
    return "operator " + std::to_string(op) + ": the second file is longer";
  }
  return "";
}

struct ClosedDay {
  std::map<std::uint32_t, std::string> files;  // by operator: the batch file's bytes
  std::map<std::string, std::int64_t> wallets;
  std::optional<RepriceOutcome> repriced;
};

// One ledger: the taps decided in `order` by the pipeline, the day closed
// (with or without repricing through the engine's shards).
ClosedDay play(const std::filesystem::path& dir, const std::string& keys, const std::vector<protocol::TapRecord>& order,
               bool reprice) {
  auto ledger = make_ledger(dir / "ledger");
  issue_card(*ledger, commuter, 2000);
  issue_card(*ledger, student, 2000, RiderCategory::student);
  issue_card(*ledger, senior, 2000, RiderCategory::senior);
  Pipeline pipeline(*ledger);
  for (const auto& tap : order) {
    INFO(tap.tap.id.reader.value << ":" << tap.tap.id.sequence << " " << mode_name(tap.tap.mode));
    REQUIRE(pipeline.tap(tap).outcome == protocol::Outcome::approved);
  }
  st::Options options;
  options.day = taipei;
  options.out_dir = (dir / "out").string();
  options.key_dir = keys;
  ClosedDay closed;
  auto system = ledger::find_system_accounts(*ledger);
  REQUIRE(system);
  if (reprice) options.before_close = repricing_before_close(engine_repricer(*pipeline.engine, *ledger, *system), closed.repriced);
  st::Settlement settlement(*ledger, options);
  auto summary = settlement.close(st::business_day_of(EventTime{monday_8am_us}, taipei), EventTime{Pipeline::engine_now_us});
  INFO(summary.status().to_string());
  REQUIRE(summary);
  for (const auto& batch : summary->batches) closed.files[batch.batch.operator_id.value] = file_bytes(batch.path);
  auto verified = settlement.verify(summary->close.day);
  REQUIRE(verified);
  INFO((verified->problems.empty() ? std::string() : verified->problems.front()));
  CHECK(verified->ok());
  for (const auto& card : {commuter, student, senior}) closed.wallets[card] = wallet_of(*ledger, card);
  CHECK(ledger->verify().ok());
  return closed;
}

}  // namespace

TEST_CASE("repriced at the close, a day's settlement files are the same bytes in every arrival order") {
  TempDir dir("repricing");
  const std::string keys = (dir.path / "keys").string();
  REQUIRE(st::generate_keys(keys));
  const auto taps = day_taps();

  const ClosedDay in_event_order = play(dir.path / "event-order", keys, arrival_order(taps, 0), true);
  REQUIRE(in_event_order.repriced);
  CHECK(in_event_order.repriced->plan.taps == taps.size());
  CHECK(in_event_order.repriced->plan.taps_repriced == 0);  // rated in event order already
  CHECK(in_event_order.files.at(101).find(",tap:") != std::string::npos);

  bool some_order_repriced = false;
  for (unsigned seed = 1; seed <= 4; ++seed) {
    INFO("arrival order seed " << seed);
    const ClosedDay shuffled = play(dir.path / ("seed-" + std::to_string(seed)), keys, arrival_order(taps, seed), true);
    REQUIRE(shuffled.repriced);
    some_order_repriced = some_order_repriced || shuffled.repriced->plan.taps_repriced > 0;
    INFO(first_difference(in_event_order.files, shuffled.files));
    CHECK(shuffled.files == in_event_order.files);
    CHECK(shuffled.wallets == in_event_order.wallets);
  }
  CHECK(some_order_repriced);

  // The control: the same arrival order without repricing gives other files.
  const ClosedDay unrepriced = play(dir.path / "unrepriced", keys, arrival_order(taps, 1), false);
  CHECK_FALSE(unrepriced.repriced);
  CHECK(unrepriced.files != in_event_order.files);
}

TEST_CASE("repricing: a day closed again after its corrections posted posts nothing more") {
  // The close fails after repricing (a file cannot be written), and runs again.
  TempDir dir("repricing-again");
  const std::string keys = (dir.path / "keys").string();
  REQUIRE(st::generate_keys(keys));
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, commuter, 2000);
  Pipeline pipeline(*ledger);
  auto taps = day_taps();
  std::erase_if(taps, [](const auto& t) { return t.tap.card != *CardId::parse(commuter); });
  std::reverse(taps.begin(), taps.end());  // the capped rides are the early ones now
  for (const auto& tap : taps) REQUIRE(pipeline.tap(tap).outcome == protocol::Outcome::approved);
  const std::int64_t charged = 2000 - wallet_of(*ledger, commuter);
  CHECK(charged == 150);  // the cap holds in any order; which rides it covered does not

  auto system = ledger::find_system_accounts(*ledger);
  REQUIRE(system);
  const auto day = st::business_day_of(EventTime{monday_8am_us}, taipei);
  std::optional<RepriceOutcome> first;
  st::Options options;
  options.day = taipei;
  options.out_dir = (dir.path / "out").string();
  options.key_dir = (dir.path / "missing-keys").string();  // no keys: the close fails after repricing
  options.before_close = repricing_before_close(engine_repricer(*pipeline.engine, *ledger, *system), first);
  auto failed = st::Settlement(*ledger, options).close(day, EventTime{Pipeline::engine_now_us});
  REQUIRE_FALSE(failed);
  REQUIRE(first);
  CHECK(first->plan.taps_repriced > 0);
  CHECK(wallet_of(*ledger, commuter) == 2000 - 150);  // corrections move fare and subsidy, not the capped total

  std::optional<RepriceOutcome> second;
  options.out_dir = (dir.path / "out").string();
  options.key_dir = keys;
  options.before_close = repricing_before_close(engine_repricer(*pipeline.engine, *ledger, *system), second);
  auto closed = st::Settlement(*ledger, options).close(day, EventTime{Pipeline::engine_now_us});
  INFO(closed.status().to_string());
  REQUIRE(closed);
  REQUIRE(second);
  CHECK(second->plan.taps == taps.size());
  CHECK(second->plan.taps_repriced == 0);
  CHECK(ledger->verify().ok());
}

}  // namespace citycard::engine::testing
