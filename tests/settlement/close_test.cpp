// The close: assignment to days, late taps, files, determinism, signatures.
#include <catch2/catch.hpp>

#include "fixture.h"
#include "settlement/batch_file.h"

using namespace citycard;
using namespace citycard::settlement;
using namespace citycard::settlement::testing;
namespace fs = std::filesystem;

namespace {

// Day 2024-03-05 with an after-midnight ride and a tap of the next day posted early.
void populate(City& city) {
  city.tap({1, 0, bus, "2024-03-05T08:00:00+08:00", 15});
  city.tap({2, 1, bus, "2024-03-06T01:30:00+08:00", 15, 15});     // after midnight: still the 5th
  city.tap({3, 2, metro, "2024-03-05T12:00:00+08:00", 20, 5});
  city.tap({4, 0, metro, "2024-03-05T18:00:00+08:00", 0, 0, 30});  // paid with points
  city.tap({5, 1, bus, "2024-03-06T03:10:00+08:00", 15});          // the 6th, posted before the 5th closes
}

}  // namespace

TEST_CASE("close assigns each operator's payable movements of the day to its batch") {
  City city;
  populate(city);
  auto closed = city.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  REQUIRE(closed.has_value());
  CHECK_FALSE(closed->already_closed);
  REQUIRE(closed->batches.size() == 2);

  const BatchTotals& bus_totals = batch_of(*closed, bus).batch.totals;
  CHECK(bus_totals.lines == 2);
  CHECK(bus_totals.rider_fare_minor == 30);
  CHECK(bus_totals.city_subsidy_minor == 15);
  CHECK(bus_totals.total_minor == 45);
  const BatchTotals& metro_totals = batch_of(*closed, metro).batch.totals;
  CHECK(metro_totals.lines == 2);
  CHECK(metro_totals.rider_fare_minor == 20);
  CHECK(metro_totals.city_subsidy_minor == 5);
  CHECK(metro_totals.points_subsidy_minor == 30);
  CHECK(metro_totals.points_redeemed == 30);
  CHECK(metro_totals.total_minor == 55);
  CHECK(closed->total.total_minor == 100);

  const std::string text = read_bytes(batch_of(*closed, bus).path);
  CHECK(text.rfind("H,CCSET,2,1,\"Bus, \"\"Red\"\" Line\",2024-03-05,1,2024-03-06T03:30:00.000000+08:00,"
                   "2024-03-05T03:00:00.000000+08:00,2024-03-06T03:00:00.000000+08:00,3,", 0) == 0);
  CHECK(text.find("2024-03-06T01:30:00.000000+08:00") != std::string::npos);
  CHECK(text.find("\nP,unattributed,15\nT,2,") != std::string::npos);  // the legacy subsidy code, then the trailer
  CHECK(text.find("2024-03-06T03:10:00.000000+08:00") == std::string::npos);  // tomorrow's tap waits
  CHECK(text.find("04A1B2C3D4E5F6") == std::string::npos);  // no raw card UIDs leave the city
  CHECK(text.find("04a1b2c3d4e5f6") == std::string::npos);
  auto read_back = read_batch_file(batch_of(*closed, bus).path);
  REQUIRE(read_back.has_value());
  CHECK(read_back->totals == bus_totals);
  for (const auto& batch : closed->batches) {
    CHECK(fs::exists(batch.path + ".sha256"));
    CHECK(fs::file_size(batch.path + ".sig") == 64);
  }
}

TEST_CASE("closing a day twice changes nothing") {
  City city;
  populate(city);
  auto first = city.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  REQUIRE(first.has_value());
  const std::string bytes = read_bytes(batch_of(*first, bus).path);
  const auto last_sequence = city.ledger().last_sequence();
  city.tap({6, 2, bus, "2024-03-05T21:00:00+08:00", 15});  // late now: must not sneak into the closed day

  auto second = city.settlement().close(day("2024-03-05"), at("2024-03-07T09:00:00+08:00"));
  REQUIRE(second.has_value());
  CHECK(second->already_closed);
  CHECK(second->close.to_sequence == first->close.to_sequence);
  CHECK(second->close.created_at == first->close.created_at);
  CHECK(batch_of(*second, bus).batch.totals == batch_of(*first, bus).batch.totals);
  CHECK(read_bytes(batch_of(*first, bus).path) == bytes);
  CHECK(city.ledger().last_sequence() == last_sequence + 1);  // only the tap posted
}

