#include "audit_chain.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <cstring>

#include "citycard/coding.h"

namespace citycard::ledger {
namespace {

constexpr std::string_view hash_domain = "citycard-audit/1";

std::string hashed_fields(std::uint64_t number, const AuditHash& prev_hash, std::string_view key, std::string_view body) {
  std::string out;
  out.reserve(8 + 32 + 8 + key.size() + body.size());
  coding::put_be<std::uint64_t>(out, number);
  out.append(reinterpret_cast<const char*>(prev_hash.data()), prev_hash.size());
  coding::put_le<std::uint32_t>(out, static_cast<std::uint32_t>(key.size()));
  out.append(key);
  coding::put_le<std::uint32_t>(out, static_cast<std::uint32_t>(body.size()));
  out.append(body);
  return out;
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
  coding::Reader in(value);
  AuditLink link;
  link.number = in.be<std::uint64_t>();
  in.copy(link.prev_hash.data(), link.prev_hash.size());
  link.key.assign(in.chars(in.le<std::uint32_t>()));
  link.body.assign(in.chars(in.le<std::uint32_t>()));
  in.copy(link.hash.data(), link.hash.size());
  if (!in.ok() || !in.at_end()) return std::nullopt;
  return link;
}

std::string audit_chain_key(std::uint64_t number) {
  std::string key;
  coding::put_be<std::uint64_t>(key, number);
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
