// Pure parts: business days, times, CSV, card tokens, the file and ack grammars.
#include <catch2/catch.hpp>

#include <sstream>

#include "fixture.h"
#include "settlement/ack.h"
#include "settlement/batch_file.h"
#include "settlement/csv.h"
#include "settlement/keys.h"

using namespace citycard;
using namespace citycard::settlement;
using citycard::settlement::testing::at;
using citycard::settlement::testing::day;

TEST_CASE("a business day runs from 03:00 to 03:00 local time, +08:00") {
  DayConfig taipei;
  CHECK(business_day_of(at("2024-03-05T03:00:00+08:00"), taipei) == day("2024-03-05"));
  CHECK(business_day_of(at("2024-03-06T02:59:59.999999+08:00"), taipei) == day("2024-03-05"));
  CHECK(business_day_of(at("2024-03-06T03:00:00+08:00"), taipei) == day("2024-03-06"));
  CHECK(business_day_of(at("2024-03-05T02:59:59+08:00"), taipei) == day("2024-03-04"));
  CHECK(business_day_of(at("2024-03-04T19:00:00Z"), taipei) == day("2024-03-05"));  // 03:00 local
  CHECK(day_start(day("2024-03-05"), taipei) == at("2024-03-05T03:00:00+08:00"));
  DayConfig midnight_utc{0, 0};
  CHECK(business_day_of(at("2024-03-05T00:00:00Z"), midnight_utc) == day("2024-03-05"));
  DayConfig new_york{-300, 180};
  CHECK(business_day_of(at("2024-03-05T02:00:00-05:00"), new_york) == day("2024-03-04"));
  CHECK(DayConfig{900, 180}.validate().code() == StatusCode::invalid_argument);
  CHECK(DayConfig{480, 1440}.validate().code() == StatusCode::invalid_argument);
}

TEST_CASE("business day and time texts round-trip and refuse impossible dates") {
  CHECK(day("2024-02-29").to_string() == "2024-02-29");
  CHECK(day("2024-02-29").compact() == "20240229");
  CHECK_FALSE(BusinessDay::parse("2023-02-29").has_value());
  CHECK_FALSE(BusinessDay::parse("2024-13-01").has_value());
  CHECK_FALSE(BusinessDay::parse("2024-3-01").has_value());
  DayConfig taipei;
  EventTime time = at("2024-03-05T23:59:58.000123+08:00");
  CHECK(format_local_time(time, taipei) == "2024-03-05T23:59:58.000123+08:00");
  CHECK(at(format_local_time(time, taipei)) == time);
  CHECK(at("2024-03-05T15:59:58.000123Z") == time);
  CHECK_FALSE(parse_time("2024-03-05 23:59:58+08:00").has_value());
  CHECK_FALSE(parse_time("2024-03-05T24:00:00+08:00").has_value());
  CHECK_FALSE(parse_time("2024-03-05T23:00:00.1234567Z").has_value());
}

TEST_CASE("CSV fields are quoted only when needed and parse back") {
  std::string line;
  csv::append_field(line, "plain", true);
  csv::append_field(line, "Bus, \"Red\" Line");
  csv::append_field(line, "");
  CHECK(line == "plain,\"Bus, \"\"Red\"\" Line\",");
  auto fields = csv::parse_line(line);
  REQUIRE(fields.has_value());
  CHECK(fields.value() == std::vector<std::string>{"plain", "Bus, \"Red\" Line", ""});
  CHECK_FALSE(csv::parse_line("a,\"open").has_value());
  CHECK_FALSE(csv::parse_line("a,b\"c").has_value());
  CHECK_FALSE(csv::parse_line("\"x\"y,z").has_value());
}

TEST_CASE("card tokens are HMAC-SHA256 of the card id, as openssl computes it, truncated to 16 bytes") {
  std::array<std::uint8_t, 32> key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 7 + 1);
  TokenHasher hasher(key);
  const CardId card = *CardId::parse("04A1B2C3D4E5F6");
  const std::string token = hasher.token(card);
  CHECK(token.size() == 32);
  CHECK(token.find("04A1B2C3D4E5F6") == std::string::npos);
  CHECK(hasher.token(*CardId::parse("04A1B2C3D4E5F7")) != token);
  std::string output;
  const std::string command = "printf '\\004\\241\\262\\303\\324\\345\\366' | openssl dgst -sha256 -mac HMAC -macopt hexkey:" +
                              to_hex_lower(key.data(), key.size());
  REQUIRE(testing::run(command, &output) == 0);
  auto hex = output.substr(output.rfind(' ') + 1, 32);
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(hex == token);
}

