#include "audit_chain.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <cstring>

#include "encoding.h"

namespace citycard::ledger {
namespace {

constexpr std::string_view hash_domain = "citycard-audit/1";

void put_u32(std::string& out, std::uint32_t value) { encoding::put_le<std::uint32_t>(out, value); }

std::string hashed_fields(std::uint64_t number, const AuditHash& prev_hash, std::string_view key, std::string_view body) {
  std::string out;
  out.reserve(8 + 32 + 8 + key.size() + body.size());
  encoding::put_be64(out, number);
  out.append(reinterpret_cast<const char*>(prev_hash.data()), prev_hash.size());
  put_u32(out, static_cast<std::uint32_t>(key.size()));
  out.append(key);
  put_u32(out, static_cast<std::uint32_t>(body.size()));
  out.append(body);
  return out;
}

std::uint32_t get_u32(std::string_view in, std::size_t at) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<std::uint8_t>(in[at + static_cast<std::size_t>(i)]);
  return value;
}

}  // namespace

AuditHash audit_link_hash(std::uint64_t number, const AuditHash& prev_hash, std::string_view key, std::string_view body) {
  std::string fields = hashed_fields(number, prev_hash, key, body);
  AuditHash hash{};
  unsigned int size = 0;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  bool ok = context != nullptr && EVP_DigestInit_ex(context, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(context, hash_domain.data(), hash_domain.size()) == 1 &&
            EVP_DigestUpdate(context, fields.data(), fields.size()) == 1 &&
            EVP_DigestFinal_ex(context, hash.data(), &size) == 1 && size == hash.size();
  EVP_MD_CTX_free(context);
  if (!ok) std::abort();  // SHA-256 from libcrypto does not fail; if it did, no link may be written
  return hash;
}

AuditLink make_audit_link(std::uint64_t number, const AuditHash& prev_hash, std::string key, std::string body) {
  AuditLink link{number, prev_hash, std::move(key), std::move(body), {}};
  link.hash = audit_link_hash(link.number, link.prev_hash, link.key, link.body);
  return link;
}

std::string encode_audit_link(const AuditLink& link) {
  std::string out = hashed_fields(link.number, link.prev_hash, link.key, link.body);
  out.append(reinterpret_cast<const char*>(link.hash.data()), link.hash.size());
  return out;
}

std::optional<AuditLink> decode_audit_link(std::string_view value) {
  AuditLink link;
  std::size_t at = 0;
  auto need = [&](std::size_t bytes) { return value.size() - at >= bytes; };
  if (!need(8 + 32 + 4)) return std::nullopt;
  link.number = encoding::get_be64(value.data());
  std::memcpy(link.prev_hash.data(), value.data() + 8, 32);
  at = 40;
  std::uint32_t key_size = get_u32(value, at);
  at += 4;
  if (!need(key_size)) return std::nullopt;
  link.key.assign(value.substr(at, key_size));
  at += key_size;
  if (!need(4)) return std::nullopt;
  std::uint32_t body_size = get_u32(value, at);
  at += 4;
  if (!need(body_size)) return std::nullopt;
  link.body.assign(value.substr(at, body_size));
  at += body_size;
  if (value.size() - at != 32) return std::nullopt;
  std::memcpy(link.hash.data(), value.data() + at, 32);
  return link;
}

std::string audit_chain_key(std::uint64_t number) {
  std::string key;
  encoding::put_be64(key, number);
  return key;
}

std::string audit_hash_hex(const AuditHash& hash) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t byte : hash) {
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 15]);
  }
  return out;
}

}  // namespace citycard::ledger
