// Records the engine reads back from the ledger and rows it takes from the
// card office's files, given bytes nobody checked. Each case is an input a
// fuzzer (tests/fuzz/) found, reduced; each failed before its fix.
#include <catch2/catch.hpp>

#include "approvals.h"
#include "atc_window.h"
#include "audit_entry.h"
#include "decision_codec.h"
#include "office_import.h"
#include "tap_adjustments.h"

using namespace citycard;
using namespace citycard::engine;

namespace {

std::vector<std::string> row(std::string_view line) { return split_import_line(line); }

}  // namespace

// tests/fuzz/ledger_records_fuzzer.cpp: nlohmann's value() threw type_error for a
// member of another type (out of `citycard audit`, which died), and cast a
// float out of int64's range (undefined behaviour).
TEST_CASE("an audit body whose members are not an entry's comes back as its detail") {
  const std::string text_role = R"({"action":"","outcome":"pending","reason":"double charge","role":3591302400000039})";
  AuditEntry entry = audit_entry_from_body("op:3:99", text_role);
  CHECK(entry.ref == "op:3:99");
  CHECK(entry.detail == text_role);
  CHECK(entry.action.empty());
  CHECK(entry.outcome.empty());

  for (const std::string body : {R"({"time_us":1e300,"action":"refund"})", R"({"amount_minor":18446744073709551615})",
                                 R"({"amount_minor":"5"})", R"({"detail":["x"]})"}) {
    INFO(body);
    entry = audit_entry_from_body("op:3:99", body);
    CHECK(entry.detail == body);
    CHECK(entry.time.unix_us == 0);
    CHECK(entry.amount_minor == 0);
  }

  AuditEntry refund;
  refund.ref = "op:3:99";
  refund.time = EventTime{7};
  refund.clerk = "mei";
  refund.action = "refund";
  refund.amount_minor = 25;
  entry = audit_entry_from_body("op:3:99", audit_record(refund).value);
  CHECK(entry.clerk == "mei");
  CHECK(entry.amount_minor == 25);
  CHECK(entry.time.unix_us == 7);
}

// tests/fuzz/csv_import_fuzzer.cpp: an account reference with a byte that is not
// UTF-8 passed, and the CLI died (std::terminate) turning the row into JSON
// for the running engine (nlohmann: "invalid UTF-8 byte").
TEST_CASE("a transfer row naming an account in bytes that are not ASCII is refused") {
  const EventTime now = EventTime::from_unix_seconds(1'795'651'200);
  auto bad = parse_transfer_row(row("op:7:1,topup_flo\x98t,card:04A1B2C3D4E5F6,500,top_up"), now);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.status().code() == StatusCode::invalid_argument);
  CHECK(bad.status().message().rfind("debit '", 0) == 0);
  CHECK_FALSE(parse_transfer_row(row("op:7:1,topup_float,caf\xc3\xa9,500,top_up"), now).has_value());
  CHECK_FALSE(parse_transfer_row(row("op:7:1,,card:04A1B2C3D4E5F6,500,top_up"), now).has_value());

  auto good = parse_transfer_row(row("op:7:1, topup_float ,card:04A1B2C3D4E5F6:wallet,500,top_up\r"), now);
  REQUIRE(good.has_value());
  CHECK(good->debit == "topup_float");
  CHECK(good->credit == "card:04A1B2C3D4E5F6:wallet");
  auto back = transfer_rows_from_json(nlohmann::json::parse(transfer_rows_json({*good}).dump()));
  REQUIRE(back.has_value());
  CHECK(back->front().debit == "topup_float");
}

// tests/fuzz/csv_import_fuzzer.cpp: an event time past int64 microseconds
// overflowed in EventTime::from_unix_seconds (UBSan: signed overflow).
TEST_CASE("a transfer row whose event time does not fit in microseconds is refused") {
  const EventTime now = EventTime::from_unix_seconds(1'795'651'200);
  for (const char* seconds : {"18446744073701615", "9223372036855", "-9223372036855"}) {
    INFO(seconds);
    auto parsed = parse_transfer_row(
        row(std::string("op:7:2,card:04A1B2C3D4E5F6:wallet,operator:105,15,fare,") + seconds + ",bus_board,12,4"), now);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.status().message() == std::string("bad event time '") + seconds + "'");
  }
  auto last = parse_transfer_row(row("op:7:2,card:04A1B2C3D4E5F6:wallet,operator:105,15,fare,9223372036854"), now);
  REQUIRE(last.has_value());
  CHECK(last->transfer.event_time == EventTime{9'223'372'036'854'000'000});
}