TEST_CASE("batch lines carry every column and the line total is the sum of its parts") {
  BatchLine line;
  line.tap_id = "tap:17:5";
  line.card_token = "ABCD";
  line.event_time = at("2024-03-05T08:15:00+08:00");
  line.mode = Mode::metro_out;
  line.route = 2;
  line.location = 31;
  line.rider_fare_minor = 20;
  line.city_subsidy_minor = 5;
  line.points_subsidy_minor = 3;
  line.points_redeemed = 3;
  line.other_minor = -1;
  line.flags = transfer_flag_late | transfer_flag_offline;
  CHECK(format_line(9, line, DayConfig{}) ==
        "L,9,tap:17:5,ABCD,2024-03-05T08:15:00.000000+08:00,metro_out,2,31,20,5,3,3,-1,27,late|offline\n");
  BatchTotals totals;
  totals.add(line);
  totals.add(line);
  CHECK(format_trailer(totals) == "T,2,2,40,10,6,6,-2,54\n");
  CHECK(batch_file_name(day("2024-03-05"), OperatorId{17}, 2) == "CCSET_20240305_000017_02.csv");
}

TEST_CASE("acknowledgements parse, and malformed ones are refused") {
  const std::string digest(64, 'a');
  auto accepted = parse_ack("A,CCACK,1,2,2024-03-05,1," + digest + ",accepted,2024-03-06T10:00:00+08:00\nE,0\n");
  REQUIRE(accepted.has_value());
  CHECK(accepted->accepted);
  CHECK(accepted->operator_id == 2);
  CHECK(accepted->acknowledged_at == at("2024-03-06T02:00:00Z"));

  auto rejected = parse_ack("A,CCACK,1,2,2024-03-05,1," + digest +
                            ",rejected,2024-03-06T10:00:00+08:00\nR,4,tap:17:9,E17,\"unknown stop, 1204\"\nB,E01,totals\nE,2\n");
  REQUIRE(rejected.has_value());
  REQUIRE(rejected->items.size() == 2);
  CHECK(rejected->items[0].reason_text == "unknown stop, 1204");
  CHECK(rejected->items[1].whole_batch);
  Ack round_trip = rejected.value();
  CHECK(parse_ack(format_ack(round_trip, DayConfig{})).has_value());

  const std::string header = "A,CCACK,1,2,2024-03-05,1," + digest;
  CHECK_FALSE(parse_ack(header + ",accepted,2024-03-06T10:00:00+08:00\n").has_value());           // no end record
  CHECK_FALSE(parse_ack(header + ",accepted,2024-03-06T10:00:00+08:00\nE,1\n").has_value());      // count differs
  CHECK_FALSE(parse_ack(header + ",rejected,2024-03-06T10:00:00+08:00\nE,0\n").has_value());      // no reason
  CHECK_FALSE(parse_ack(header + ",accepted,2024-03-06T10:00:00+08:00\nB,E1,x\nE,1\n").has_value());
  CHECK_FALSE(parse_ack("A,CCACK,1,2,2024-03-05,1,XYZ,accepted,2024-03-06T10:00:00+08:00\nE,0\n").has_value());
  CHECK_FALSE(parse_ack(header + ",maybe,2024-03-06T10:00:00+08:00\nE,0\n").has_value());
}

