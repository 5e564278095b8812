// AES-128 CMAC (RFC 4493) through OpenSSL 3 EVP_MAC, and the citycard keys.
//
// card_key := AES-CMAC(master_key[key_version], card_id || application_id)
//
// The application id is fixed-length and last, so the variable-length card id
// cannot be shifted into it. The master keys live in a PKCS#11 token (a SAM
// in a reader, an HSM at the engine; SoftHSM2 here: readers/token/) and never
// in a file; a card holds only its own card key. MasterKey below is for test
// vectors, the emulator and the load generator's simulated cards.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "bytes.h"
#include "citycard/ids.h"
#include "citycard/status.h"

namespace citycard::card {

using Block = std::array<std::uint8_t, 16>;

// Distinct types so a master key can never be used where a card key belongs.
struct MasterKey {
  Block bytes{};
  std::uint8_t version = 1;   // matches CardData::key_version of cards issued under it
};
struct CardKey {
  Block bytes{};
  bool operator==(const CardKey&) const = default;
};

// AES-128 CMAC of data under key; io_error only if OpenSSL itself fails.
Result<Block> aes_cmac(const Block& key, ByteView data);

// A reusable CMAC context: the MAC implementation is fetched once, and a key
// set with use_key() keeps its AES key schedule for every mac() until the
// next use_key(). Cheap per MAC (no fetch, no allocation). Not thread-safe:
// one per thread (a shard, a generator).
class CmacContext {
 public:
  CmacContext();
  ~CmacContext();
  CmacContext(const CmacContext&) = delete;
  CmacContext& operator=(const CmacContext&) = delete;

  Status use_key(const Block& key);
  // The MAC of data under the key last given to use_key().
  Result<Block> mac(ByteView data);
  // use_key(key) then mac(data).
  Result<Block> mac(const Block& key, ByteView data);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// card_id || application_id: what the master key MACs into a card key.
Bytes diversification_input(const CardId& card_id);
CardKey diversify_card_key(const MasterKey& master, const CardId& card_id);

// Where a verifier gets a card's key: a PKCS#11 token (readers/token:
// TokenKeySource, derived inside the token), a table from the card bureau's
// personalisation export, or plain master keys (tests, simulations).
// not_found when there is no master key of that version; unavailable or
// io_error when the token failed. Implementations say whether they are
// thread-safe.
class CardKeySource {
 public:
  virtual ~CardKeySource() = default;
  virtual Result<CardKey> card_key(std::uint8_t key_version, const CardId& card_id) = 0;
  // For work ahead of need (key warming): a source shared under a lock lets
  // card_key() callers go first. The default is card_key().
  virtual Result<CardKey> card_key_when_idle(std::uint8_t key_version, const CardId& card_id) {
    return card_key(key_version, card_id);
  }
};

// Plain master keys by version, in memory. For tests and simulations only:
// a deployed reader or engine uses a token. Thread-safe once built.
class MasterKeySource final : public CardKeySource {
 public:
  MasterKeySource() = default;
  explicit MasterKeySource(const MasterKey& master) { add(master); }
  void add(const MasterKey& master) { masters_[master.version] = master; }
  Result<CardKey> card_key(std::uint8_t key_version, const CardId& card_id) override;

 private:
  std::map<std::uint8_t, MasterKey> masters_;
};

// 32 hex digits (spaces allowed) -> key bytes.
Result<Block> parse_key_hex(std::string_view hex);

// Constant-time comparison: a timing side channel must not reveal how many
// leading bytes of a forged cryptogram were right.
bool equal_in_constant_time(const Block& a, const Block& b);

}  // namespace citycard::card
