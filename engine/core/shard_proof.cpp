// The card's proof of a tap: decoded from the tap record, checked against
// the whole tap with the card's key (derived through the key source on the
// card's first proof, cached in the card entry), and its counter checked for
// reuse. Internal to engine/core.
#include "card/cryptogram.h"
#include "shard.h"

namespace citycard::engine {

std::optional<RefusalReason> Shard::check_proof(const Item& item, CardEntry& entry, std::optional<std::uint32_t>& atc) {
  const Tap& tap = item.tap.tap;
  const protocol::Cryptogram& cryptogram = item.tap.cryptogram;
  if (!context_.options.card_keys) return std::nullopt;   // proofs not checked (require_card_proof is off)
  if (cryptogram.size == 0) {
    if (context_.options.require_card_proof) return RefusalReason::card_not_genuine;
    return std::nullopt;
  }
  auto refuse = [&](const char* why, const std::string& detail) -> std::optional<RefusalReason> {
    context_.log.event("card_proof_refused", {{"tap", IdempotencyKey::for_tap(tap.id).to_string()},
                                              {"card", tap.card.to_string()}, {"why", why}, {"detail", detail}});
    return RefusalReason::card_not_genuine;
  };
  auto proof = card::decode_proof(card::ByteView(cryptogram.bytes.data(), cryptogram.size));
  if (!proof) return refuse("malformed", proof.status().message());
  const std::uint8_t version = proof->record.key_version;
  if (version == 0) return refuse("key_version", "key version 0");
  if (entry.key_version != version) {
    // A token call (~55 us in SoftHSM2) once per card and key version; the
    // key stays in this shard's memory only.
    auto key = context_.options.card_keys->card_key(version, tap.card);
    if (!key) {
      const bool unknown = key.status().code() == StatusCode::not_found;
      return refuse(unknown ? "key_version_unknown" : "key_source_failed", key.status().to_string());
    }
    entry.key = *key;
    entry.key_version = version;
  }
  Status verified = card::verify_tap_proof(entry.key, tap, *proof, &cmac_);
  if (!verified) return refuse("cryptogram", verified.message());
  switch (entry.atc.check(proof->atc)) {
    case AtcWindow::Verdict::fresh: break;
    case AtcWindow::Verdict::replayed: return refuse("counter_replayed", std::to_string(proof->atc));
    case AtcWindow::Verdict::below_window:
      return refuse("counter_below_window", std::to_string(proof->atc) + " <= " + std::to_string(entry.atc.highest()) +
                                                " - " + std::to_string(AtcWindow::window_counters));
  }
  atc = proof->atc;
  return std::nullopt;
}

}  // namespace citycard::engine
