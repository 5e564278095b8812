// The card application's APDU handling (readers/emulator/card_application.h,
// card/apdu.h, card/card_protocol.h): what a card does with whatever a reader,
// or anything posing as one, sends it.
//
// input   := command*     fed, in order, to one card (a genuine student card)
// command := length:u8 bytes[length]     (a last command cut short is taken as it is)
// Checks, per command: the card answers with a status word; a command that
// parses encodes back to exactly its bytes; READ DATA answers the card's own
// record and counter; an INTERNAL AUTHENTICATE the card accepts moves its
// counter by one and yields a proof that verifies for exactly the
// transaction it was asked to sign. The command's bytes also go to the
// record and tap-proof decoders (the engine decodes proofs from readers).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "card/apdu.h"
#include "card/card_protocol.h"
#include "card/cryptogram.h"
#include "card_application.h"
#include "citycard/check.h"
#include "citycard/coding.h"

namespace {

using namespace citycard;
using namespace citycard::card;

constexpr std::size_t commands_max = 32;

MasterKey master() { return MasterKey{*parse_key_hex("000102030405060708090A0B0C0D0E0F"), 1}; }

emulator::CardProfile genuine_profile() {
  emulator::CardProfile profile;
  profile.uid = *parse_hex("04A1B2C3D4E5F6");
  profile.record.card_id = *CardId::parse("04A1B2C3D4E5F6");
  profile.record.category = RiderCategory::student;
  profile.key = diversify_card_key(master(), profile.record.card_id);
  profile.atc = 41;
  return profile;
}

void check_decoders(ByteView bytes) {
  if (auto record = decode_record(bytes)) CITYCARD_CHECK(encode_record(*record) == Bytes(bytes.begin(), bytes.end()));
  if (auto proof = decode_proof(bytes)) CITYCARD_CHECK(encode_proof(*proof) == Bytes(bytes.begin(), bytes.end()));
}

void check_answer(const emulator::CardProfile& profile, emulator::CardApplication& card, ByteView raw,
                  std::uint32_t atc_before) {
  const Bytes answer = card.process(raw);
  auto response = parse_response(answer);
  CITYCARD_CHECK(response.has_value());
  auto command = parse_command(raw);
  if (!command) {
    CITYCARD_CHECK(!response->ok());
    CITYCARD_CHECK(card.atc() == atc_before);
    return;
  }
  auto encoded = encode_command(*command);
  CITYCARD_CHECK(encoded.has_value() && *encoded == Bytes(raw.begin(), raw.end()));
  const bool authenticated = response->ok() && command->cla == cla_proprietary && command->ins == ins_internal_authenticate;
  CITYCARD_CHECK(card.atc() == atc_before + (authenticated ? 1 : 0));
  if (!response->ok()) return;
  if (command->cla == cla_proprietary && command->ins == ins_read_data) {
    CITYCARD_CHECK(response->data.size() == read_data_bytes);
    auto record = decode_record(ByteView(response->data).first(record_bytes));
    CITYCARD_CHECK(record.has_value() && *record == profile.record);
    CITYCARD_CHECK(coding::load_be<std::uint32_t>(&response->data[record_bytes]) == atc_before);
  }
  if (authenticated) {
    CITYCARD_CHECK(response->data.size() == auth_response_bytes);
    CITYCARD_CHECK(coding::load_be<std::uint32_t>(response->data.data()) == card.atc());
    auto transaction = decode_transaction(command->data);
    CITYCARD_CHECK(transaction.has_value());
    Tap tap = transaction->tap;
    tap.card = profile.record.card_id;
    tap.media = profile.record.media;
    TapProof proof{profile.record, card.atc(), transaction->challenge, {}};
    std::copy_n(response->data.begin() + 4, 16, proof.cryptogram.begin());
    MasterKeySource keys(master());
    CITYCARD_CHECK(verify_tap_proof(keys, tap, proof).is_ok());
    tap.offline = !tap.offline;  // any other transaction: the proof must not verify
    CITYCARD_CHECK(!verify_tap_proof(keys, tap, proof).is_ok());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const emulator::CardProfile profile = genuine_profile();
  emulator::CardApplication card(profile);
  ByteView input(data, size);
  for (std::size_t i = 0; i < commands_max && !input.empty(); ++i) {
    const std::size_t length = std::min<std::size_t>(input[0], input.size() - 1);
    ByteView raw = input.subspan(1, length);
    input = input.subspan(1 + length);
    check_decoders(raw);
    check_answer(profile, card, raw, card.atc());
  }
  return 0;
}
