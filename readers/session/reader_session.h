// The reader's side of one tap, over any transport that carries APDUs
// (PC/SC in the field, the in-process card application in unit tests).
//
//   GET UID -> SELECT citycard -> READ DATA -> INTERNAL AUTHENTICATE(transaction) -> verify
//   [INTERNAL AUTHENTICATE(same tap, offline) -> verify]   authenticate_again()
#pragma once

#include <cstdint>

#include "card/bytes.h"
#include "citycard/ids.h"
#include "citycard/status.h"
#include "citycard/tap.h"
#include "card/cryptogram.h"

namespace citycard::card {

// Sends one command APDU and returns the raw response (data + SW1 SW2). A
// response shorter than 2 bytes means the card left the field.
class CardTransport {
 public:
  virtual ~CardTransport() = default;
  virtual Result<Bytes> transmit(ByteView command) = 0;
};

struct CardReadout {
  Bytes uid;                 // from GET UID
  Tap tap;                   // the transaction the card signed, card and media from its record
  TapProof proof;            // record, counter, challenge, cryptogram
  std::uint32_t atc_before = 0;   // the counter READ DATA reported
  // ok if the card proved it holds its diversified key, over exactly `tap`;
  // refused otherwise (a clone: right UID, wrong or no key), or the key
  // source's error (token failure: the reader cannot tell, so not genuine).
  Status genuine;
};

// Runs the exchange for `tap`: its id must be reserved and its transaction
// fields set first (the cryptogram covers them); card and media are taken
// from the card. Errors: unavailable = card lost mid-exchange; not_found =
// not a citycard (SELECT refused); corruption = a malformed answer. A card
// that answers well-formed but fails authentication is a readout with
// genuine = refused, so the reader can say which card was refused.
Result<CardReadout> run_reader_session(CardTransport& transport, CardKeySource& keys, const Tap& tap,
                                       const Challenge& challenge);

// A second INTERNAL AUTHENTICATE on a card still selected after `first`, over
// `tap` (the same tap id with other transaction fields, e.g. the offline flag
// set once the engine did not answer in time). The returned readout's counter
// must have grown past the first's. Errors as run_reader_session.
Result<CardReadout> authenticate_again(CardTransport& transport, CardKeySource& keys, const CardReadout& first,
                                       const Tap& tap, const Challenge& challenge);

// A fresh random reader challenge (OpenSSL RAND_bytes); io_error if the RNG fails.
Result<Challenge> make_challenge();

}  // namespace citycard::card