TEST_CASE("a tap of a closed day goes into the next open day, flagged late, with its own event time") {
  City city;
  populate(city);
  auto settlement = city.settlement();
  REQUIRE(settlement.close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00")).has_value());
  city.tap({6, 2, bus, "2024-03-05T21:00:00+08:00", 15});  // an offline bus uploads yesterday's ride
  city.tap({7, 2, bus, "2024-03-06T09:00:00+08:00", 15});

  SECTION("days close in order") {
    auto skipped = settlement.close(day("2024-03-07"), at("2024-03-08T03:30:00+08:00"));
    REQUIRE_FALSE(skipped.has_value());
    CHECK(skipped.status().code() == StatusCode::refused);
  }

  auto next = settlement.close(day("2024-03-06"), at("2024-03-07T03:30:00+08:00"));
  REQUIRE(next.has_value());
  const BatchTotals& totals = batch_of(*next, bus).batch.totals;
  CHECK(totals.lines == 3);  // reader 17 seq 5 (posted early), 6 (late), 7
  CHECK(totals.late_lines == 1);
  CHECK(totals.rider_fare_minor == 45);
  const std::string text = read_bytes(batch_of(*next, bus).path);
  CHECK(text.find("tap:17:5,") != std::string::npos);
  auto late_at = text.find("tap:17:6,");
  REQUIRE(late_at != std::string::npos);
  const std::string late_line = text.substr(late_at, text.find('\n', late_at) - late_at);
  CHECK(late_line.find("2024-03-05T21:00:00.000000+08:00") != std::string::npos);
  CHECK(late_line.substr(late_line.size() - 4) == "late");
  // The early-posted tap of the 6th is not late.
  const auto early_at = text.find("tap:17:5,");
  CHECK(text.substr(early_at, text.find('\n', early_at) - early_at).find("late") == std::string::npos);
}

TEST_CASE("regenerating a closed day gives byte-identical files and signatures") {
  City city;
  populate(city);
  auto settlement = city.settlement();
  auto closed = settlement.close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  REQUIRE(closed.has_value());
  std::vector<std::pair<std::string, std::string>> before;
  for (const auto& batch : closed->batches)
    for (const char* suffix : {"", ".sha256", ".sig"}) {
      before.emplace_back(batch.path + suffix, read_bytes(batch.path + suffix));
      fs::remove(batch.path + suffix);
    }
  city.tap({6, 2, bus, "2024-03-05T21:00:00+08:00", 15});  // later postings do not change a closed day

  auto again = settlement.regenerate(day("2024-03-05"));
  REQUIRE(again.has_value());
  for (const auto& [path, bytes] : before) CHECK(read_bytes(path) == bytes);
  CHECK(fs::directory_iterator(city.options.out_dir) != fs::directory_iterator());
  for (const auto& entry : fs::directory_iterator(city.options.out_dir))
    CHECK(entry.path().filename().string()[0] != '.');  // no body files left behind
}

// Readers race each other, so the ledger holds a day's taps in a different
// order on every run: the files must not show it.
TEST_CASE("a day's files are the same bytes whatever order its taps were posted in") {
  const std::vector<TapSpec> taps = {
      {1, 0, bus, "2024-03-05T08:00:00+08:00", 15},
      {2, 1, bus, "2024-03-05T08:00:00+08:00", 15, 15, 0, 18},  // the same instant at another reader
      {3, 2, metro, "2024-03-05T12:00:00+08:00", 20, 5},
      {4, 0, metro, "2024-03-05T18:00:00+08:00", 0, 0, 30},
      {5, 1, bus, "2024-03-06T01:30:00+08:00", 15, 15},
      {6, 2, bus, "2024-03-05T07:59:59+08:00", 12},
      {7, 0, bus, "2024-03-05T08:00:00+08:00", 16, 0, 0, 19},
  };
  City first;
  City second(first.options.key_dir);
  for (const TapSpec& tap : taps) first.tap(tap);
  for (std::size_t i = taps.size(); i-- > 0;) second.tap(taps[i]);
  auto first_closed = first.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  auto second_closed = second.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  REQUIRE(first_closed.has_value());
  REQUIRE(second_closed.has_value());
  for (OperatorId op : {bus, metro}) {
    const std::string bytes = read_bytes(batch_of(*first_closed, op).path);
    CHECK(bytes == read_bytes(batch_of(*second_closed, op).path));
    CHECK(read_bytes(batch_of(*first_closed, op).path + ".sha256") ==
          read_bytes(batch_of(*second_closed, op).path + ".sha256"));
    auto file = read_batch_file(batch_of(*first_closed, op).path);
    REQUIRE(file.has_value());
    CHECK(file->totals == batch_of(*first_closed, op).batch.totals);
  }
  // By event time, then tap id: 07:59:59 first, then the three 08:00 taps by their ids.
  const std::string bus_file = read_bytes(batch_of(*first_closed, bus).path);
  const auto position = [&bus_file](const std::string& tap_id) { return bus_file.find("," + tap_id + ","); };
  CHECK(position("tap:17:6") < position("tap:17:1"));
  CHECK(position("tap:17:1") < position("tap:18:2"));
  CHECK(position("tap:18:2") < position("tap:19:7"));
  CHECK(position("tap:19:7") < position("tap:17:5"));
  CHECK(bus_file.find("L,1,tap:17:6,") != std::string::npos);
  CHECK(bus_file.find("L,5,tap:17:5,") != std::string::npos);
}

// A close's ledger write can report a failure and still land (the WAL got
// its bytes before the sync failed): its files must be the ones its record
// names, so they go in place only after the write, and closing the day again
// puts back what is missing, byte for byte, never different files.
TEST_CASE("closing a closed day again puts back its missing files as recorded, and leaves the others") {
  City city;
  populate(city);
  auto settlement = city.settlement();
  auto closed = settlement.close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  REQUIRE(closed.has_value());
  const std::string bus_path = batch_of(*closed, bus).path;
  const std::string metro_path = batch_of(*closed, metro).path;
  std::vector<std::pair<std::string, std::string>> bus_files;
  for (const char* suffix : {"", ".sha256", ".sig"}) {
    bus_files.emplace_back(bus_path + suffix, read_bytes(bus_path + suffix));
    fs::remove(bus_path + suffix);
  }
  const auto metro_written = fs::last_write_time(metro_path);
  city.tap({6, 2, bus, "2024-03-05T21:00:00+08:00", 15});  // posted after the close: not in the day's files

  auto again = settlement.close(day("2024-03-05"), at("2024-03-06T04:00:00+08:00"));
  REQUIRE(again.has_value());
  CHECK(again->already_closed);
  for (const auto& [path, bytes] : bus_files) CHECK(read_bytes(path) == bytes);
  CHECK(fs::last_write_time(metro_path) == metro_written);
  auto report = settlement.verify(day("2024-03-05"));
  REQUIRE(report.has_value());
  CHECK(report->ok());
  for (const auto& entry : fs::directory_iterator(city.options.out_dir))
    CHECK(entry.path().filename().string()[0] != '.');  // no staging or body files left behind
}

TEST_CASE("stock openssl verifies the digest and the signature, and refuses an altered file") {
  City city;
  populate(city);
  auto closed = city.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  REQUIRE(closed.has_value());
  const std::string pub = city.options.key_dir + "/settlement.pub";
  for (const auto& batch : closed->batches) {
    std::string output;
    CHECK(run("openssl pkeyutl -verify -pubin -inkey " + pub + " -rawin -in " + batch.path + " -sigfile " + batch.path + ".sig",
              &output) == 0);
    CHECK(output.find("Signature Verified Successfully") != std::string::npos);
    REQUIRE(run("openssl dgst -sha256 -r " + batch.path, &output) == 0);
    CHECK(output.substr(0, 64) == read_bytes(batch.path + ".sha256").substr(0, 64));
    CHECK(output.substr(0, 64) == batch.batch.file_sha256);
  }
  const std::string path = batch_of(*closed, metro).path;
  std::string bytes = read_bytes(path);
  bytes[bytes.find(",20,5,")+1] = '9';  // the rider fare 20 becomes 90
  const std::string forged = city.root.string() + "/forged.csv";
  write_bytes(forged, bytes);
  CHECK(run("openssl pkeyutl -verify -pubin -inkey " + pub + " -rawin -in " + forged + " -sigfile " + path + ".sig") != 0);
}

TEST_CASE("a day that is not over is not closed, and nothing is written") {
  City city;
  populate(city);
  // The 5th ends at 03:00 on the 6th (the business day's close time).
  auto early = city.settlement().close(day("2024-03-05"), at("2024-03-06T02:59:59+08:00"));
  REQUIRE_FALSE(early.has_value());
  CHECK(early.status().code() == StatusCode::refused);
  CHECK(early.status().message().find("is not over") != std::string::npos);
  CHECK_FALSE(city.ledger().record(ledger::RecordSpace::settlement, record_key::close(day("2024-03-05"))).has_value());
  auto on_time = city.settlement().close(day("2024-03-05"), at("2024-03-06T03:00:00+08:00"));
  REQUIRE(on_time.has_value());
  CHECK_FALSE(on_time->already_closed);
}