// tests/fuzz/ledger_records_fuzzer.cpp: a stored decision with the replayed bit
// decoded, though encode_decision never stores it (the format says so): the
// decoder took a value outside the format, and writing it back changed it.
TEST_CASE("a stored decision carrying the replayed flag is corrupt") {
  const std::uint8_t found[] = {0x01, 0x11, 0x00, 0x00, 0x00, 0x89, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
                                0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xec, 0xff, 0xff, 0xff, 0xff,
                                0xff, 0xff, 0xff, 0x00, 0x00, 0x22, 0x7b, 0x72, 0x7f, 0x6e, 0x22, 0x0b};
  const std::string bytes(reinterpret_cast<const char*>(found), sizeof found);
  auto decoded = decode_stored_decision(bytes);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.status().code() == StatusCode::corruption);

  std::string without_replayed = bytes;
  without_replayed.back() = 0x0a;  // debt | late
  auto kept = decode_stored_decision(without_replayed);
  REQUIRE(kept.has_value());
  CHECK(kept->decision.flags == 0x0a);
  // Written back in today's format, it reads the same.
  auto again = decode_stored_decision(encode_decision(kept->decision, kept->offline_submission));
  REQUIRE(again.has_value());
  CHECK(again->decision == kept->decision);
  CHECK(again->offline_submission == kept->offline_submission);
}

// tests/fuzz/ledger_records_fuzzer.cpp: nlohmann's get<std::int64_t>() cast a
// float out of int64's range (UBSan: 1.79522e+53 is outside the range of
// representable values of type 'long').
TEST_CASE("an approval record with a number that is not a whole int64 is corrupt") {
  const IdempotencyKey ref{Origin::operator_action, 3, 99};
  const std::string rest = R"(,"card":"04A1B2C3D4E5F6","clerk":"mei","decided_at_us":0,"decided_by":"","decided_reason":"",)"
                           R"("decided_role":"","reason":"double charge","role":"supervisor","state":"pending"})";
  for (const std::string asked_at : {"179522222222222222222222222222222222222222222265120000000000", "1.5e3",
                                     "18446744073709551615"}) {
    INFO(asked_at);
    auto approval = decode_approval(ref, R"({"amount_minor":2500,"asked_at_us":)" + asked_at + rest);
    REQUIRE_FALSE(approval.has_value());
    CHECK(approval.status().message() == "approval record op:3:99: asked_at_us is not a whole number");
  }
  auto whole = decode_approval(ref, R"({"amount_minor":2500,"asked_at_us":-1795651200000000)" + rest);
  REQUIRE(whole.has_value());
  CHECK(whole->asked_at.unix_us == -1'795'651'200'000'000);
  CHECK(whole->amount_minor == 2500);
}

// tests/fuzz/ledger_records_fuzzer.cpp: a tap's adjustments record cast a JSON
// float to the operator id (UBSan: 1e+84 is outside the range of
// representable values of type 'unsigned int'); amounts too, and their sums
// (credited_minor(), debited_minor()) could overflow.
TEST_CASE("a tap's adjustments record with numbers out of range is corrupt") {
  const TapId tap{ReaderId{17}, 5000};
  const std::string found =
      R"({"operators":[{"credited_minor":15,"debited_minor":5,"operator":101},{"credited_minor":15,"debited_minor":5,)"
      R"("operator":1000000000000000000000000000000000000000000000000000000000000000000000000000000000004}]})";
  auto decoded = decode_tap_adjusted(tap, found);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.status().message() == "adjustments record of tap:17:5000: operator out of range");
  auto operator_of = [&](const std::string& value) {
    return decode_tap_adjusted(tap, R"({"operators":[{"credited_minor":1,"debited_minor":0,"operator":)" + value + "}]}");
  };
  CHECK_FALSE(operator_of("4294967296").has_value());
  CHECK_FALSE(operator_of("101.5").has_value());
  CHECK(operator_of("4294967295").has_value());
  auto amounts = [&](const std::string& first, const std::string& second) {
    return decode_tap_adjusted(tap, R"({"operators":[{"credited_minor":)" + first + R"(,"debited_minor":0,"operator":101},)"
                                    R"({"credited_minor":)" + second + R"(,"debited_minor":0,"operator":102}]})");
  };
  CHECK(amounts("1e300", "0").status().message() == "adjustments record of tap:17:5000: credited_minor out of range");
  CHECK(amounts("-1", "0").status().message() == "adjustments record of tap:17:5000: a negative amount");
  CHECK(amounts("9223372036854775807", "1").status().message() ==
        "adjustments record of tap:17:5000: amounts overflow their sum");
  auto fits = amounts("9223372036854775806", "1");
  REQUIRE(fits.has_value());
  CHECK(fits->credited_minor() == INT64_MAX);
}

