#include "cryptogram.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

namespace citycard::card {

Block compute_cryptogram(const CardKey& key, const CardData& record, std::uint32_t atc, const Challenge& challenge,
                         TapId tap) {
  Bytes input{'C', 'C', 'T', '1'};
  Bytes encoded = encode_record(record);
  input.insert(input.end(), encoded.begin(), encoded.end());
  put_u32(input, atc);
  input.insert(input.end(), challenge.begin(), challenge.end());
  put_u32(input, tap.reader.value);
  put_u64(input, tap.sequence);
  auto mac = aes_cmac(key.bytes, input);
  assert(mac.has_value() && "AES-128 CMAC failed inside OpenSSL");
  return mac.has_value() ? *mac : Block{};
}

Status verify_tap_proof(const MasterKey& master, TapId tap, const TapProof& proof) {
  const std::string card = proof.record.card_id.to_string();
  if (proof.record.card_id.empty()) return Status::refused("tap proof names no card");
  if (proof.record.key_version != master.version) {
    return Status::refused(fmt::format("card {} uses key version {}, this verifier holds version {}", card,
                                       proof.record.key_version, master.version));
  }
  CardKey key = diversify_card_key(master, proof.record.card_id);
  Block expected = compute_cryptogram(key, proof.record, proof.atc, proof.challenge, tap);
  if (!equal_in_constant_time(expected, proof.cryptogram)) {
    return Status::refused(fmt::format("card {} is not genuine: cryptogram does not verify", card));
  }
  return Status::ok();
}

Bytes encode_proof(const TapProof& proof) {
  Bytes out = encode_record(proof.record);
  put_u32(out, proof.atc);
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
  proof.atc = get_u32(&bytes[record_bytes]);
  std::copy_n(&bytes[record_bytes + 4], challenge_bytes, proof.challenge.begin());
  std::copy_n(&bytes[record_bytes + 4 + challenge_bytes], 16, proof.cryptogram.begin());
  return proof;
}

}  // namespace citycard::card
