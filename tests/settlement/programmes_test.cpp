// The city's programmes in settlement files: one P record per programme with
// a non-zero amount, in programme order, before the trailer; parse, verify
// and reconcile check them.
#include <sstream>

#include <catch2/catch.hpp>

#include "fixture.h"

using namespace citycard;
using namespace citycard::settlement;
using namespace citycard::settlement::testing;

namespace {

void populate(City& city) {
  // A student's bus ride (category fare 3, buy-one-get-one 12), a metro trip
  // with a transfer (category 7, transfer 6) and a pool paid with points.
  city.tap({1, 0, bus, "2024-03-05T08:00:00+08:00", 12, 3, 0, 17, Programme::category_fare});
  city.tap({2, 0, bus, "2024-03-05T08:40:00+08:00", 0, 12, 0, 17, Programme::buy_one_get_one});
  city.tap({3, 1, metro, "2024-03-05T09:00:00+08:00", 22, 7, 0, 17, Programme::category_fare});
  city.tap({4, 1, metro, "2024-03-05T09:30:00+08:00", 16, 6, 0, 17, Programme::transfer_discount});
  city.tap({5, 2, metro, "2024-03-05T18:00:00+08:00", 0, 0, 30});
}

std::string read_error(const std::string& text) {
  std::istringstream in(text);
  auto read = read_batch_file(in, "file");
  return read ? std::string("(read)") : read.status().message();
}

}  // namespace

TEST_CASE("a batch file shows what each programme paid the operator that day") {
  City city;
  populate(city);
  auto closed = city.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  REQUIRE(closed.has_value());
  const std::string bus_text = read_bytes(batch_of(*closed, bus).path);
  CHECK(bus_text.find("\nP,buy_one_get_one,12\nP,category_fare,3\nT,2,0,12,15,0,0,0,27\n") != std::string::npos);
  const std::string metro_text = read_bytes(batch_of(*closed, metro).path);
  CHECK(metro_text.find("\nP,category_fare,7\nP,transfer_discount,6\nP,welfare_points,30\nT,3,0,38,13,30,30,0,81\n") !=
        std::string::npos);
  const BatchTotals& metro_totals = batch_of(*closed, metro).batch.totals;
  CHECK(metro_totals.programme_minor[programme_index(Programme::category_fare)] == 7);
  CHECK(metro_totals.programme_minor[programme_index(Programme::transfer_discount)] == 6);
  CHECK(metro_totals.programme_minor[programme_index(Programme::welfare_points)] == 30);
  auto read_back = read_batch_file(batch_of(*closed, metro).path);
  REQUIRE(read_back.has_value());
  CHECK(read_back->format_version == 2);
  CHECK(read_back->totals == metro_totals);
  auto report = city.settlement().verify(day("2024-03-05"));
  REQUIRE(report.has_value());
  CHECK(report->ok());
  CHECK(report->ledger_total.programme_minor[programme_index(Programme::category_fare)] == 10);
}

TEST_CASE("programme records that do not add up, are unknown or out of order are refused") {
  City city;
  populate(city);
  auto closed = city.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  REQUIRE(closed.has_value());
  const std::string text = read_bytes(batch_of(*closed, metro).path);
  REQUIRE(read_error(text) == "(read)");
  auto changed = [&](const std::string& from, const std::string& to) {
    std::string copy = text;
    const auto at_record = copy.find(from);
    REQUIRE(at_record != std::string::npos);
    return copy.replace(at_record, from.size(), to);
  };
  CHECK(read_error(changed("P,category_fare,7", "P,category_fare,8")) ==
        "file: programme amounts sum to 44, not the trailer's city_subsidy + points_subsidy 43");
  CHECK(read_error(changed("P,category_fare,7\n", "")) ==
        "file: programme amounts sum to 36, not the trailer's city_subsidy + points_subsidy 43");
  CHECK(read_error(changed("P,category_fare,7", "P,student_fare,7")).ends_with("malformed programme record"));
  CHECK(read_error(changed("P,category_fare,7", "P,category_fare,0")).ends_with("malformed programme record"));
  CHECK(read_error(changed("P,category_fare,7\nP,transfer_discount,6", "P,transfer_discount,6\nP,category_fare,7"))
            .ends_with("programme records out of order or repeated"));
  CHECK(read_error(changed("P,welfare_points,30", "P,category_fare,30")).ends_with("programme records out of order or repeated"));
  CHECK(read_error(changed("P,transfer_discount,6\nP,welfare_points,30", "P,transfer_discount,36"))
            == "file: welfare_points differs from the trailer's points_subsidy");
  // Version 1 files have no programme records.
  CHECK(read_error(changed("H,CCSET,2,", "H,CCSET,1,")).ends_with("unknown record type 'P'"));
}

TEST_CASE("verify: programme amounts moved between programmes are caught against the ledger") {
  City city;
  populate(city);
  auto settlement = city.settlement();
  auto closed = settlement.close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  REQUIRE(closed.has_value());
  const std::string path = batch_of(*closed, metro).path;
  std::string bytes = read_bytes(path);
  // Self-consistent (the sum stays 43): only the ledger can tell.
  const std::string from = "P,category_fare,7\nP,transfer_discount,6\n";
  const auto at_records = bytes.find(from);
  REQUIRE(at_records != std::string::npos);
  bytes.replace(at_records, from.size(), "P,category_fare,3\nP,transfer_discount,10\n");
  write_bytes(path, bytes);
  auto report = settlement.verify(day("2024-03-05"));
  REQUIRE(report.has_value());
  CHECK(mentions(*report, "programme category_fare 3 in the file, 7 in the ledger"));
  CHECK(mentions(*report, "programme transfer_discount 10 in the file, 6 in the ledger"));
  CHECK(mentions(*report, "signature does not verify"));
}
