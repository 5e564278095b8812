// AES-CMAC through EVP_MAC against RFC 4493, and the citycard key and
// cryptogram vectors pinned from an independent computation with
// `openssl mac -cipher AES-128-CBC ... CMAC` (see docs/card-protocol.md).
#include <catch2/catch.hpp>

#include "card/apdu.h"
#include "card/crypto.h"
#include "card/cryptogram.h"

using namespace citycard;
using namespace citycard::card;

namespace {

Block block(const char* hex) { return *parse_key_hex(hex); }
Bytes bytes(const char* hex) { return *parse_hex(hex); }

MasterKey test_master() { return MasterKey{block("000102030405060708090A0B0C0D0E0F"), 1}; }
CardId test_card() { return *CardId::parse("04A1B2C3D4E5F6"); }

CardData test_record() {
  CardData record;
  record.card_id = test_card();
  return record;
}

// Reader 17's tap 1001: boarding Capital Bus (101) route 307 at stop 12,
// 2026-03-02 08:00 Taipei.
Tap test_tap() {
  Tap tap;
  tap.id = TapId{ReaderId{17}, 1001};
  tap.card = test_card();
  tap.media = Media::physical_card;
  tap.mode = Mode::bus_board;
  tap.operator_id = OperatorId{101};
  tap.route = 307;
  tap.location = 12;
  tap.event_time = EventTime{1772409600LL * 1'000'000};
  return tap;
}

Challenge test_challenge() {
  Challenge challenge{};
  for (std::size_t i = 0; i < challenge.size(); ++i) challenge[i] = static_cast<std::uint8_t>(0x10 + i);
  return challenge;
}

}  // namespace

TEST_CASE("AES-CMAC matches the RFC 4493 test vectors", "[card][crypto]") {
  const Block key = block("2b7e151628aed2a6abf7158809cf4f3c");
  const Bytes message = bytes(
      "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"
      "30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710");
  struct Vector {
    std::size_t length;
    const char* mac;
  };
  for (Vector v : {Vector{0, "bb1d6929e95937287fa37d129b756746"}, Vector{16, "070a16b46b4d4144f79bdd9dd04a287c"},
                   Vector{40, "dfa66747de9ae63030ca32611497c827"}, Vector{64, "51f0bebf7e3b9d92fc49741779363cfe"}}) {
    INFO("message length " << v.length);
    auto mac = aes_cmac(key, ByteView(message).subspan(0, v.length));
    REQUIRE(mac.has_value());
    CHECK(to_hex(*mac) == to_hex(block(v.mac)));
  }
}

TEST_CASE("card key diversification is pinned", "[card][crypto]") {
  CardKey key = diversify_card_key(test_master(), test_card());
  CHECK(to_hex(key.bytes) == "8398C0C4CF4F7DC6898B4D13947F85B7");

  SECTION("another UID gives another key") {
    CardKey other = diversify_card_key(test_master(), *CardId::parse("04A1B2C3D4E5F7"));
    CHECK(to_hex(other.bytes) != to_hex(key.bytes));
  }
  SECTION("another master key gives another key") {
    MasterKey master = test_master();
    master.bytes[15] ^= 1;
    CHECK(to_hex(diversify_card_key(master, test_card()).bytes) != to_hex(key.bytes));
  }
}

