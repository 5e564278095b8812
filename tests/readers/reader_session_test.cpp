// The reader's side of a tap against the card application run in process
// (the same code the emulator puts behind vpcd): genuine, clone, blocked,
// foreign card, and a card that leaves mid-exchange.
#include <catch2/catch.hpp>

#include "card_application.h"
#include "citycard/coding.h"
#include "session/reader_session.h"

using namespace citycard;
using namespace citycard::card;

namespace {

// Carries APDUs to an in-process card; after `answers_max` APDUs it behaves
// like a card torn from the field (a 0-byte answer, as PC/SC reports it).
class InProcessTransport final : public CardTransport {
 public:
  explicit InProcessTransport(emulator::CardApplication& card, std::size_t answers_max = SIZE_MAX)
      : card_(card), answers_max_(answers_max) {}
  Result<Bytes> transmit(ByteView command) override {
    if (answered_ >= answers_max_) return Bytes{};
    ++answered_;
    return card_.process(command);
  }

 private:
  emulator::CardApplication& card_;
  std::size_t answers_max_;
  std::size_t answered_ = 0;
};

MasterKey master() { return MasterKey{*parse_key_hex("000102030405060708090A0B0C0D0E0F"), 1}; }
MasterKeySource& keys() {
  static MasterKeySource source(master());
  return source;
}

emulator::CardProfile genuine_profile() {
  emulator::CardProfile profile;
  profile.uid = *parse_hex("04A1B2C3D4E5F6");
  profile.record.card_id = *CardId::parse("04A1B2C3D4E5F6");
  profile.record.category = RiderCategory::student;
  profile.key = diversify_card_key(master(), profile.record.card_id);
  profile.atc = 41;
  return profile;
}

Tap make_tap(std::uint64_t sequence) {
  Tap t;
  t.id = TapId{ReaderId{17}, sequence};
  t.mode = Mode::bus_board;
  t.operator_id = OperatorId{3};
  t.route = 307;
  t.location = 12;
  t.event_time = EventTime{1'700'000'000'000'000};
  return t;
}
const Tap tap = make_tap(5000);
const Challenge challenge{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

}  // namespace

TEST_CASE("genuine card: UID, record, counter and a verifying proof", "[card][session]") {
  emulator::CardApplication card(genuine_profile());
  InProcessTransport transport(card);
  auto readout = run_reader_session(transport, keys(), tap, challenge);
  REQUIRE(readout.has_value());
  CHECK(readout->genuine.is_ok());
  CHECK(to_hex(readout->uid) == "04A1B2C3D4E5F6");
  CHECK(readout->proof.record.category == RiderCategory::student);
  CHECK(readout->atc_before == 41);
  CHECK(readout->proof.atc == 42);
  CHECK(readout->tap.card == *CardId::parse("04A1B2C3D4E5F6"));
  CHECK(readout->tap.id == tap.id);
  CHECK(verify_tap_proof(keys(), readout->tap, readout->proof).is_ok());
  CHECK(card.atc() == 42);

  SECTION("the next tap gets a higher counter") {
    InProcessTransport again(card);
    auto second = run_reader_session(again, keys(), make_tap(5001), challenge);
    REQUIRE(second.has_value());
    CHECK(second->genuine.is_ok());
    CHECK(second->proof.atc == 43);
  }
  SECTION("a second authentication of the same tap, marked offline, moves the counter and verifies") {
    Tap offline = tap;
    offline.offline = true;
    const Challenge other{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
    auto again = authenticate_again(transport, keys(), *readout, offline, other);
    REQUIRE(again.has_value());
    CHECK(again->genuine.is_ok());
    CHECK(again->tap.id == tap.id);
    CHECK(again->tap.offline);
    CHECK(again->proof.atc == 43);
    CHECK(again->proof.challenge == other);
    CHECK(verify_tap_proof(keys(), again->tap, again->proof).is_ok());
    // Each proof is for its own version of the tap only.
    CHECK(verify_tap_proof(keys(), readout->tap, again->proof).code() == StatusCode::refused);
    CHECK(verify_tap_proof(keys(), again->tap, readout->proof).code() == StatusCode::refused);
  }
  SECTION("a card gone before the second authentication is card lost") {
    InProcessTransport gone(card, 0);
    Tap offline = tap;
    offline.offline = true;
    auto again = authenticate_again(gone, keys(), *readout, offline, challenge);
    REQUIRE_FALSE(again.has_value());
    CHECK(again.status().code() == StatusCode::unavailable);
  }
}

TEST_CASE("clone with the right UID but another key is refused", "[card][session]") {
  emulator::CardProfile profile = genuine_profile();
  profile.key.bytes[0] ^= 0xFF;
  emulator::CardApplication clone(profile);
  InProcessTransport transport(clone);
  auto readout = run_reader_session(transport, keys(), tap, challenge);
  REQUIRE(readout.has_value());
  CHECK(readout->genuine.code() == StatusCode::refused);
  CHECK(readout->genuine.message().find("not genuine") != std::string::npos);
}

TEST_CASE("physical card whose record names another card is refused", "[card][session]") {
  emulator::CardProfile profile = genuine_profile();
  profile.uid = *parse_hex("04FFFFFFFFFFFF");   // a copied record on a different chip
  emulator::CardApplication card(profile);
  InProcessTransport transport(card);
  auto readout = run_reader_session(transport, keys(), tap, challenge);
  REQUIRE(readout.has_value());
  CHECK(readout->genuine.code() == StatusCode::refused);
}

TEST_CASE("blocked card still authenticates, and its status comes back for the decision", "[card][session]") {
  emulator::CardProfile profile = genuine_profile();
  profile.record.status = CardStatus::blocked;
  emulator::CardApplication card(profile);
  InProcessTransport transport(card);
  auto readout = run_reader_session(transport, keys(), tap, challenge);
  REQUIRE(readout.has_value());
  CHECK(readout->genuine.is_ok());
  CHECK(readout->proof.record.status == CardStatus::blocked);
}

TEST_CASE("card that leaves the field mid-exchange is an error value", "[card][session]") {
  for (std::size_t answers = 0; answers < 4; ++answers) {
    INFO("card answered " << answers << " APDUs");
    emulator::CardApplication card(genuine_profile());
    InProcessTransport transport(card, answers);
    auto readout = run_reader_session(transport, keys(), tap, challenge);
    REQUIRE(!readout.has_value());
    CHECK(readout.status().code() == StatusCode::unavailable);
    CHECK(readout.status().message().find("card lost") != std::string::npos);
  }
}

TEST_CASE("the card application enforces its protocol", "[card][application]") {
  emulator::CardApplication card(genuine_profile());
  auto sw_of = [](const Bytes& response) { return coding::load_be<std::uint16_t>(&response[response.size() - 2]); };
  CHECK(sw_of(card.process(*encode_command(read_data_command()))) == sw::conditions_not_satisfied);
  CHECK(sw_of(card.process(*encode_command(internal_authenticate_command(challenge, tap)))) ==
        sw::conditions_not_satisfied);
  CommandApdu other_aid = select_command();
  other_aid.data.back() ^= 1;
  CHECK(sw_of(card.process(*encode_command(other_aid))) == sw::file_not_found);
  CHECK(sw_of(card.process(*encode_command(select_command()))) == sw::ok);
  CommandApdu short_auth = internal_authenticate_command(challenge, tap);
  short_auth.data.pop_back();
  CHECK(sw_of(card.process(*encode_command(short_auth))) == sw::wrong_length);
  CHECK(sw_of(card.process(Bytes{0x80, 0x99, 0, 0})) == sw::ins_not_supported);
  CHECK(sw_of(card.process(Bytes{0x90, 0xB0, 0, 0})) == sw::cla_not_supported);
  CHECK(sw_of(card.process(Bytes{0x00, 0xA4})) == sw::wrong_length);
  card.reset();
  CHECK(sw_of(card.process(*encode_command(read_data_command()))) == sw::conditions_not_satisfied);
}

TEST_CASE("a foreign card (no citycard application) is not_found", "[card][session]") {
  // A card that answers GET UID but refuses our AID, as a bank card would.
  class ForeignCard final : public CardTransport {
   public:
    Result<Bytes> transmit(ByteView command) override {
      if (command[0] == cla_reader) return Bytes{0x01, 0x02, 0x03, 0x04, 0x90, 0x00};
      return Bytes{0x6A, 0x82};
    }
  } foreign;
  auto readout = run_reader_session(foreign, keys(), tap, challenge);
  REQUIRE(!readout.has_value());
  CHECK(readout.status().code() == StatusCode::not_found);
}
