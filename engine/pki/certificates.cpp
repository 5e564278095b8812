// Keys and X.509 certificates: EC P-256 keys, SHA-256 signatures, v3
// extensions written in openssl.cnf syntax so they read like `openssl x509 -text`.
#include <openssl/rand.h>

#include <charconv>

#include "engine/pki/internal.h"

namespace citycard::pki {

std::filesystem::path Paths::reader_key(ReaderId reader) const {
  return dir / "readers" / ("reader-" + std::to_string(reader.value) + ".key");
}
std::filesystem::path Paths::reader_certificate(ReaderId reader) const {
  return dir / "readers" / ("reader-" + std::to_string(reader.value) + ".crt");
}

namespace {
constexpr std::string_view reader_uri_prefix = "citycard:reader:";
}

std::string reader_uri(ReaderId reader) { return std::string(reader_uri_prefix) + std::to_string(reader.value); }

std::optional<ReaderId> parse_reader_uri(std::string_view uri) {
  if (!uri.starts_with(reader_uri_prefix)) return std::nullopt;
  std::string_view digits = uri.substr(reader_uri_prefix.size());
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  std::uint32_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return ReaderId{value};
}

std::optional<ReaderId> reader_id_of(const x509_st* certificate) {
  if (certificate == nullptr) return std::nullopt;
  GeneralNamesHandle names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return std::nullopt;
  std::optional<ReaderId> found;
  int count = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* text = name->d.uniformResourceIdentifier;
    std::string_view uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                         static_cast<std::size_t>(ASN1_STRING_length(text)));
    if (!uri.starts_with(reader_uri_prefix)) continue;
    ++count;
    found = parse_reader_uri(uri);
  }
  // Two reader URIs would make the identity ambiguous: trust neither.
  if (count != 1) return std::nullopt;
  return found;
}

namespace internal {

Result<KeyHandle> new_key() {
  KeyHandle key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return Status::io_error(openssl_error("cannot generate an EC P-256 key"));
  return key;
}

namespace {

Status set_random_serial(X509* certificate) {
  // 127 random bits: unique without a serial file, and always positive.
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Status::io_error(openssl_error("no randomness for a serial"));
  bytes[0] &= 0x7F;
  BignumHandle number(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!number || !BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(certificate))) {
    return Status::io_error(openssl_error("cannot set a serial number"));
  }
  return Status::ok();
}

Status add_extension(X509* certificate, X509V3_CTX* context, const std::string& line) {
  auto equals = line.find('=');
  std::string name = line.substr(0, equals);
  std::string value = line.substr(equals + 1);
  ExtensionHandle extension(X509V3_EXT_nconf(nullptr, context, name.c_str(), value.c_str()));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    return Status::io_error(openssl_error("cannot add extension " + line));
  }
  return Status::ok();
}

}  // namespace

Result<CertificateHandle> sign_certificate(const CertificateRequest& request, EVP_PKEY* key, X509* issuer,
                                           EVP_PKEY* issuer_key) {
  CertificateHandle certificate(X509_new());
  if (!certificate || X509_set_version(certificate.get(), 2) != 1) {
    return Status::io_error(openssl_error("cannot create a certificate"));
  }
  if (Status status = set_random_serial(certificate.get()); !status) return status;
  long start = static_cast<long>(request.validity.starts_in.count());
  long end = start + static_cast<long>(request.validity.lifetime.count());
  X509_NAME* subject = X509_get_subject_name(certificate.get());
  bool ok = X509_gmtime_adj(X509_getm_notBefore(certificate.get()), start) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(certificate.get()), end) != nullptr &&
            X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>("citycard"), -1, -1, 0) == 1 &&
            X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>(request.common_name.c_str()), -1, -1,
                                       0) == 1 &&
            X509_set_issuer_name(certificate.get(), issuer ? X509_get_subject_name(issuer) : subject) == 1 &&
            X509_set_pubkey(certificate.get(), key) == 1;
  if (!ok) return Status::io_error(openssl_error("cannot fill in certificate " + request.common_name));
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer ? issuer : certificate.get(), certificate.get(), nullptr, nullptr, 0);
  for (const std::string& line : request.extensions) {
    if (Status status = add_extension(certificate.get(), &context, line); !status) return status;
  }
  if (X509_sign(certificate.get(), issuer_key, EVP_sha256()) <= 0) {
    return Status::io_error(openssl_error("cannot sign certificate " + request.common_name));
  }
  return certificate;
}

}  // namespace internal
}  // namespace citycard::pki
