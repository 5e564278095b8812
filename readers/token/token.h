// Master keys in a PKCS#11 token: a SAM in a reader, an HSM at the engine,
// SoftHSM2 (Debian's softhsm2) here. The token holds the citycard master keys
// by version, as AES-128 secret keys labelled master_key_label(N)
// ("citycard-master-v1", ...), sensitive and not extractable: their value
// never leaves the token. Everything done with them is CKM_AES_CMAC inside it.
//
// The module is loaded with dlopen and C_GetFunctionList (no link-time
// dependency), initialised with CKF_OS_LOCKING_OK, and the token is found by
// its label among the slots with a token (slot ids are not stable). The user
// PIN comes from a file with no group or other permission bits, or from an
// environment variable; never from a command line.
//
// Thread-safe: one session, used under a mutex (a CMAC takes ~55 us in
// SoftHSM2, so callers derive a card key once and keep it). A session found
// closed or invalid is reopened (and logged in) once per call; a call that
// still fails returns unavailable, never a zero key or MAC.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "card/bytes.h"
#include "card/crypto.h"
#include "citycard/status.h"

namespace citycard::token {

struct TokenOptions {
  std::string module_path = "/usr/lib/softhsm/libsofthsm2.so";  // the PKCS#11 module; default SoftHSM2's
  std::string token_label = "citycard";                         // the token's label; default "citycard"
  std::string pin_file;        // user PIN in a file of mode 0600 (or stricter); or
  std::string pin_env;         // the name of an environment variable holding it
  // SoftHSM2 only: its configuration file, put in SOFTHSM2_CONF before the
  // module is initialised. Empty: the environment's (or SoftHSM2's default).
  // SoftHSM2 reads it when the module is initialised, once while any token
  // of the process is open: tokens open at the same time share one config.
  std::string softhsm2_conf;
};

// "citycard-master-v<version>"
std::string master_key_label(std::uint8_t version);

struct MasterKeyInfo {
  std::uint8_t version = 0;
  std::string label;
  bool sensitive = false;
  bool extractable = true;
};

// The user PIN from options.pin_file (refused if group or others may read or
// write it) or options.pin_env; invalid_argument naming what is wrong.
Result<std::string> read_pin(const TokenOptions& options);

class Module;

class Token {
 public:
  // Loads the module, finds the token by label and logs in. not_found: no
  // token with that label; invalid_argument: a bad PIN source; unavailable:
  // the module or the token failed (the PKCS#11 return value is named).
  static Result<std::shared_ptr<Token>> open(const TokenOptions& options);
  ~Token();
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;

  // AES-CMAC of data under master key `version`, inside the token. not_found
  // if the token has no such key; unavailable if the token failed.
  Result<card::Block> cmac(std::uint8_t version, card::ByteView data);
  // The same, for background work: waits while a cmac() caller wants the
  // session. A mutex is not fair: a loop of background calls re-taking it
  // at once starved a shard waiting for one key (a closed loop decided
  // nothing for 10 s). Now a foreground call waits at most one MAC.
  Result<card::Block> cmac_when_idle(std::uint8_t version, card::ByteView data);
  // C_GenerateKey (CKM_AES_KEY_GEN, 16 bytes) in the token: sensitive, not
  // extractable, sign/verify only. already_exists if that version exists.
  Status generate_master_key(std::uint8_t version);
  // Imports a known key value, with the same attributes. For test vectors
  // and benches only; production keys are generated inside the token.
  Status import_master_key(std::uint8_t version, const card::Block& value);
  // Every citycard master key in the token, by version.
  Result<std::vector<MasterKeyInfo>> list_master_keys();
  // ok only if C_GetAttributeValue(CKA_VALUE) of the key returned its value;
  // refused (with the PKCS#11 code) when the token withholds it, as it must.
  Status read_key_value(std::uint8_t version, card::Block& out);
  // Closes the session under the token's feet (tests of the reopen path).
  void drop_session_for_test();

  struct State;

 private:
  explicit Token(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The card keys of a token's master keys: card_key(v, id) =
// AES-CMAC(master v, id || AID), computed in the token. Thread-safe.
class TokenKeySource final : public card::CardKeySource {
 public:
  explicit TokenKeySource(std::shared_ptr<Token> token) : token_(std::move(token)) {}
  Result<card::CardKey> card_key(std::uint8_t key_version, const CardId& card_id) override;
  Result<card::CardKey> card_key_when_idle(std::uint8_t key_version, const CardId& card_id) override;
  Token& token() { return *token_; }

 private:
  std::shared_ptr<Token> token_;
};

}  // namespace citycard::token