// Stored decisions, pinned: the bytes written before the coding library
// replaced the codec's own writer, and those bytes decode.
TEST_CASE("a stored decision keeps its bytes") {
  protocol::DecisionRecord decision;
  decision.tap = TapId{ReaderId{0x01020304}, 0x0a0b0c0d0e0f};
  decision.outcome = protocol::Outcome::refused;
  decision.reason = RefusalReason::insufficient_balance;
  decision.fare_minor = 25;
  decision.balance_after_minor = -3;
  decision.points_after = 0x0102030405060708;
  // Format 2, written today: varints (reader 4 bytes, sequence 7), zigzag amounts.
  const std::string golden = "02"
                             "84868808"            // reader
                             "8f9cb4e0b0c102"      // sequence
                             "0205"                // refused, reason
                             "32"                  // fare 25
                             "05"                  // balance -3
                             "909cb0d080c1818202"  // points
                             "80";                 // decided offline
  const std::string bytes = engine::encode_decision(decision, true);
  auto hex_of = [](std::string_view raw) {
    std::string hex;
    for (unsigned char b : raw) hex += "0123456789abcdef"[b >> 4], hex += "0123456789abcdef"[b & 15];
    return hex;
  };
  CHECK(hex_of(bytes) == golden);
  auto stored = engine::decode_stored_decision(bytes);
  REQUIRE(stored.has_value());
  CHECK(stored->decision == decision);
  CHECK(stored->offline_submission);

  // Format 1, as ledgers written before format 2 hold it: still read the same.
  const std::string fixed_hex = "01040302010f0e0d0c0b0a000002051900000000000000fdffffffffffffff080706050403020180";
  std::string fixed;
  for (std::size_t i = 0; i < fixed_hex.size(); i += 2) {
    fixed.push_back(static_cast<char>(std::stoi(fixed_hex.substr(i, 2), nullptr, 16)));
  }
  auto old = engine::decode_stored_decision(fixed);
  REQUIRE(old.has_value());
  CHECK(old->decision == decision);
  CHECK(old->offline_submission);
  CHECK(bytes.size() < fixed.size());
}

TEST_CASE("an ATC window keeps its bytes") {
  AtcWindow window;
  window.accept(0x01020304);
  window.accept(0x01020302);
  const std::string bytes = window.encode();
  std::string hex;
  for (unsigned char b : bytes) hex += "0123456789abcdef"[b >> 4], hex += "0123456789abcdef"[b & 15];
  CHECK(hex == "040302010500000000000000000000000000000000000000000000000000000000000000");
  auto decoded = AtcWindow::decode(bytes);
  REQUIRE(decoded);
  CHECK(decoded->highest() == 0x01020304);
  CHECK(decoded->encode() == bytes);
  auto old_form = AtcWindow::decode(bytes.substr(0, 4));
  REQUIRE(old_form);
  CHECK(old_form->highest() == 0x01020304);
}
