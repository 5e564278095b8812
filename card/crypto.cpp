#include "crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <memory>

#include "card_protocol.h"

namespace citycard::card {
namespace {

struct MacDeleter {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct MacContextDeleter {
  void operator()(EVP_MAC_CTX* context) const { EVP_MAC_CTX_free(context); }
};

}  // namespace

struct CmacContext::State {
  std::unique_ptr<EVP_MAC, MacDeleter> mac;
  std::unique_ptr<EVP_MAC_CTX, MacContextDeleter> context;
  bool cipher_set = false;
  bool keyed = false;
  bool fresh = false;
};

Result<Block> aes_cmac(const Block& key, ByteView data) {
  std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "CMAC", nullptr));
  if (!mac) return Status::io_error("OpenSSL has no CMAC implementation");
  std::unique_ptr<EVP_MAC_CTX, MacContextDeleter> context(EVP_MAC_CTX_new(mac.get()));
  if (!context) return Status::io_error("EVP_MAC_CTX_new failed");
  char cipher[] = "AES-128-CBC";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0), OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(context.get(), key.data(), key.size(), params) != 1) return Status::io_error("EVP_MAC_init(CMAC) failed");
  if (EVP_MAC_update(context.get(), data.data(), data.size()) != 1) return Status::io_error("EVP_MAC_update failed");
  Block out{};
  std::size_t length = 0;
  if (EVP_MAC_final(context.get(), out.data(), &length, out.size()) != 1 || length != out.size()) {
    return Status::io_error("EVP_MAC_final failed");
  }
  return out;
}

CmacContext::CmacContext() : state_(std::make_unique<State>()) {
  state_->mac.reset(EVP_MAC_fetch(nullptr, "CMAC", nullptr));
  if (state_->mac) state_->context.reset(EVP_MAC_CTX_new(state_->mac.get()));
}

CmacContext::~CmacContext() = default;

Status CmacContext::use_key(const Block& key) {
  if (!state_->context) return Status::io_error("OpenSSL has no CMAC implementation");
  char cipher[] = "AES-128-CBC";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0), OSSL_PARAM_construct_end()};
  // The cipher is named once: naming it again would fetch it again, which
  // costs more than the CMAC of a tap.
  if (EVP_MAC_init(state_->context.get(), key.data(), key.size(), state_->cipher_set ? nullptr : params) != 1) {
    state_->keyed = false;
    return Status::io_error("EVP_MAC_init(CMAC) failed");
  }
  state_->cipher_set = true;
  state_->keyed = true;
  state_->fresh = true;
  return Status::ok();
}

Result<Block> CmacContext::mac(ByteView data) {
  if (!state_->keyed) return Status::io_error("CMAC context has no key");
  // A fresh key is ready; after a MAC, init without a key restarts from the
  // kept key schedule.
  if (!state_->fresh && EVP_MAC_init(state_->context.get(), nullptr, 0, nullptr) != 1) {
    return Status::io_error("EVP_MAC_init(CMAC) failed");
  }
  state_->fresh = false;
  if (EVP_MAC_update(state_->context.get(), data.data(), data.size()) != 1) return Status::io_error("EVP_MAC_update failed");
  Block out{};
  std::size_t length = 0;
  if (EVP_MAC_final(state_->context.get(), out.data(), &length, out.size()) != 1 || length != out.size()) {
    return Status::io_error("EVP_MAC_final failed");
  }
  return out;
}

Result<Block> CmacContext::mac(const Block& key, ByteView data) {
  if (Status keyed = use_key(key); !keyed) return keyed;
  return mac(data);
}

Bytes diversification_input(const CardId& card_id) {
  Bytes input(card_id.data(), card_id.data() + card_id.size());
  input.insert(input.end(), application_id.begin(), application_id.end());
  return input;
}

CardKey diversify_card_key(const MasterKey& master, const CardId& card_id) {
  auto mac = aes_cmac(master.bytes, diversification_input(card_id));
  // AES-128 CMAC with a 16-byte key cannot fail short of OpenSSL being broken
  // or unloadable; that is a programmer/installation error, not an input one.
  assert(mac.has_value());
  return CardKey{mac.has_value() ? *mac : Block{}};
}

Result<CardKey> MasterKeySource::card_key(std::uint8_t key_version, const CardId& card_id) {
  auto found = masters_.find(key_version);
  if (found == masters_.end()) return Status::not_found(fmt::format("no master key of version {}", key_version));
  auto mac = aes_cmac(found->second.bytes, diversification_input(card_id));
  if (!mac) return mac.status();
  return CardKey{*mac};
}

Result<Block> parse_key_hex(std::string_view hex) {
  auto bytes = parse_hex(hex);
  if (!bytes || bytes->size() != 16) return Status::invalid_argument("an AES-128 key is 32 hex digits");
  Block key{};
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

bool equal_in_constant_time(const Block& a, const Block& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace citycard::card
