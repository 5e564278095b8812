// Acknowledgements: accepted moves money, rejected holds lines and resends,
// and unknown, tampered or duplicate acks change nothing.
#include <catch2/catch.hpp>

#include "fixture.h"
#include "settlement/ack.h"

using namespace citycard;
using namespace citycard::settlement;
using namespace citycard::settlement::testing;

namespace {

struct ClosedCity {
  City city;
  Settlement settlement = city.settlement();
  CloseSummary summary;

  ClosedCity() {
    city.tap({1, 0, bus, "2024-03-05T08:00:00+08:00", 15});
    city.tap({2, 1, bus, "2024-03-05T09:00:00+08:00", 15, 15});
    city.tap({3, 2, bus, "2024-03-05T10:00:00+08:00", 15});
    auto closed = settlement.close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
    REQUIRE(closed.has_value());
    summary = closed.value();
  }

  const BatchRecord& bus_batch() const { return summary.batches.front().batch; }

  std::string write_ack(const std::string& name, Ack ack) {
    const std::string path = (city.root / name).string();
    write_bytes(path, format_ack(ack, DayConfig{}));
    return path;
  }

  Ack ack_for(const BatchRecord& batch, bool accepted) const {
    Ack ack;
    ack.operator_id = batch.operator_id.value;
    ack.day = batch.day;
    ack.sequence = batch.sequence;
    ack.file_sha256 = batch.file_sha256;
    ack.accepted = accepted;
    ack.acknowledged_at = at("2024-03-06T10:00:00+08:00");
    return ack;
  }

  // The ledger and the settlement records, to prove a refused ack changed nothing.
  std::string state() {
    std::string text = std::to_string(city.ledger().last_sequence()) + "|" +
                       std::to_string(city.balance(city.bus_record.payable_account)) + "|";
    auto batches = settlement.batches(std::nullopt);
    REQUIRE(batches.has_value());
    for (const auto& b : batches.value()) text += encode(b);
    return text;
  }
};

}  // namespace

TEST_CASE("an accepted batch moves the operator's payable to settled, once") {
  ClosedCity c;
  REQUIRE(c.bus_batch().totals.total_minor == 60);
  const std::int64_t payable_before = c.city.balance(c.city.bus_record.payable_account);
  const std::string path = c.write_ack("ack-accepted.csv", c.ack_for(c.bus_batch(), true));
  auto outcome = c.settlement.ingest_ack(path);
  REQUIRE(outcome.has_value());
  CHECK(outcome->batch.state == BatchState::accepted);
  CHECK(outcome->settlement_sequence > 0);
  CHECK(c.city.balance(c.city.bus_record.payable_account) == payable_before - 60);
  CHECK(c.city.balance(c.city.bus_record.settled_account) == 60);
  auto transfer = c.city.ledger().transfer_at(outcome->settlement_sequence);
  REQUIRE(transfer.has_value());
  CHECK(transfer->transfer.code == TransferCode::settlement);
  CHECK(transfer->key.origin == Origin::system);

  const std::string before = c.state();
  SECTION("the same ack again") {
    auto again = c.settlement.ingest_ack(path);
    REQUIRE_FALSE(again.has_value());
    CHECK(again.status().code() == StatusCode::already_exists);
    CHECK(again.status().message().find("duplicate") != std::string::npos);
  }
  SECTION("another ack for the same, accepted batch") {
    Ack different = c.ack_for(c.bus_batch(), true);
    different.acknowledged_at = at("2024-03-06T11:00:00+08:00");
    auto again = c.settlement.ingest_ack(c.write_ack("ack-again.csv", different));
    REQUIRE_FALSE(again.has_value());
    CHECK(again.status().code() == StatusCode::already_exists);
  }
  CHECK(c.state() == before);
  CHECK(c.city.ledger().verify().ok());
  // Settlement's own transfers are not taps: the day still reconciles.
  auto report = c.settlement.verify(day("2024-03-05"));
  REQUIRE(report.has_value());
  CHECK(report->ok());
}