TEST_CASE("tap cryptogram over the whole transaction is pinned and verifies", "[card][cryptogram]") {
  const Tap tap = test_tap();
  CardKey key = diversify_card_key(test_master(), test_card());
  const Bytes input = cryptogram_input(test_record(), 1, test_challenge(), tap);
  REQUIRE(input.size() == mac_input_bytes);
  CHECK(to_hex(input) ==
        "4343543201010101010704A1B2C3D4E5F600000000000000000000000001101112131415161718191A1B1C1D1E1F00000011"
        "00000000000003E90100000065000001330000000C000000000000000000064BFF449AC00000");
  TapProof proof{test_record(), 1, test_challenge(), *compute_cryptogram(key, test_record(), 1, test_challenge(), tap)};
  CHECK(to_hex(proof.cryptogram) == "D1C7C0B09A9AE03EC2AD53CD4CF19AF5");
  CHECK(verify_tap_proof(key, tap, proof).is_ok());
  MasterKeySource keys(test_master());
  CHECK(verify_tap_proof(keys, tap, proof).is_ok());
  CmacContext context;   // the reusable context gives the same MAC, key after key
  CHECK(to_hex(*compute_cryptogram(key, test_record(), 1, test_challenge(), tap, &context)) == to_hex(proof.cryptogram));
  CHECK(to_hex(*context.mac(input)) == to_hex(proof.cryptogram));
  CHECK(verify_tap_proof(key, tap, proof, &context).is_ok());
  // Key after key, the context MACs under the key it was last given.
  const Block other_key = block("2b7e151628aed2a6abf7158809cf4f3c");
  CHECK(to_hex(*context.mac(other_key, input)) == to_hex(*aes_cmac(other_key, input)));
  CHECK(to_hex(*context.mac(key.bytes, input)) == to_hex(proof.cryptogram));
  CHECK(to_hex(*context.mac(input)) == to_hex(proof.cryptogram));

  // Every field of the tap the card signed, changed after it signed: refused.
  struct Change {
    const char* field;
    void (*apply)(Tap&);
  };
  for (Change change : {Change{"reader", [](Tap& t) { t.id.reader.value = 18; }},
                        Change{"sequence", [](Tap& t) { t.id.sequence = 1002; }},
                        Change{"mode", [](Tap& t) { t.mode = Mode::bus_alight; }},
                        Change{"operator", [](Tap& t) { t.operator_id.value = 102; }},
                        Change{"route", [](Tap& t) { t.route = 308; }},
                        Change{"location", [](Tap& t) { t.location = 13; }},
                        Change{"amount", [](Tap& t) { t.amount_minor = 1; }},
                        Change{"event time", [](Tap& t) { t.event_time.unix_us += 1; }},
                        Change{"offline flag", [](Tap& t) { t.offline = true; }},
                        Change{"card", [](Tap& t) { t.card = *CardId::parse("04A1B2C3D4E5F7"); }},
                        Change{"media", [](Tap& t) { t.media = Media::mobile; }}}) {
    INFO("changed: " << change.field);
    Tap altered = tap;
    change.apply(altered);
    CHECK(verify_tap_proof(key, altered, proof).code() == StatusCode::refused);
    CHECK(verify_tap_proof(keys, altered, proof).code() == StatusCode::refused);
  }

  SECTION("bound to the counter") {
    proof.atc = 2;
    CHECK(verify_tap_proof(key, tap, proof).code() == StatusCode::refused);
  }
  SECTION("bound to the challenge") {
    proof.challenge[0] ^= 0x80;
    CHECK(verify_tap_proof(key, tap, proof).code() == StatusCode::refused);
  }
  SECTION("bound to the card record (status cannot be upgraded)") {
    proof.record.status = CardStatus::blocked;
    CHECK(verify_tap_proof(key, tap, proof).code() == StatusCode::refused);
  }
  SECTION("a clone's key (right id, wrong key) does not verify") {
    CardKey clone_key{block("00000000000000000000000000000001")};
    proof.cryptogram = *compute_cryptogram(clone_key, test_record(), 1, test_challenge(), tap);
    Status status = verify_tap_proof(key, tap, proof);
    CHECK(status.code() == StatusCode::refused);
    CHECK(status.message().find("04A1B2C3D4E5F6") != std::string::npos);
  }
  SECTION("a key version the key source does not hold: not_found") {
    proof.record.key_version = 2;
    CHECK(verify_tap_proof(keys, tap, proof).code() == StatusCode::not_found);
  }
  SECTION("the card application signs what the reader sent, field by field") {
    auto decoded = decode_transaction(encode_transaction(test_challenge(), tap));
    REQUIRE(decoded.has_value());
    CHECK(decoded->challenge == test_challenge());
    CHECK(decoded->tap.id == tap.id);
    CHECK(decoded->tap.mode == tap.mode);
    CHECK(decoded->tap.operator_id == tap.operator_id);
    CHECK(decoded->tap.route == tap.route);
    CHECK(decoded->tap.location == tap.location);
    CHECK(decoded->tap.amount_minor == tap.amount_minor);
    CHECK(decoded->tap.event_time == tap.event_time);
    CHECK(decoded->tap.offline == tap.offline);
    Bytes bad_flag = encode_transaction(test_challenge(), tap);
    bad_flag.back() = 2;
    CHECK(decode_transaction(bad_flag).status().code() == StatusCode::invalid_argument);
    CHECK(decode_transaction(ByteView(bad_flag).subspan(1)).status().code() == StatusCode::invalid_argument);
  }
}

TEST_CASE("tap proof wire encoding round-trips and rejects bad input", "[card][cryptogram]") {
  const Tap tap = test_tap();
  CardKey key = diversify_card_key(test_master(), test_card());
  TapProof proof{test_record(), 7, test_challenge(), *compute_cryptogram(key, test_record(), 7, test_challenge(), tap)};
  Bytes wire = encode_proof(proof);
  REQUIRE(wire.size() == proof_bytes);
  auto decoded = decode_proof(wire);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == proof);
  CHECK(verify_tap_proof(key, tap, *decoded).is_ok());

  CHECK(decode_proof(ByteView(wire).subspan(0, proof_bytes - 1)).status().code() == StatusCode::invalid_argument);
  Bytes bad_format = wire;
  bad_format[0] = 9;
  CHECK(decode_proof(bad_format).status().code() == StatusCode::invalid_argument);
  Bytes bad_padding = wire;
  bad_padding[21] = 1;
  CHECK(!decode_proof(bad_padding).has_value());
}

TEST_CASE("master key parsing", "[card][crypto]") {
  CHECK(parse_key_hex("00112233445566778899AABBCCDDEEFF").has_value());
  CHECK(parse_key_hex("0011 2233 4455 6677 8899 AABB CCDD EEFF").has_value());
  CHECK(!parse_key_hex("00112233").has_value());
  CHECK(!parse_key_hex("zz112233445566778899AABBCCDDEEFF").has_value());
}

TEST_CASE("tap proof and response APDU bytes are pinned", "[card][cryptogram]") {
  TapProof proof{test_record(), 0x01020304, test_challenge(), block("D1C7C0B09A9AE03EC2AD53CD4CF19AF5")};
  const std::string golden = "01010101010704A1B2C3D4E5F600000000000000000001020304101112131415161718191A1B1C1D1E1FD1C7C0B09A9AE03EC2AD53CD4CF19AF5";
  CHECK(to_hex(encode_proof(proof)) == golden);
  CHECK(*decode_proof(bytes(golden.c_str())) == proof);
  CHECK(to_hex(encode_response(bytes("0102"), 0x9000)) == "01029000");
  CHECK(parse_response(bytes("01026A82"))->status_word == 0x6A82);
}
