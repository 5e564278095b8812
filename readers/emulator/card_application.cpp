#include "card_application.h"

#include <algorithm>
#include <limits>

#include "card/apdu.h"
#include "card/cryptogram.h"
#include "citycard/coding.h"

namespace citycard::emulator {

using namespace citycard::card;

Bytes CardApplication::process(ByteView raw) {
  auto parsed = parse_command(raw);
  if (!parsed) return encode_response({}, sw::wrong_length);
  const CommandApdu& command = *parsed;

  if (command.cla == cla_reader) {
    // What reader firmware answers for the PC/SC GET DATA pseudo-APDU.
    if (command.ins != ins_get_data) return encode_response({}, sw::ins_not_supported);
    if (command.p1 != 0x00 || command.p2 != 0x00) return encode_response({}, sw::function_not_supported);
    return encode_response(profile_.uid, sw::ok);
  }
  if (command.cla == cla_iso && command.ins == ins_select) return select(command);
  if (command.cla == cla_iso) return encode_response({}, sw::ins_not_supported);
  if (command.cla != cla_proprietary) return encode_response({}, sw::cla_not_supported);
  if (command.ins == ins_read_data) return read_data(command);
  if (command.ins == ins_internal_authenticate) return authenticate(command);
  return encode_response({}, sw::ins_not_supported);
}

Bytes CardApplication::select(const CommandApdu& command) {
  if (command.p1 != 0x04 || command.p2 != 0x00) return encode_response({}, sw::incorrect_p1p2);
  if (!std::equal(command.data.begin(), command.data.end(), application_id.begin(), application_id.end())) {
    selected_ = false;
    return encode_response({}, sw::file_not_found);
  }
  selected_ = true;
  return encode_response({}, sw::ok);
}

Bytes CardApplication::read_data(const CommandApdu& command) {
  if (!selected_) return encode_response({}, sw::conditions_not_satisfied);
  if (command.p1 != 0 || command.p2 != 0) return encode_response({}, sw::incorrect_p1p2);
  Bytes data = encode_record(profile_.record);
  coding::put_be<std::uint32_t>(data, profile_.atc);
  return encode_response(data, sw::ok);
}

Bytes CardApplication::authenticate(const CommandApdu& command) {
  if (!selected_) return encode_response({}, sw::conditions_not_satisfied);
  if (command.p1 != 0 || command.p2 != 0) return encode_response({}, sw::incorrect_p1p2);
  if (command.data.size() != auth_request_bytes) return encode_response({}, sw::wrong_length);
  if (profile_.atc == std::numeric_limits<std::uint32_t>::max()) return encode_response({}, sw::auth_method_blocked);
  auto transaction = decode_transaction(command.data);
  if (!transaction) return encode_response({}, sw::wrong_length);
  // The counter moves before the cryptogram is released, as on a real card,
  // so a torn exchange can never yield two cryptograms with one counter.
  ++profile_.atc;
  auto cryptogram = compute_cryptogram(profile_.key, profile_.record, profile_.atc, transaction->challenge,
                                       transaction->tap, &cmac_);
  if (!cryptogram) return encode_response({}, sw::security_not_satisfied);
  Bytes data;
  coding::put_be<std::uint32_t>(data, profile_.atc);
  data.insert(data.end(), cryptogram->begin(), cryptogram->end());
  return encode_response(data, sw::ok);
}

}  // namespace citycard::emulator
