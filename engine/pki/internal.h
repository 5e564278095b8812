// Building blocks of pki.h, shared by its source files. Internal.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "citycard/status.h"
#include "engine/pki/openssl_handles.h"
#include "engine/pki/pki.h"

namespace citycard::pki::internal {

enum class FileMode : unsigned { secret = 0600, public_readable = 0644 };

// Writes bytes to path with files::write_file_durably: after a crash the file
// is the old one or the new one; a full disk leaves the old one.
Status write_file(const std::filesystem::path& path, const std::string& bytes, FileMode mode);

// An exclusive flock on a file, released when destroyed.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {}
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

 private:
  int fd_;
};

// Waits for DIR/.crl.lock: whoever rewrites the CRL holds it from reading
// the old one until the new one is in place.
Result<FileLock> lock_crl(const Paths& paths);

Result<KeyHandle> read_key(const std::filesystem::path& path);
Result<CertificateHandle> read_certificate(const std::filesystem::path& path);
Result<CrlHandle> read_crl(const std::filesystem::path& path);
Result<RequestHandle> read_request(const std::filesystem::path& path);

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
Result<CrlHandle> sign_crl(X509* ca, EVP_PKEY* ca_key, const X509_CRL* previous, const ASN1_INTEGER* extra_serial,
                           Validity validity);

// The CRL's number, update times and entry count, after checking that `ca`
// issued and signed it (invalid_argument otherwise; `what` names the file).
Result<CrlInfo> crl_info(const X509_CRL* crl, X509* ca, const std::string& what);

// An ASN1_TIME as a time point; nullopt when OpenSSL cannot read it.
std::optional<std::chrono::system_clock::time_point> to_time_point(const ASN1_TIME* time);

}  // namespace citycard::pki::internal
