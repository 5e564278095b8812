// The business-day close and an acceptance while the engine keeps deciding
// taps: the admin ops settle_close / settle_ack / settle_job
// (engine/core/settlement_desk.h) on the real pipeline and ledger, with a
// load thread tapping throughout.
#include <atomic>
#include <fstream>
#include <thread>

#include "engine/core/admin_api.h"
#include "engine/core/settlement_desk.h"
#include "engine/groups/audit_entry.h"
#include "engine_fixture.h"
#include "settlement/ack.h"
#include "settlement/keys.h"
#include "settlement/settlement.h"

namespace citycard::engine::testing {
namespace {

namespace st = citycard::settlement;
using nlohmann::json;

constexpr std::int64_t hour_us = 3'600'000'000LL;
const st::DayConfig taipei{480, 180};  // rules/city.toml: +08:00, business day from 03:00

json ask(SettlementDesk& desk, const std::string& op, json request) {
  json answer;
  bool answered = false;
  request["op"] = op;
  desk.handle(op, request, [&](json reply) {
    answer = std::move(reply);
    answered = true;
  });
  REQUIRE(answered);  // the desk answers on the calling thread
  return answer;
}

// Polls settle_job until the job is no longer running (bounded).
json finished(SettlementDesk& desk, std::uint64_t job) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (;;) {
    json state = ask(desk, "settle_job", json{{"job", job}});
    if (state.value("state", std::string()) != "running") return state;
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string card_hex(int i) {
  char text[16];
  std::snprintf(text, sizeof text, "0CD0%04X", i);
  return text;
}

}  // namespace

TEST_CASE("a business day closes and is accepted while the engine decides taps, its late taps go to the next close, both reconcile") {
  TempDir dir("settle-desk");
  auto ledger = make_ledger(dir.path / "ledger");
  constexpr int cards = 40;
  for (int i = 0; i < cards; ++i) issue_card(*ledger, card_hex(i), 9'000);
  issue_card(*ledger, "0CD1FFFF01", 500);  // for two late taps after the close
  issue_card(*ledger, "0CD1FFFF02", 500);
  const std::string keys = (dir.path / "keys").string();
  const std::string out = (dir.path / "out").string();
  REQUIRE(st::generate_keys(keys));

  Pipeline pipeline(*ledger);
  const std::int64_t day_us = monday_8am_us;               // business day 2026-03-02
  const std::int64_t next_day_us = monday_8am_us + 24 * hour_us;
  const st::BusinessDay day = st::business_day_of(EventTime{day_us}, taipei);
  std::uint64_t sequence = 0;
  // The day's ordinary taps, before the close.
  for (int round = 0; round < 5; ++round) {
    std::vector<protocol::TapRecord> taps;
    for (int i = 0; i < cards; ++i)
      taps.push_back(make_tap(bus_reader, ++sequence, card_hex(i), Mode::bus_board, 101, day_us + round * 2 * hour_us + i));
    for (const auto& decision : pipeline.submit(taps)) REQUIRE(decision.outcome == protocol::Outcome::approved);
  }

  // The load: the closed day's taps (arriving late) and the next day's,
  // decided one batch after another throughout the close.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> decided{0};
  std::atomic<bool> load_failed{false};
  std::thread load([&] {
    std::uint64_t load_sequence = 0;
    std::uint64_t k = 0;
    while (!stop) {
      std::vector<protocol::TapRecord> taps;
      for (int i = 0; i < 8; ++i, ++k) {
        const std::int64_t when = (k % 2 == 0 ? day_us + 14 * hour_us : next_day_us) + static_cast<std::int64_t>(k);
        taps.push_back(make_tap(bus_reader_2, ++load_sequence, card_hex(static_cast<int>(k % cards)), Mode::bus_board, 101, when));
      }
      auto promise = std::make_shared<std::promise<net::SubmitResult>>();
      auto future = promise->get_future();
      pipeline.engine->submit(ReaderId{bus_reader_2}, std::move(taps), [promise](net::SubmitResult r) { promise->set_value(std::move(r)); });
      if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready ||
          future.get().kind != net::SubmitResult::Kind::decided) {
        load_failed = true;
        return;
      }
      decided += 8;
    }
  });

  Log desk_log(std::tmpfile());
  SettlementDesk desk(*ledger, taipei, SettlementPlaces{out, keys}, desk_log, [] { return EventTime{Pipeline::engine_now_us}; });
  // Wait until the load is deciding before the close starts.
  const auto load_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (decided < 64 && !load_failed) {
    REQUIRE(std::chrono::steady_clock::now() < load_deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // As the admin API passes it: who asks, and the reference of the entry.
  const json sam = {{"clerk", "sam"}, {"role", "settlement"}, {"ref", "op:9:1"}};
  json started = ask(desk, "settle_close", json{{"day", day.to_string()}, {"out_dir", out}, {"key_dir", keys}, {"audit", sam}});
  INFO(started.dump());
  REQUIRE(started.value("ok", false));
  json result = finished(desk, started.at("job").get<std::uint64_t>());
  INFO(result.dump());
  REQUIRE(result.value("state", std::string()) == "done");
  CHECK_FALSE(result.at("already_closed").get<bool>());
  // The clearing house accepts the bus operator's batch while taps still
  // flow: the acceptance's transfers are posted beside the committer.
  const json* bus_batch = nullptr;
  for (const auto& batch : result.at("batches"))
    if (batch.at("operator").get<std::uint32_t>() == 101) bus_batch = &batch;
  REQUIRE(bus_batch != nullptr);
  const std::int64_t accepted_total = bus_batch->at("totals").at("total").get<std::int64_t>();
  CHECK(accepted_total > 0);
  st::Ack acceptance;
  acceptance.operator_id = 101;
  acceptance.day = day;
  acceptance.sequence = bus_batch->at("sequence").get<std::uint32_t>();
  acceptance.file_sha256 = bus_batch->at("sha256").get<std::string>();
  acceptance.accepted = true;
  acceptance.acknowledged_at = EventTime{Pipeline::engine_now_us};
  const std::string ack_path = (dir.path / "bus.ack").string();
  {
    std::ofstream ack_file(ack_path, std::ios::binary);
    ack_file << st::format_ack(acceptance, taipei);
  }
  json sam_acks = sam;
  sam_acks["ref"] = "op:9:2";
  json ack_started = ask(desk, "settle_ack", json{{"file", ack_path}, {"out_dir", out}, {"key_dir", keys}, {"audit", sam_acks}});
  REQUIRE(ack_started.value("ok", false));
  json ack_result = finished(desk, ack_started.at("job").get<std::uint64_t>());
  INFO(ack_result.dump());
  REQUIRE(ack_result.value("state", std::string()) == "done");
  CHECK(ack_result.at("settlement_sequence").get<std::uint64_t>() > 0);
  CHECK_FALSE(ack_result.contains("audit_error"));

  // Each is in the audit trail, in the write that did it: who closed which
  // day, how many files; who ingested which acknowledgement.
  auto entry_of = [&](const std::string& ref) {
    auto body = ledger->record(ledger::RecordSpace::audit, ref);
    INFO(ref);
    REQUIRE(body);
    return audit_entry_from_body(ref, *body);
  };
  const AuditEntry closed = entry_of("op:9:1");
  CHECK(closed.clerk == "sam");
  CHECK(closed.role == "settlement");
  CHECK(closed.action == "settle close");
  CHECK(closed.outcome == "done");
  CHECK(closed.detail.find("closed " + day.to_string() + ": " + std::to_string(result.at("batches").size()) + " files") !=
        std::string::npos);
  const AuditEntry accepted = entry_of("op:9:2");
  CHECK(accepted.action == "settle ack");
  CHECK(accepted.outcome == "done");
  CHECK(accepted.detail.find("accepted, " + std::to_string(accepted_total) + " TWD from payable to settled") != std::string::npos);
  // The same acknowledgement again, and the day closed again: refused, and
  // done with nothing changed -- each still its own entry.
  sam_acks["ref"] = "op:9:3";
  json again = finished(desk, ask(desk, "settle_ack", json{{"file", ack_path}, {"audit", sam_acks}}).at("job").get<std::uint64_t>());
  CHECK(again.value("state", std::string()) == "failed");
  CHECK(entry_of("op:9:3").outcome == "refused");
  CHECK(entry_of("op:9:3").detail.find("duplicate acknowledgement") != std::string::npos);
  json sam_closes = sam;
  sam_closes["ref"] = "op:9:4";
  json reclosed = finished(desk, ask(desk, "settle_close", json{{"day", day.to_string()}, {"audit", sam_closes}}).at("job").get<std::uint64_t>());
  CHECK(reclosed.at("already_closed").get<bool>());
  CHECK(entry_of("op:9:4").outcome == "done");
  CHECK(entry_of("op:9:4").detail.find("was closed before; nothing changed") != std::string::npos);

  // The taps kept being decided after the close: wait for more of them.
  const std::uint64_t at_close_end = decided;
  while (decided < at_close_end + 64 && !load_failed) {
    REQUIRE(std::chrono::steady_clock::now() < load_deadline + std::chrono::seconds(60));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  load.join();
  REQUIRE_FALSE(load_failed);

  // Two late taps of the closed day from cards not tapped before, after the close.
  for (auto decision : pipeline.submit({make_tap(bus_reader, ++sequence, "0CD1FFFF01", Mode::bus_board, 101, day_us + 20 * hour_us),
                                        make_tap(bus_reader, ++sequence, "0CD1FFFF02", Mode::bus_board, 101, day_us + 20 * hour_us)}))
    CHECK(decision.outcome == protocol::Outcome::approved);

  st::Options options;
  options.day = taipei;
  options.out_dir = out;
  options.key_dir = keys;
  st::Settlement settlement(*ledger, options);
  auto verified = settlement.verify(day);
  REQUIRE(verified);
  for (const auto& problem : verified->problems) INFO(problem);
  CHECK(verified->ok());
  CHECK(verified->file_total.lines == result.at("total").at("lines").get<std::uint64_t>());

  // The next day's close takes the late taps, flagged late; both days
  // together hold every movement of the operator's payable exactly once.
  auto next = settlement.close(day.next(), EventTime{Pipeline::engine_now_us});
  REQUIRE(next);
  CHECK(next->total.late_lines >= 2);
  auto next_verified = settlement.verify(day.next());
  REQUIRE(next_verified);
  CHECK(next_verified->ok());
  auto bus = ledger->operator_record(OperatorId{101});
  REQUIRE(bus);
  std::int64_t in_open_batches = 0;
  auto all_batches = settlement.batches(std::nullopt);
  REQUIRE(all_batches);
  for (const auto& batch : *all_batches)
    if (batch.operator_id == OperatorId{101} && batch.state != st::BatchState::accepted) in_open_batches += batch.totals.total_minor;
  CHECK(in_open_batches == ledger->account(bus->payable_account)->balance_minor);
  CHECK(accepted_total == ledger->account(bus->settled_account)->balance_minor);
  CHECK(ledger->verify().ok());
}

TEST_CASE("settle ops refuse bad requests and change nothing") {
  TempDir dir("settle-desk-bad");
  auto ledger = make_ledger(dir.path / "ledger");
  Log log(std::tmpfile());
  const std::string keys = (dir.path / "keys").string();
  SettlementDesk desk(*ledger, taipei, SettlementPlaces{keys, keys}, log, [] { return EventTime{Pipeline::engine_now_us}; });
  auto refused = [&](const std::string& op, json request, const std::string& says) {
    json reply = ask(desk, op, std::move(request));
    INFO(reply.dump());
    CHECK_FALSE(reply.value("ok", true));
    CHECK(reply.value("error", std::string()).find(says) != std::string::npos);
  };
  refused("settle_close", json{{"day", "2026-03-02"}, {"out_dir", "var/out"}, {"key_dir", keys}}, "absolute path");
  refused("settle_close", json{{"day", "2026-02-30"}, {"out_dir", keys}, {"key_dir", keys}}, "bad business day");
  // Only the engine's own directories: a request cannot point it elsewhere.
  refused("settle_close", json{{"day", "2026-03-02"}, {"out_dir", (dir.path / "elsewhere").string()}, {"key_dir", keys},
                                {"audit", {{"clerk", "sam"}, {"role", "settlement"}, {"ref", "op:8:1"}}}},
          "the engine's settlement directory is " + keys);
  // Refused before any job: still in the trail, with who asked and why.
  auto body = ledger->record(ledger::RecordSpace::audit, "op:8:1");
  REQUIRE(body);
  AuditEntry refusal = audit_entry_from_body("op:8:1", *body);
  CHECK(refusal.clerk == "sam");
  CHECK(refusal.action == "settle close");
  CHECK(refusal.outcome == "refused");
  CHECK(refusal.detail.find("close of 2026-03-02: the engine's settlement directory is") != std::string::npos);
  refused("settle_close", json{{"day", "2026-03-02"}, {"out_dir", keys}, {"key_dir", "/tmp"}}, "([settlement] key_dir), not /tmp");
  refused("settle_job", json{{"job", 7}}, "no settlement job 7");
  refused("settle_nonsense", json{{"out_dir", keys}, {"key_dir", keys}}, "unknown op");
  // A close that fails in its job (no keys yet) reports the failure and writes no close.
  json started = ask(desk, "settle_close", json{{"day", "2026-03-02"}, {"out_dir", keys}, {"key_dir", keys}});
  REQUIRE(started.value("ok", false));
  json result = finished(desk, started.at("job").get<std::uint64_t>());
  CHECK(result.value("state", std::string()) == "failed");
  CHECK(result.value("error", std::string()).find("key") != std::string::npos);
  CHECK_FALSE(ledger->record(ledger::RecordSpace::settlement, "last").has_value());
  // Every close asked for above wrote one entry (four refused, one failed);
  // the job query and the unknown op none.
  CHECK(ledger->verify().audit_entries == 5);
}

}  // namespace citycard::engine::testing
