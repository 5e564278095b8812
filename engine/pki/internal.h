// Building blocks of pki.h, shared by its source files. Internal.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "citycard/status.h"
#include "engine/pki/openssl_handles.h"
#include "engine/pki/pki.h"

namespace citycard::pki::internal {

enum class FileMode : unsigned { secret = 0600, public_readable = 0644 };

// Writes bytes to path through a temporary file and a rename.
Status write_file(const std::filesystem::path& path, const std::string& bytes, FileMode mode);

Result<KeyHandle> read_key(const std::filesystem::path& path);
Result<CertificateHandle> read_certificate(const std::filesystem::path& path);
Result<CrlHandle> read_crl(const std::filesystem::path& path);

Result<std::string> key_pem(EVP_PKEY* key);
Result<std::string> certificate_pem(X509* certificate);
Result<std::string> crl_pem(X509_CRL* crl);

// A new EC P-256 key.
Result<KeyHandle> new_key();

struct CertificateRequest {
  std::string common_name;
  std::vector<std::string> extensions;  // "name=value" in openssl.cnf syntax, e.g. "basicConstraints=critical,CA:TRUE"
  Validity validity;
};

// Signs a certificate for key's public half. issuer == nullptr means self-signed.
Result<CertificateHandle> sign_certificate(const CertificateRequest& request, EVP_PKEY* key, X509* issuer,
                                           EVP_PKEY* issuer_key);

// A CRL by the CA listing the given revoked entries (kept from the previous
// CRL) plus the extra serial, if any; crl_number counts up on every signing.
Result<CrlHandle> sign_crl(X509* ca, EVP_PKEY* ca_key, const X509_CRL* previous, const ASN1_INTEGER* extra_serial);

}  // namespace citycard::pki::internal
