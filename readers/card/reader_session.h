// The reader's side of one tap, over any transport that carries APDUs
// (PC/SC in the field, the in-process card application in unit tests).
//
//   GET UID -> SELECT citycard -> READ DATA -> INTERNAL AUTHENTICATE -> verify
#pragma once

#include <cstdint>

#include "bytes.h"
#include "citycard/ids.h"
#include "citycard/status.h"
#include "cryptogram.h"

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
  TapProof proof;            // record, counter, challenge, cryptogram
  std::uint32_t atc_before = 0;   // the counter READ DATA reported
  // ok if the card proved it holds its diversified key; refused otherwise
  // (a clone: right UID, wrong or no key).
  Status genuine;
};

// Runs the exchange for tap (its id must be reserved first: the cryptogram
// covers it). Errors: unavailable = card lost mid-exchange; not_found = not a
// citycard (SELECT refused); corruption = a malformed answer from the card.
// A card that answers well-formed but fails authentication is a readout with
// genuine = refused, so the reader can say which card was refused.
Result<CardReadout> run_reader_session(CardTransport& transport, const MasterKey& master, TapId tap,
                                       const Challenge& challenge);

// A fresh random reader challenge (OpenSSL RAND_bytes); io_error if the RNG fails.
Result<Challenge> make_challenge();

}  // namespace citycard::card
