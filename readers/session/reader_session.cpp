#include "reader_session.h"

#include <openssl/rand.h>

#include <fmt/format.h>

#include <algorithm>

#include "card/apdu.h"
#include "card/card_protocol.h"
#include "citycard/coding.h"

namespace citycard::card {
namespace {

Result<ResponseApdu> exchange(CardTransport& transport, const CommandApdu& command, const char* what) {
  auto encoded = encode_command(command);
  if (!encoded) return encoded.status();
  auto raw = transport.transmit(*encoded);
  if (!raw) return Status(raw.status());
  auto response = parse_response(*raw);
  if (!response) return Status::unavailable(fmt::format("{}: {}", what, response.status().message()));
  return response;
}

// INTERNAL AUTHENTICATE over readout.tap, then the checks; fills the proof's
// counter and cryptogram and readout.genuine.
Result<CardReadout> authenticate(CardTransport& transport, CardKeySource& keys, CardReadout readout,
                                 std::uint32_t atc_floor, const Challenge& challenge) {
  const std::string uid_text = to_hex(readout.uid);
  const CardData& record = readout.proof.record;
  auto auth = exchange(transport, internal_authenticate_command(challenge, readout.tap), "INTERNAL AUTHENTICATE");
  if (!auth) return auth.status();
  readout.proof.challenge = challenge;
  if (!auth->ok()) {
    readout.genuine = Status::refused(fmt::format("card {} refused to authenticate: {}", record.card_id.to_string(),
                                                  status_word_text(auth->status_word)));
    return readout;
  }
  if (auth->data.size() != auth_response_bytes) {
    return Status::corruption(fmt::format("card {}: INTERNAL AUTHENTICATE returned {} bytes", uid_text, auth->data.size()));
  }
  readout.proof.atc = coding::load_be<std::uint32_t>(auth->data.data());
  std::copy_n(auth->data.begin() + 4, 16, readout.proof.cryptogram.begin());

  // A physical card's identity is its UID: a card that reports someone
  // else's id in its record is not the card it claims to be.
  if (record.media == Media::physical_card &&
      !(record.card_id == CardId::from_bytes(readout.uid.data(), readout.uid.size()))) {
    readout.genuine = Status::refused(
        fmt::format("card {} is not genuine: its record names card {}", uid_text, record.card_id.to_string()));
    return readout;
  }
  if (readout.proof.atc <= atc_floor) {
    readout.genuine = Status::refused(fmt::format("card {} is not genuine: its counter did not advance ({} -> {})",
                                                  uid_text, atc_floor, readout.proof.atc));
    return readout;
  }
  readout.genuine = verify_tap_proof(keys, readout.tap, readout.proof);
  return readout;
}

}  // namespace

Result<Challenge> make_challenge() {
  Challenge challenge{};
  if (RAND_bytes(challenge.data(), static_cast<int>(challenge.size())) != 1) {
    return Status::io_error("RAND_bytes failed: no randomness for the reader challenge");
  }
  return challenge;
}

Result<CardReadout> run_reader_session(CardTransport& transport, CardKeySource& keys, const Tap& tap,
                                       const Challenge& challenge) {
  CardReadout readout;

  auto uid = exchange(transport, get_uid_command(), "GET UID");
  if (!uid) return uid.status();
  if (!uid->ok()) return Status::corruption("GET UID answered " + status_word_text(uid->status_word));
  if (uid->data.empty() || uid->data.size() > CardId::bytes_max) {
    return Status::corruption(fmt::format("GET UID returned {} bytes", uid->data.size()));
  }
  readout.uid = uid->data;
  const std::string uid_text = to_hex(readout.uid);

  auto select = exchange(transport, select_command(), "SELECT");
  if (!select) return select.status();
  if (!select->ok()) {
    return Status::not_found(
        fmt::format("card {} has no citycard application: SELECT answered {}", uid_text, status_word_text(select->status_word)));
  }

  auto data = exchange(transport, read_data_command(), "READ DATA");
  if (!data) return data.status();
  if (!data->ok()) return Status::corruption(fmt::format("card {}: READ DATA answered {}", uid_text, status_word_text(data->status_word)));
  if (data->data.size() != read_data_bytes) {
    return Status::corruption(fmt::format("card {}: READ DATA returned {} bytes, expected {}", uid_text, data->data.size(), read_data_bytes));
  }
  auto record = decode_record(ByteView(data->data).subspan(0, record_bytes));
  if (!record) return Status::corruption(fmt::format("card {}: {}", uid_text, record.status().message()));
  readout.proof.record = *record;
  readout.atc_before = coding::load_be<std::uint32_t>(&data->data[record_bytes]);
  readout.tap = tap;
  readout.tap.card = record->card_id;
  readout.tap.media = record->media;
  const std::uint32_t atc_floor = readout.atc_before;
  return authenticate(transport, keys, std::move(readout), atc_floor, challenge);
}

Result<CardReadout> authenticate_again(CardTransport& transport, CardKeySource& keys, const CardReadout& first,
                                       const Tap& tap, const Challenge& challenge) {
  CardReadout again = first;
  again.tap = tap;
  again.tap.card = first.proof.record.card_id;
  again.tap.media = first.proof.record.media;
  again.atc_before = first.proof.atc;
  again.proof.atc = 0;
  again.proof.cryptogram = {};
  const std::uint32_t atc_floor = first.proof.atc;
  return authenticate(transport, keys, std::move(again), atc_floor, challenge);
}

}  // namespace citycard::card