TEST_CASE("a rejected line is held back and the batch is resent under the next sequence") {
  ClosedCity c;
  const BatchRecord first = c.bus_batch();
  Ack rejection = c.ack_for(first, false);
  rejection.items.push_back({false, 2, "tap:17:2", "E17", "subsidy not allowed on route 307"});
  auto rejected = c.settlement.ingest_ack(c.write_ack("ack-rejected.csv", rejection));
  REQUIRE(rejected.has_value());
  CHECK(rejected->batch.state == BatchState::rejected);
  CHECK(rejected->lines_held == 1);
  CHECK(c.city.balance(c.city.bus_record.settled_account) == 0);

  auto resent = c.settlement.resend(day("2024-03-05"), bus);
  REQUIRE(resent.has_value());
  CHECK(resent->batch.sequence == 2);
  CHECK(resent->batch.file_name == "CCSET_20240305_000001_02.csv");
  CHECK(resent->batch.totals.lines == 2);
  CHECK(resent->batch.totals.total_minor == 30);
  CHECK(read_bytes(resent->path).find("tap:17:2,") == std::string::npos);
  CHECK(read_bytes(resent->path).find(",2024-03-05,2,") != std::string::npos);

  // An ack of the superseded sequence is refused; the new one settles what was sent.
  const std::string before = c.state();
  auto stale = c.settlement.ingest_ack(c.write_ack("ack-stale.csv", c.ack_for(first, true)));
  REQUIRE_FALSE(stale.has_value());
  CHECK(stale.status().code() == StatusCode::refused);
  CHECK(c.state() == before);
  auto accepted = c.settlement.ingest_ack(c.write_ack("ack-2.csv", c.ack_for(resent->batch, true)));
  REQUIRE(accepted.has_value());
  CHECK(c.city.balance(c.city.bus_record.settled_account) == 30);
  // Regenerating after the resend rewrites sequence 2, byte for byte.
  const std::string bytes = read_bytes(resent->path);
  REQUIRE(c.settlement.regenerate(day("2024-03-05")).has_value());
  CHECK(read_bytes(resent->path) == bytes);
  auto report = c.settlement.verify(day("2024-03-05"));
  REQUIRE(report.has_value());
  CHECK(report->ok());
}

TEST_CASE("a whole-batch rejection resends every line under the next sequence") {
  ClosedCity c;
  Ack rejection = c.ack_for(c.bus_batch(), false);
  rejection.items.push_back({true, 0, "", "E01", "signature key unknown"});
  REQUIRE(c.settlement.ingest_ack(c.write_ack("ack-batch.csv", rejection)).has_value());
  auto resent = c.settlement.resend(day("2024-03-05"), bus);
  REQUIRE(resent.has_value());
  CHECK(resent->batch.totals == c.bus_batch().totals);
  CHECK(resent->batch.sequence == 2);
  auto again = c.settlement.resend(day("2024-03-05"), bus);  // only a rejected batch is resent
  REQUIRE_FALSE(again.has_value());
  CHECK(again.status().code() == StatusCode::refused);
}

TEST_CASE("unknown batches, tampered digests and mismatched lines are refused and change nothing") {
  ClosedCity c;
  const std::string before = c.state();

  Ack tampered = c.ack_for(c.bus_batch(), true);
  tampered.file_sha256[0] = tampered.file_sha256[0] == '0' ? '1' : '0';
  auto digest = c.settlement.ingest_ack(c.write_ack("ack-tampered.csv", tampered));
  REQUIRE_FALSE(digest.has_value());
  CHECK(digest.status().code() == StatusCode::corruption);
  CHECK(digest.status().message().find("digest mismatch") != std::string::npos);

  Ack unknown = c.ack_for(c.bus_batch(), true);
  unknown.operator_id = 99;
  auto no_batch = c.settlement.ingest_ack(c.write_ack("ack-unknown.csv", unknown));
  REQUIRE_FALSE(no_batch.has_value());
  CHECK(no_batch.status().code() == StatusCode::not_found);
  unknown = c.ack_for(c.bus_batch(), true);
  unknown.day = day("2024-04-01");
  CHECK(c.settlement.ingest_ack(c.write_ack("ack-unknown-day.csv", unknown)).status().code() == StatusCode::not_found);
  unknown = c.ack_for(c.bus_batch(), true);
  unknown.sequence = 5;
  CHECK(c.settlement.ingest_ack(c.write_ack("ack-unknown-seq.csv", unknown)).status().code() == StatusCode::not_found);

  Ack wrong_line = c.ack_for(c.bus_batch(), false);
  wrong_line.items.push_back({false, 1, "tap:17:3", "E17", "bad stop"});  // line 1 is tap:17:1
  CHECK(c.settlement.ingest_ack(c.write_ack("ack-wrong-line.csv", wrong_line)).status().code() == StatusCode::invalid_argument);

  const std::string garbage = (c.city.root / "ack-garbage.csv").string();
  write_bytes(garbage, "not an acknowledgement\n");
  CHECK(c.settlement.ingest_ack(garbage).status().code() == StatusCode::invalid_argument);
  CHECK(c.state() == before);
}
