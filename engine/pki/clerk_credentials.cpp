#include "engine/pki/clerk_credentials.h"

#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cstdlib>

#include "engine/pki/internal.h"

namespace citycard::pki {
namespace {

using internal::FileMode;
constexpr std::string_view clerk_uri_prefix = "citycard:clerk:";
// What is signed: a domain label, so a signature made here means nothing elsewhere.
constexpr std::string_view challenge_domain = "citycard-clerk-sign-in/1:";

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int high = nibble(hex[i]);
    int low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
  }
  return out;
}

// The clerk a certificate names: its single citycard:clerk URI, and no reader URI.
std::optional<Clerk> clerk_of(const X509* certificate) {
  GeneralNamesHandle names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return std::nullopt;
  std::optional<Clerk> found;
  int count = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* text = name->d.uniformResourceIdentifier;
    std::string_view uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)), static_cast<std::size_t>(ASN1_STRING_length(text)));
    if (!uri.starts_with("citycard:")) continue;
    ++count;
    if (!uri.starts_with(clerk_uri_prefix)) continue;
    std::string_view rest = uri.substr(clerk_uri_prefix.size());
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) continue;
    auto role = parse_clerk_role(rest.substr(0, colon));
    std::string_view clerk_name = rest.substr(colon + 1);
    if (!role || !valid_clerk_name(clerk_name)) continue;
    found = Clerk{std::string(clerk_name), *role};
  }
  if (count != 1) return std::nullopt;  // a reader's URI, or two identities: trust none
  return found;
}

Result<CertificateHandle> certificate_from_pem(const std::string& pem) {
  BioHandle bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  CertificateHandle certificate(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!certificate) return Status::refused(openssl_error("the clerk's certificate is not a PEM certificate"));
  return certificate;
}

std::string message(std::string_view challenge) { return std::string(challenge_domain) + std::string(challenge); }

}  // namespace

std::filesystem::path clerk_certificate_path(const std::filesystem::path& dir, std::string_view name) {
  return dir / "clerks" / (std::string(name) + ".crt");
}
std::filesystem::path clerk_key_path(const std::filesystem::path& dir, std::string_view name) {
  return dir / "clerks" / (std::string(name) + ".key");
}
std::string clerk_uri(const Clerk& clerk) {
  return std::string(clerk_uri_prefix) + std::string(clerk_role_name(clerk.role)) + ":" + clerk.name;
}

Status issue_clerk(const std::filesystem::path& dir, const Clerk& clerk, Validity validity) {
  if (!valid_clerk_name(clerk.name)) {
    return Status::invalid_argument("'" + clerk.name + "' is not a clerk name (1 to 32 of a-z 0-9 . _ -, starting with a letter or digit)");
  }
  Paths paths{dir};
  if (!std::filesystem::exists(paths.ca_key())) {
    return Status::not_found("no CA in " + dir.string() + " (run `citycard pki init --dir " + dir.string() + "` first)");
  }
  auto ca = internal::read_certificate(paths.ca_certificate());
  if (!ca) return ca.status();
  auto ca_key = internal::read_key(paths.ca_key());
  if (!ca_key) return ca_key.status();
  const auto certificate_path = clerk_certificate_path(dir, clerk.name);
  if (std::filesystem::exists(certificate_path)) {
    return Status::already_exists("clerk " + clerk.name + " already has a certificate in " + certificate_path.string());
  }
  std::error_code error;
  std::filesystem::create_directories(dir / "clerks", error);
  if (error) return Status::io_error("cannot create " + (dir / "clerks").string() + ": " + error.message());
  auto key = internal::new_key();
  if (!key) return key.status();
  internal::CertificateRequest request{
      clerk.name,
      {"basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=clientAuth",
       "subjectAltName=URI:" + clerk_uri(clerk), "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"},
      validity};
  auto certificate = internal::sign_certificate(request, key->get(), ca->get(), ca_key->get());
  if (!certificate) return certificate.status();
  auto key_text = internal::key_pem(key->get());
  if (!key_text) return key_text.status();
  auto certificate_text = internal::certificate_pem(certificate->get());
  if (!certificate_text) return certificate_text.status();
  if (Status written = internal::write_file(clerk_key_path(dir, clerk.name), *key_text, FileMode::secret); !written) return written;
  return internal::write_file(certificate_path, *certificate_text, FileMode::public_readable);
}

