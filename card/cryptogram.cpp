#include "cryptogram.h"

#include <fmt/format.h>

#include <algorithm>

#include "citycard/coding.h"

namespace citycard::card {

Bytes cryptogram_input(const CardData& record, std::uint32_t atc, const Challenge& challenge, const Tap& tap) {
  Bytes input{'C', 'C', 'T', '2'};
  input.reserve(mac_input_bytes);
  Bytes encoded = encode_record(record);
  input.insert(input.end(), encoded.begin(), encoded.end());
  coding::put_be<std::uint32_t>(input, atc);
  Bytes transaction = encode_transaction(challenge, tap);
  input.insert(input.end(), transaction.begin(), transaction.end());
  return input;
}

Result<Block> compute_cryptogram(const CardKey& key, const CardData& record, std::uint32_t atc,
                                 const Challenge& challenge, const Tap& tap, CmacContext* context) {
  Bytes input = cryptogram_input(record, atc, challenge, tap);
  if (context != nullptr) return context->mac(key.bytes, input);
  return aes_cmac(key.bytes, input);
}

Status verify_tap_proof(const CardKey& key, const Tap& tap, const TapProof& proof, CmacContext* context) {
  const std::string card = proof.record.card_id.to_string();
  if (proof.record.card_id.empty()) return Status::refused("tap proof names no card");
  if (!(proof.record.card_id == tap.card)) {
    return Status::refused(fmt::format("tap for card {} carries the proof of card {}", tap.card.to_string(), card));
  }
  if (proof.record.media != tap.media) {
    return Status::refused(fmt::format("tap for card {} names media {}, the card says {}", card, media_name(tap.media),
                                       media_name(proof.record.media)));
  }
  auto expected = compute_cryptogram(key, proof.record, proof.atc, proof.challenge, tap, context);
  if (!expected) return expected.status();
  if (!equal_in_constant_time(*expected, proof.cryptogram)) {
    return Status::refused(fmt::format("card {} is not genuine or the tap was altered: cryptogram does not verify", card));
  }
  return Status::ok();
}

Status verify_tap_proof(CardKeySource& keys, const Tap& tap, const TapProof& proof, CmacContext* context) {
  if (proof.record.card_id.empty()) return Status::refused("tap proof names no card");
  auto key = keys.card_key(proof.record.key_version, proof.record.card_id);
  if (!key) return key.status();
  return verify_tap_proof(*key, tap, proof, context);
}

Bytes encode_proof(const TapProof& proof) {
  Bytes out = encode_record(proof.record);
  coding::put_be<std::uint32_t>(out, proof.atc);
  out.insert(out.end(), proof.challenge.begin(), proof.challenge.end());
  out.insert(out.end(), proof.cryptogram.begin(), proof.cryptogram.end());
  return out;
}

Result<TapProof> decode_proof(ByteView bytes) {
  if (bytes.size() != proof_bytes) {
    return Status::invalid_argument(fmt::format("tap proof has {} bytes, expected {}", bytes.size(), proof_bytes));
  }
  auto record = decode_record(bytes.subspan(0, record_bytes));
  if (!record) return Status::invalid_argument("tap proof: " + record.status().message());
  TapProof proof;
  proof.record = *record;
  proof.atc = coding::load_be<std::uint32_t>(&bytes[record_bytes]);
  std::copy_n(&bytes[record_bytes + 4], challenge_bytes, proof.challenge.begin());
  std::copy_n(&bytes[record_bytes + 4 + challenge_bytes], 16, proof.cryptogram.begin());
  return proof;
}

}  // namespace citycard::card