// Found by tests/fuzz/settlement_ack_fuzzer.cpp: a quoted field took a carriage
// return the grammar (csv.h) forbids, and format_ack wrote the reason back
// with a space instead, so the clearing house's reason changed on the way.
TEST_CASE("a line break inside a quoted field is refused in a line and in an acknowledgement") {
  CHECK_FALSE(csv::parse_line("R,2,tap:17:5001,R07,\"f\r\"").has_value());
  CHECK_FALSE(csv::parse_line("\"a\nb\"").has_value());
  const std::string ack = "A,CCACK,1,101,2026-11-20,1," + std::string(64, 'a') +
                          ",rejected,2026-11-26T21:33:20.000000+08:00\nR,2,tap:17:5001,R07,\"f\r\"\nE,1\n";
  auto parsed = parse_ack(ack);
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.status().message() == "acknowledgement record 2: line break in a quoted field");
}

// Found by tests/fuzz/settlement_batch_file_fuzzer.cpp: a line's parts, and the
// lines' sums, were added in int64 without a check (UBSan: signed overflow).
// Where the sums wrapped to the totals the file states, a file with
// impossible amounts was read as consistent.
TEST_CASE("a batch file whose amounts overflow their sums is corrupt") {
  const std::string header =
      "H,CCSET,1,101,Capital Bus,2026-11-20,1,2026-11-26T08:00:00.000000+08:00,2026-11-20T03:00:00.000000+08:00,"
      "2026-11-21T03:00:00.000000+08:00,1,settle-2026,token-1\n";
  const std::string line_prefix = "tap:17:5000,,2026-11-26T08:00:00.000000+08:00,bus_board,307,12,";
  auto read = [](const std::string& text) {
    std::istringstream in(text);
    return read_batch_file(in, "CCSET_20261120_000101_01.csv");
  };
  // One line whose parts wrap to the total it states.
  auto parts = read(header + "L,1," + line_prefix + "9223372036854775807,1,0,0,0,-9223372036854775808,\n" +
                    "T,1,0,9223372036854775807,1,0,0,0,-9223372036854775808\n");
  REQUIRE_FALSE(parts.has_value());
  CHECK(parts.status().code() == StatusCode::corruption);
  CHECK(parts.status().message() == "CCSET_20261120_000101_01.csv: record 2: line total is not the sum of its parts");
  // Two lines whose sum wraps to the trailer's.
  auto sums = read(header + "L,1," + line_prefix + "9223372036854775807,0,0,0,0,9223372036854775807,\n" + "L,2," +
                   line_prefix + "1,0,0,0,0,1,\n" + "T,2,0,-9223372036854775808,0,0,0,0,-9223372036854775808\n");
  REQUIRE_FALSE(sums.has_value());
  CHECK(sums.status().message() == "CCSET_20261120_000101_01.csv: record 3: the lines' amounts overflow their sum");
  // The largest amounts that fit still read.
  auto fits = read(header + "L,1," + line_prefix + "9223372036854775806,1,0,0,0,9223372036854775807,\n" +
                   "T,1,0,9223372036854775806,1,0,0,0,9223372036854775807\n");
  CHECK(fits.has_value());
}

// Found by tests/fuzz/settlement_ack_fuzzer.cpp: a zone of +80:00 was taken, which
// put the acknowledgement's time before 1970, and format_ack then wrote a
// date parse_ack refuses. Zones are within -14:00..+14:00, and a time must
// be one whose local date in any zone is a business day.
TEST_CASE("an acknowledgement time with an impossible zone or out of the calendar is refused") {
  const std::string found = "A,CCACK,1,101,2000-11-20,1," + std::string(64, 'a') +
                            ",rejected,1970-01-01T21:33:20.000000+80:00\nR,12,atp:01,R07,\"far00explained\"\n"
                            "B,B01,tot\xe1ls differ\nE,2\n";
  auto parsed = parse_ack(found);
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.status().message() == "acknowledgement record 1: malformed header");
  CHECK_FALSE(parse_time("2024-03-06T10:00:00+08:99").has_value());
  CHECK_FALSE(parse_time("2024-03-06T10:00:00+14:01").has_value());
  CHECK_FALSE(parse_time("1970-01-01T05:00:00+14:00").has_value());
  CHECK_FALSE(parse_time("9999-12-31T00:00:00Z").has_value());
  CHECK(parse_time("2024-03-06T10:00:00-14:00").has_value());
  CHECK(parse_time("1970-01-02T00:00:00Z").has_value());
  CHECK(parse_time("9999-12-30T23:59:59.999999Z").has_value());
}
