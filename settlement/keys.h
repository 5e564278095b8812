// The settlement keys and what they do: sign batch files, hash card ids.
//
// A key directory holds three files, made by generate_keys() or by hand:
//   settlement.key  Ed25519 private key, PKCS#8 PEM   (openssl genpkey -algorithm ed25519)
//   settlement.pub  its public key, SubjectPublicKeyInfo PEM  (openssl pkey -pubout)
//   token.key       64 hex digits + LF: the card token key  (openssl rand -hex 32)
// The clearing house gets settlement.pub only. Ed25519 signatures are
// deterministic, so a regenerated file gets the same signature bytes.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "citycard/ids.h"
#include "citycard/status.h"

namespace citycard::settlement {

// Writes a fresh key set into `dir` (created if missing); already_exists when
// any of the three files is there, so keys are never overwritten by accident.
Status generate_keys(const std::string& dir);

// Card tokens: the first 16 bytes of HMAC-SHA256(token key, card id bytes), as
// 32 upper-case hex digits. The inner and outer hash states are computed once,
// so a token costs two SHA-256 compressions of a short input. Not thread-safe.
class TokenHasher {
 public:
  explicit TokenHasher(const std::array<std::uint8_t, 32>& key);
  ~TokenHasher();
  TokenHasher(const TokenHasher&) = delete;
  TokenHasher& operator=(const TokenHasher&) = delete;
  std::string token(const CardId& card) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A loaded key set. Move-only; owns OpenSSL key objects.
class SettlementKeys {
 public:
  // Loads `dir`; the private key and token key are required unless
  // `public_only`, which loads settlement.pub alone (verification).
  static Result<SettlementKeys> load(const std::string& dir, bool public_only = false);
  SettlementKeys(SettlementKeys&&) noexcept;
  SettlementKeys& operator=(SettlementKeys&&) noexcept;
  ~SettlementKeys();

  bool can_sign() const;
  // 16 hex digits naming the signing key (SHA-256 of its raw public key) and
  // the token key (SHA-256 of the key), written in file headers.
  const std::string& signing_key_id() const;
  const std::string& token_key_id() const;
  const TokenHasher& tokens() const;

  // A 64-byte Ed25519 signature over the whole file at `path`.
  Result<std::string> sign_file(const std::string& path) const;
  // ok when `signature` is a valid signature of the file by this key set's public key.
  Status verify_file(const std::string& path, const std::string& signature) const;

 private:
  struct Impl;
  explicit SettlementKeys(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Lower-case hex SHA-256 of a file's bytes, read in 1 MiB pieces.
Result<std::string> sha256_file_hex(const std::string& path);
std::string to_hex_lower(const std::uint8_t* data, std::size_t size);

}  // namespace citycard::settlement
