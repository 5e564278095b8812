// The tap cryptogram: the card's proof that it holds its diversified key,
// bound to one whole transaction. The reader checks it before admitting a
// rider; the reader forwards it with the tap and the engine re-checks it
// with verify_tap_proof() against the Tap it is asked to rate.
//
// mac_input  := "CCT2" record:22 atc:u32 transaction:58                          -- 88 bytes
// transaction:= challenge:16 reader_id:u32 sequence:u64 mode:u8 operator:u32
//               route:u32 location:u32 amount_minor:i64 event_time_us:i64 offline:u8
// cryptogram := AES-CMAC(card_key, mac_input)
// proof      := record:22 atc:u32 challenge:16 cryptogram:16                    -- 58 bytes on the wire
//
// The proof does not repeat the transaction: the verifier takes it from the
// Tap itself, so changing any field of the tap after the card signed (mode,
// operator, route, location, amount, event time, offline flag, the tap id)
// makes the cryptogram fail. The card id and media are in the signed record
// and must equal the tap's. The counter (atc) never repeats on a card, so the
// engine refuses a (card, atc) it has already accepted.
#pragma once

#include <cstdint>

#include "bytes.h"
#include "card_protocol.h"
#include "citycard/ids.h"
#include "citycard/status.h"
#include "citycard/tap.h"
#include "crypto.h"

namespace citycard::card {

inline constexpr std::size_t proof_bytes = record_bytes + 4 + challenge_bytes + 16;
inline constexpr std::size_t mac_input_bytes = 4 + record_bytes + 4 + transaction_bytes;
static_assert(proof_bytes == 58);
static_assert(mac_input_bytes == 88);

struct TapProof {
  CardData record;            // as the card reported it; covered by the cryptogram
  std::uint32_t atc = 0;        // the card's transaction counter after this authentication
  Challenge challenge{};        // chosen by the reader, fresh per authentication
  Block cryptogram{};

  bool operator==(const TapProof&) const = default;
};

Bytes cryptogram_input(const CardData& record, std::uint32_t atc, const Challenge& challenge, const Tap& tap);

// What the card computes (and the verifier recomputes). tap.card and
// tap.media are not read (they are in the record). context: reuse one to
// skip OpenSSL's fetch and allocation per MAC (nullptr: a fresh one).
Result<Block> compute_cryptogram(const CardKey& key, const CardData& record, std::uint32_t atc,
                                 const Challenge& challenge, const Tap& tap, CmacContext* context = nullptr);

// ok if the proof was made for exactly this tap by the card the tap names:
// tap.card and tap.media equal the record's, and the cryptogram verifies
// under `key` (the card key of proof.record.card_id, key version
// proof.record.key_version). refused (naming the card and what failed)
// otherwise; io_error if OpenSSL failed. The counter is the caller's to check.
Status verify_tap_proof(const CardKey& key, const Tap& tap, const TapProof& proof, CmacContext* context = nullptr);
// The same with the card key taken from `keys` (its errors are returned as they are).
Status verify_tap_proof(CardKeySource& keys, const Tap& tap, const TapProof& proof, CmacContext* context = nullptr);

Bytes encode_proof(const TapProof& proof);
Result<TapProof> decode_proof(ByteView bytes);

}  // namespace citycard::card