Status revoke_clerk(const std::filesystem::path& dir, std::string_view name, Validity validity) {
  if (!valid_clerk_name(name)) return Status::invalid_argument("'" + std::string(name) + "' is not a clerk name");
  Paths paths{dir};
  auto ca = internal::read_certificate(paths.ca_certificate());
  if (!ca) return ca.status();
  auto ca_key = internal::read_key(paths.ca_key());
  if (!ca_key) return ca_key.status();
  auto certificate = internal::read_certificate(clerk_certificate_path(dir, name));
  if (!certificate) return Status::not_found("clerk " + std::string(name) + " has no certificate in " + dir.string());
  auto lock = internal::lock_crl(paths);
  if (!lock) return lock.status();
  auto previous = internal::read_crl(paths.crl());
  if (!previous) return previous.status();
  if (auto info = internal::crl_info(previous->get(), ca->get(), paths.crl().string()); !info) return info.status();
  auto crl = internal::sign_crl(ca->get(), ca_key->get(), previous->get(), X509_get0_serialNumber(certificate->get()), validity);
  if (!crl) return crl.status();
  auto text = internal::crl_pem(crl->get());
  if (!text) return text.status();
  return internal::write_file(paths.crl(), *text, FileMode::public_readable);
}

Result<ClerkProof> sign_challenge(const std::filesystem::path& prefix, std::string_view challenge) {
  std::filesystem::path certificate_path = prefix;
  certificate_path += ".crt";
  std::filesystem::path key_path = prefix;
  key_path += ".key";
  auto certificate = internal::read_certificate(certificate_path);
  if (!certificate) return certificate.status();
  auto key = internal::read_key(key_path);
  if (!key) return key.status();
  auto pem = internal::certificate_pem(certificate->get());
  if (!pem) return pem.status();
  const std::string signed_text = message(challenge);
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  std::size_t size = 0;
  std::string signature;
  bool ok = context != nullptr && EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, key->get()) == 1 &&
            EVP_DigestSign(context, nullptr, &size, reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size()) == 1;
  if (ok) {
    signature.resize(size);
    ok = EVP_DigestSign(context, reinterpret_cast<unsigned char*>(signature.data()), &size,
                        reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size()) == 1;
    signature.resize(size);
  }
  EVP_MD_CTX_free(context);
  if (!ok) return Status::io_error(openssl_error("cannot sign with " + key_path.string()));
  return ClerkProof{*pem, to_hex(reinterpret_cast<const unsigned char*>(signature.data()), signature.size())};
}

Result<Clerk> verify_clerk(const std::filesystem::path& dir, const ClerkProof& proof, std::string_view challenge) {
  Paths paths{dir};
  auto ca = internal::read_certificate(paths.ca_certificate());
  if (!ca) return Status::io_error("cannot check clerks without the CA certificate: " + ca.status().message());
  auto crl = internal::read_crl(paths.crl());
  if (!crl) return Status::io_error("cannot check clerks without the CRL: " + crl.status().message());
  auto certificate = certificate_from_pem(proof.certificate_pem);
  if (!certificate) return certificate.status();

  std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>> context(X509_STORE_CTX_new());
  bool ready = store && context && X509_STORE_add_cert(store.get(), ca->get()) == 1 &&
               X509_STORE_add_crl(store.get(), crl->get()) == 1 &&
               X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK) == 1 &&
               X509_STORE_CTX_init(context.get(), store.get(), certificate->get(), nullptr) == 1 &&
               X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_CLIENT) == 1;
  if (!ready) return Status::io_error(openssl_error("cannot set up the clerk check"));
  if (X509_verify_cert(context.get()) != 1) {
    int error = X509_STORE_CTX_get_error(context.get());
    ERR_clear_error();
    return Status::refused(std::string("the clerk's certificate is not accepted: ") + X509_verify_cert_error_string(error));
  }
  auto clerk = clerk_of(certificate->get());
  if (!clerk) return Status::refused("the certificate is not a clerk's (no single citycard:clerk:ROLE:NAME name)");

  auto signature = from_hex(proof.signature_hex);
  if (!signature) return Status::refused("the clerk's signature is not hex");
  const std::string signed_text = message(challenge);
  EVP_MD_CTX* verify = EVP_MD_CTX_new();
  bool good = verify != nullptr &&
              EVP_DigestVerifyInit(verify, nullptr, EVP_sha256(), nullptr, X509_get0_pubkey(certificate->get())) == 1 &&
              EVP_DigestVerify(verify, reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                               reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size()) == 1;
  EVP_MD_CTX_free(verify);
  ERR_clear_error();
  if (!good) return Status::refused("clerk " + clerk->name + "'s signature does not verify: not made with the certificate's key");
  return *clerk;
}

std::string new_challenge() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();  // no randomness: no sign-in can be safe
  return to_hex(bytes, sizeof bytes);
}

}  // namespace citycard::pki
