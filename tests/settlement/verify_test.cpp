// Reconciliation: the files' totals against the ledger's movements.
#include <catch2/catch.hpp>

#include "fixture.h"

using namespace citycard;
using namespace citycard::settlement;
using namespace citycard::settlement::testing;
namespace fs = std::filesystem;

namespace {

void populate(City& city, std::int64_t metro_fare) {
  city.tap({1, 0, bus, "2024-03-05T08:00:00+08:00", 15});
  city.tap({2, 1, metro, "2024-03-05T09:00:00+08:00", metro_fare, 5});
  city.tap({3, 2, metro, "2024-03-05T10:00:00+08:00", 20, 0, 10});
}

}  // namespace

TEST_CASE("verify: a closed day reconciles per operator and in total") {
  City city;
  populate(city, 20);
  auto settlement = city.settlement();
  REQUIRE(settlement.close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00")).has_value());
  auto report = settlement.verify(day("2024-03-05"));
  REQUIRE(report.has_value());
  INFO((report->problems.empty() ? std::string() : report->problems.front()));
  CHECK(report->ok());
  REQUIRE(report->rows.size() == 2);
  CHECK(report->rows[0].ledger.total_minor == 15);
  CHECK(report->rows[1].ledger.total_minor == 55);
  CHECK(report->file_total.total_minor == 70);
  CHECK(report->ledger_total == report->file_total);
  CHECK_FALSE(settlement.verify(day("2024-03-06")).has_value());  // not closed
}

TEST_CASE("verify: an altered file is caught by digest, signature and totals") {
  City city;
  populate(city, 20);
  auto settlement = city.settlement();
  auto closed = settlement.close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  REQUIRE(closed.has_value());
  const std::string path = closed->batches[1].path;
  std::string bytes = read_bytes(path);

  SECTION("an amount changed") {
    // Keep the file self-consistent (line total and trailer follow) so only the ledger can tell.
    auto at_fare = bytes.find(",20,5,0,0,0,25,");
    REQUIRE(at_fare != std::string::npos);
    bytes.replace(at_fare, 15, ",90,5,0,0,0,95,");
    auto at_trailer = bytes.find("T,2,0,40,5,10,10,0,55");
    REQUIRE(at_trailer != std::string::npos);
    bytes.replace(at_trailer, 21, "T,2,0,110,5,10,10,0,125");
    write_bytes(path, bytes);
    auto report = settlement.verify(day("2024-03-05"));
    REQUIRE(report.has_value());
    CHECK_FALSE(report->ok());
    CHECK(mentions(*report, "SHA-256 does not match its digest file"));
    CHECK(mentions(*report, "signature does not verify"));
    CHECK(mentions(*report, "rider fares 110 in the file, 40 in the ledger"));
    CHECK(mentions(*report, "day total"));
  }
  SECTION("a line removed") {
    const auto line = bytes.find("\nL,2,");
    bytes.erase(line, bytes.find('\n', line + 1) - line);
    write_bytes(path, bytes);
    auto report = settlement.verify(day("2024-03-05"));
    REQUIRE(report.has_value());
    CHECK(mentions(*report, "trailer totals differ from the sum of the lines"));
  }
  SECTION("a file deleted") {
    fs::remove(path);
    auto report = settlement.verify(day("2024-03-05"));
    REQUIRE(report.has_value());
    CHECK(mentions(*report, "missing or unreadable"));
  }
}

TEST_CASE("verify: files that no longer match the ledger are caught") {
  // Two cities with the same keys and the same history but one fare: the
  // second city's ledger is the first one's, altered. Its verify is handed the
  // first city's genuine, correctly signed files.
  City original;
  populate(original, 20);
  City altered(original.options.key_dir);
  populate(altered, 25);
  auto original_close = original.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  auto altered_settlement = altered.settlement();
  auto altered_close = altered_settlement.close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  REQUIRE(original_close.has_value());
  REQUIRE(altered_close.has_value());
  for (const auto& entry : fs::directory_iterator(original.options.out_dir))
    fs::copy_file(entry.path(), fs::path(altered.options.out_dir) / entry.path().filename(), fs::copy_options::overwrite_existing);

  auto report = altered_settlement.verify(day("2024-03-05"));
  REQUIRE(report.has_value());
  CHECK_FALSE(report->ok());
  CHECK_FALSE(mentions(*report, "signature does not verify"));  // the files themselves are genuine
  CHECK(mentions(*report, "rider fares 40 in the file, 45 in the ledger"));
  CHECK(mentions(*report, "day total"));
  CHECK(report->rows[0].problems.empty());  // the bus batch is the same in both: per operator, only metro differs
  CHECK_FALSE(report->rows[1].problems.empty());
}
