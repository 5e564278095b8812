// APDU codec: the four ISO cases, round trips, malformed input, and the
// citycard commands' exact bytes (docs/card-protocol.md lists them).
#include <catch2/catch.hpp>

#include "card/apdu.h"
#include "card/card_protocol.h"

using namespace citycard;
using namespace citycard::card;

TEST_CASE("command APDUs round-trip in all four cases", "[card][apdu]") {
  std::vector<CommandApdu> commands = {
      {0x00, 0xA4, 0x04, 0x00, {}, std::nullopt},                 // case 1
      {0xFF, 0xCA, 0x00, 0x00, {}, 256},                          // case 2, Le 00
      {0x80, 0x10, 0x01, 0x02, {0xAA, 0xBB}, std::nullopt},       // case 3
      {0x80, 0x88, 0x00, 0x00, Bytes(28, 0x5A), 20},              // case 4
      {0x80, 0x88, 0x00, 0x00, Bytes(255, 0x01), 256},            // largest short APDU
  };
  for (const auto& command : commands) {
    auto encoded = encode_command(command);
    REQUIRE(encoded.has_value());
    auto parsed = parse_command(*encoded);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == command);
  }
}

TEST_CASE("citycard commands have the documented bytes", "[card][apdu]") {
  CHECK(to_hex(*encode_command(get_uid_command())) == "FFCA000000");
  CHECK(to_hex(*encode_command(select_command())) == "00A404000AF0434954594341524401" "00");
  CHECK(to_hex(*encode_command(read_data_command())) == "80B000001A");
  Challenge challenge{};
  Tap tap;
  tap.id = TapId{ReaderId{0x11}, 0x3E9};
  tap.mode = Mode::pay;
  tap.operator_id = OperatorId{0x65};
  tap.route = 0x133;
  tap.location = 0x0C;
  tap.amount_minor = 250;
  tap.event_time = EventTime{0x64BFF449AC000};
  tap.offline = true;
  auto auth = encode_command(internal_authenticate_command(challenge, tap));
  REQUIRE(auth.has_value());
  CHECK(to_hex(*auth) == "808800003A" + std::string(32, '0') + "00000011" "00000000000003E9" "08" "00000065" "00000133"
                         "0000000C" "00000000000000FA" "00064BFF449AC000" "01" "14");
}

TEST_CASE("malformed command APDUs are refused", "[card][apdu]") {
  CHECK(parse_command(Bytes{0x00, 0xA4, 0x04}).status().code() == StatusCode::invalid_argument);
  CHECK(parse_command(Bytes{0x00, 0xA4, 0x04, 0x00, 0x05, 0x01}).status().code() == StatusCode::invalid_argument);
  CHECK(parse_command(Bytes{0x00, 0xA4, 0x04, 0x00, 0x00, 0x01, 0x00}).status().code() == StatusCode::invalid_argument);
  CHECK(encode_command({0x80, 0x10, 0, 0, Bytes(256, 0), std::nullopt}).status().code() == StatusCode::invalid_argument);
  CHECK(encode_command({0x80, 0x10, 0, 0, {}, 0}).status().code() == StatusCode::invalid_argument);
  CHECK(encode_command({0x80, 0x10, 0, 0, {}, 257}).status().code() == StatusCode::invalid_argument);
}

TEST_CASE("responses: status word split, and a short answer means card lost", "[card][apdu]") {
  auto ok = parse_response(Bytes{0x01, 0x02, 0x90, 0x00});
  REQUIRE(ok.has_value());
  CHECK(ok->ok());
  CHECK(ok->data == Bytes{0x01, 0x02});
  auto not_found = parse_response(Bytes{0x6A, 0x82});
  REQUIRE(not_found.has_value());
  CHECK(not_found->status_word == sw::file_not_found);
  CHECK(status_word_text(sw::file_not_found) == "6A82 (file or application not found)");
  CHECK(parse_response(Bytes{}).status().code() == StatusCode::unavailable);
  CHECK(parse_response(Bytes{0x90}).status().code() == StatusCode::unavailable);
  CHECK(encode_response(Bytes{0x42}, sw::ok) == Bytes{0x42, 0x90, 0x00});
}

TEST_CASE("card record layout", "[card][record]") {
  CardData record;
  record.key_version = 3;
  record.status = CardStatus::lost;
  record.category = RiderCategory::senior;
  record.media = Media::mobile;
  record.card_id = *CardId::parse("0102030405060708090A0B0C0D0E0F10");
  Bytes encoded = encode_record(record);
  REQUIRE(encoded.size() == record_bytes);
  CHECK(to_hex(encoded) == "010303030210" "0102030405060708090A0B0C0D0E0F10");
  CHECK(*decode_record(encoded) == record);

  for (std::size_t index : {0u, 2u, 3u, 4u, 5u}) {
    Bytes bad = encoded;
    bad[index] = 0;
    INFO("zeroed byte " << index);
    CHECK(decode_record(bad).status().code() == StatusCode::corruption);
  }
  Bytes too_long_id = encoded;
  too_long_id[5] = 17;
  CHECK(!decode_record(too_long_id).has_value());
  CHECK(!decode_record(ByteView(encoded).subspan(0, 21)).has_value());
}
