#include "crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <fstream>
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

CardKey diversify_card_key(const MasterKey& master, const CardId& card_id) {
  Bytes input(card_id.data(), card_id.data() + card_id.size());
  input.insert(input.end(), application_id.begin(), application_id.end());
  auto mac = aes_cmac(master.bytes, input);
  // AES-128 CMAC with a 16-byte key cannot fail short of OpenSSL being broken
  // or unloadable; that is a programmer/installation error, not an input one.
  assert(mac.has_value());
  return CardKey{mac.has_value() ? *mac : Block{}};
}

Result<Block> parse_key_hex(std::string_view hex) {
  auto bytes = parse_hex(hex);
  if (!bytes || bytes->size() != 16) return Status::invalid_argument("an AES-128 key is 32 hex digits");
  Block key{};
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

Result<MasterKey> load_master_key(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::io_error(fmt::format("cannot read master key file {}", path));
  std::string line;
  std::getline(in, line);
  auto key = parse_key_hex(line);
  if (!key) return Status::invalid_argument(fmt::format("{}: {}", path, key.status().message()));
  MasterKey master{*key, 1};
  std::string word;
  unsigned version = 0;
  if (in >> word >> version) {
    if (word != "version" || version < 1 || version > 255) {
      return Status::invalid_argument(fmt::format("{}: second line must be 'version N' with N in 1..255", path));
    }
    master.version = static_cast<std::uint8_t>(version);
  }
  return master;
}

bool equal_in_constant_time(const Block& a, const Block& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace citycard::card
