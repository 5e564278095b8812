// The engine's small certificate authority: one CA per installation signs the
// engine's server certificate and one certificate per reader device. Readers
// authenticate with mutual TLS; the engine takes a reader's id only from its
// verified certificate.
//
// Directory layout (DIR is the --dir of `citycard pki ...`):
//   DIR/ca.key, DIR/ca.crt          the CA (EC P-256, self-signed)
//   DIR/crl.pem                     the CA's revocation list, re-signed on every revoke
//   DIR/engine.key, DIR/engine.crt  the engine's server certificate (serverAuth)
//   DIR/readers/reader-N.key/.crt   reader N's client certificate (clientAuth)
// Private keys are written with mode 0600 and are never printed or logged.
// Every file is written to a temporary name and renamed, so a crash leaves
// either the old file or the new one.
//
// A reader certificate carries CN=reader-N and exactly one subjectAltName URI
// "citycard:reader:N"; the URI is what counts.
//
// Errors are values: already_exists (init over an existing CA, issuing a
// certificate that exists), not_found (no CA, unknown reader), io_error (file
// system or OpenSSL failure; the message names the file or the OpenSSL error).
// Not thread-safe per directory: one operator command at a time.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "citycard/ids.h"
#include "citycard/status.h"

struct x509_st;  // OpenSSL's X509

namespace citycard::pki {

struct Paths {
  std::filesystem::path dir;
  std::filesystem::path ca_key() const { return dir / "ca.key"; }
  std::filesystem::path ca_certificate() const { return dir / "ca.crt"; }
  std::filesystem::path crl() const { return dir / "crl.pem"; }
  std::filesystem::path engine_key() const { return dir / "engine.key"; }
  std::filesystem::path engine_certificate() const { return dir / "engine.crt"; }
  std::filesystem::path reader_key(ReaderId reader) const;
  std::filesystem::path reader_certificate(ReaderId reader) const;
};

// When a certificate is valid, relative to now. Tests make expired or
// not-yet-valid certificates with a negative or future start.
struct Validity {
  std::chrono::seconds starts_in{-300};                // default: 5 minutes ago (clock skew)
  std::chrono::seconds lifetime{std::chrono::hours(24 * 365 * 2)};  // default: two years
};

inline Validity ca_validity() { return Validity{std::chrono::seconds(-300), std::chrono::hours(24 * 365 * 10)}; }

// Creates DIR (if needed) with a new CA key, CA certificate and an empty CRL.
// already_exists if DIR/ca.key exists.
Status init(const std::filesystem::path& dir, Validity validity = ca_validity());

// Issues reader N's key and certificate. not_found without a CA;
// already_exists if the reader's certificate exists.
Status issue_reader(const std::filesystem::path& dir, ReaderId reader, Validity validity = {});

// Issues the engine's key and server certificate for the given host names
// and/or IP addresses (subjectAltName DNS or IP). Replaces an existing one.
Status issue_engine(const std::filesystem::path& dir, const std::vector<std::string>& hosts,
                    Validity validity = {});

// Adds reader N's certificate to the CRL and re-signs it. Revoking a reader
// twice is ok (the CRL keeps one entry). not_found if reader N has no
// certificate in DIR.
Status revoke_reader(const std::filesystem::path& dir, ReaderId reader);

// "citycard:reader:17" -> 17; anything else -> nullopt (no sign, no leading
// zeros, no overflow past uint32).
std::optional<ReaderId> parse_reader_uri(std::string_view uri);
std::string reader_uri(ReaderId reader);

// The reader id of a (verified) certificate: its single citycard:reader URI
// SAN. nullopt when there is none, or more than one.
std::optional<ReaderId> reader_id_of(const x509_st* certificate);

}  // namespace citycard::pki
