// The reader's side of a tap (readers/session/reader_session.h): what a
// reader makes of a card's answers, when the "card" is anything held to it.
//
// input    := response*     the card's answers, in order, to the reader's
//                           commands (GET UID, SELECT, READ DATA, INTERNAL
//                           AUTHENTICATE, and a second one for the offline retry)
// response := length:u8 bytes[length]   (a last one cut short is taken as it is;
//                                       after the last, the card has left the field)
// Checks: a readout names the card of its record, with the reader's own
// challenge and tap; it is genuine only if its proof verifies for exactly
// that tap, under the right key, with a counter above the one READ DATA
// reported; a second authentication must move the counter past the first.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "card/cryptogram.h"
#include "citycard/check.h"
#include "session/reader_session.h"

namespace {

using namespace citycard;
using namespace citycard::card;

// Answers each command with the next response of the input.
class ScriptedCard final : public CardTransport {
 public:
  explicit ScriptedCard(ByteView script) : script_(script) {}
  Result<Bytes> transmit(ByteView) override {
    if (script_.empty()) return Bytes{};  // the card left the field
    const std::size_t length = std::min<std::size_t>(script_[0], script_.size() - 1);
    Bytes response(script_.begin() + 1, script_.begin() + 1 + static_cast<std::ptrdiff_t>(length));
    script_ = script_.subspan(1 + length);
    return response;
  }

 private:
  ByteView script_;
};

MasterKey master() { return MasterKey{*parse_key_hex("000102030405060708090A0B0C0D0E0F"), 1}; }

Tap make_tap(bool offline) {
  Tap tap;
  tap.id = TapId{ReaderId{17}, 5000};
  tap.mode = Mode::bus_board;
  tap.operator_id = OperatorId{3};
  tap.route = 307;
  tap.location = 12;
  tap.event_time = EventTime{1'700'000'000'000'000};
  tap.offline = offline;
  return tap;
}

const Challenge challenge{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
const Challenge second_challenge{16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

void check_readout(MasterKeySource& keys, const CardReadout& readout, const Tap& asked, const Challenge& asked_challenge,
                   std::uint32_t atc_floor) {
  CITYCARD_CHECK(!readout.uid.empty() && readout.uid.size() <= CardId::bytes_max);
  CITYCARD_CHECK(readout.tap.card == readout.proof.record.card_id);
  CITYCARD_CHECK(readout.tap.media == readout.proof.record.media);
  CITYCARD_CHECK(readout.tap.id == asked.id && readout.tap.offline == asked.offline);
  CITYCARD_CHECK(readout.proof.challenge == asked_challenge);
  if (!readout.genuine.is_ok()) return;
  CITYCARD_CHECK(readout.proof.atc > atc_floor);
  CITYCARD_CHECK(verify_tap_proof(keys, readout.tap, readout.proof).is_ok());
  if (readout.proof.record.media == Media::physical_card) {
    CITYCARD_CHECK(readout.proof.record.card_id == CardId::from_bytes(readout.uid.data(), readout.uid.size()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  MasterKeySource keys(master());
  ScriptedCard card(ByteView(data, size));
  const Tap online = make_tap(false);
  auto first = run_reader_session(card, keys, online, challenge);
  if (!first) {
    CITYCARD_CHECK(!first.status().message().empty());
    return 0;
  }
  check_readout(keys, *first, online, challenge, first->atc_before);
  if (!first->genuine.is_ok()) return 0;

  const Tap offline = make_tap(true);
  auto again = authenticate_again(card, keys, *first, offline, second_challenge);
  if (!again) return 0;
  check_readout(keys, *again, offline, second_challenge, first->proof.atc);
  CITYCARD_CHECK(again->tap.card == first->tap.card);
  return 0;
}
