// The tap cryptogram: the card's proof that it holds its diversified key,
// bound to one tap. The reader checks it before admitting a rider; the reader
// forwards it with the tap and the engine re-checks it with verify_tap_proof().
//
// mac_input  := "CCT1" record:22 atc:u32 challenge:16 reader_id:u32 sequence:u64   -- 58 bytes
// cryptogram := AES-CMAC(card_key, mac_input)
// proof      := record:22 atc:u32 challenge:16 cryptogram:16                       -- 58 bytes on the wire
//
// Binding the reader id and sequence means a recorded proof cannot be
// attached to another tap; the card's counter (atc) only ever grows, so the
// engine can refuse a proof whose counter it has already seen for that card.
#pragma once

#include <cstdint>

#include "bytes.h"
#include "card_protocol.h"
#include "citycard/ids.h"
#include "citycard/status.h"
#include "crypto.h"

namespace citycard::card {

inline constexpr std::size_t proof_bytes = record_bytes + 4 + challenge_bytes + 16;
static_assert(proof_bytes == 58);

struct TapProof {
  CardData record;            // as the card reported it; covered by the cryptogram
  std::uint32_t atc = 0;        // the card's transaction counter after this authentication
  Challenge challenge{};        // chosen by the reader, fresh per tap
  Block cryptogram{};

  bool operator==(const TapProof&) const = default;
};

// What the card computes (and the verifier recomputes).
Block compute_cryptogram(const CardKey& key, const CardData& record, std::uint32_t atc, const Challenge& challenge,
                         TapId tap);

// ok if the proof was made by the card whose id is in proof.record, under the
// key diversified from master, for exactly this tap. refused (with the card id
// and the reason) otherwise. The engine additionally checks that
// tap.card == proof.record.card_id and that atc grew since the card's last tap.
Status verify_tap_proof(const MasterKey& master, TapId tap, const TapProof& proof);

Bytes encode_proof(const TapProof& proof);
Result<TapProof> decode_proof(ByteView bytes);

}  // namespace citycard::card
