// The engine's small certificate authority: one CA per installation signs the
// engine's server certificate and one certificate per reader device. Readers
// authenticate with mutual TLS; the engine takes a reader's id only from its
// verified certificate.
//
// Directory layout (DIR is the --dir of `citycard pki ...`):
//   DIR/ca.key, DIR/ca.crt          the CA (EC P-256, self-signed)
//   DIR/crl.pem                     the CA's revocation list, re-signed on every revoke
//                                   and before it expires (resign_crl)
//   DIR/.crl.lock                   held (flock) while the CRL is read and rewritten
//   DIR/engine.key, DIR/engine.crt  the engine's server certificate (serverAuth)
//   DIR/readers/reader-N.crt        reader N's client certificate (clientAuth)
//   DIR/readers/reader-N.key        only from issue_reader (tools, tests): a
//                                   production reader makes its key itself and
//                                   sends a CSR (sign_reader)
// Private keys are written with mode 0600 and are never printed or logged.
// Every file is written to a temporary name, synced, renamed and its
// directory synced, so a crash leaves either the old file or the new one.
//
// A reader certificate carries CN=reader-N and exactly one subjectAltName URI
// "citycard:reader:N"; the URI is what counts.
//
// Errors are values: already_exists (init over an existing CA, issuing a
// certificate that exists), not_found (no CA, no CRL, unknown reader),
// invalid_argument (a CSR or CRL that cannot be used: the message says why),
// io_error (file system or OpenSSL failure; the message names the file or the
// OpenSSL error). Operations that rewrite the CRL (revoke_reader, resign_crl)
// hold DIR/.crl.lock, so the engine re-signing it and an operator revoking a
// reader do not lose each other's change; other operations assume one
// operator command at a time per directory.
#pragma once

#include <chrono>
#include <cstdint>
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

// A CRL's lastUpdate is now + starts_in, its nextUpdate lastUpdate + lifetime.
// Default: 30 days from 5 minutes ago.
inline constexpr std::chrono::hours crl_lifetime_default{24 * 30};
inline Validity crl_validity(std::chrono::seconds lifetime = crl_lifetime_default) {
  return Validity{std::chrono::seconds(-300), lifetime};
}

// Creates DIR (if needed) with a new CA key, CA certificate and an empty CRL.
// already_exists if DIR/ca.key or DIR/ca.crt exists.
Status init(const std::filesystem::path& dir, Validity validity = ca_validity(), Validity crl = crl_validity());

// Issues reader N's key and certificate, both made here. For tools and
// tests: a production reader makes its own key (`citycard-reader keygen`)
// and gets its certificate from sign_reader. not_found without a CA;
// already_exists if the reader's certificate exists.
Status issue_reader(const std::filesystem::path& dir, ReaderId reader, Validity validity = {});

// Issues reader N's certificate for the key in a certificate signing request
// (PEM): the CSR's self-signature must verify, its key must be EC P-256, and
// the reader it names (CN reader-N; a citycard:reader URI if it asks for one)
// must be N. The CA decides the rest: CN reader-N, exactly one SAN URI
// citycard:reader:N, clientAuth, the validity given; nothing else the CSR asks
// for is copied. Writes the certificate to `out` (default
// DIR/readers/reader-N.crt) and never a key. invalid_argument naming the
// problem for a CSR that is unreadable, altered, of another key type or for
// another reader; not_found without a CA; already_exists if `out` exists.
Status sign_reader(const std::filesystem::path& dir, const std::filesystem::path& csr, ReaderId reader,
                   Validity validity = {}, const std::filesystem::path& out = {});

// Issues the engine's key and server certificate for the given host names
// and/or IP addresses (subjectAltName DNS or IP). Replaces an existing one.
Status issue_engine(const std::filesystem::path& dir, const std::vector<std::string>& hosts,
                    Validity validity = {});

// Adds reader N's certificate to the CRL and re-signs it. Revoking a reader
// twice is ok (the CRL keeps one entry). not_found if reader N has no
// certificate in DIR, or DIR has no CRL.
Status revoke_reader(const std::filesystem::path& dir, ReaderId reader, Validity crl = crl_validity());

// What a CRL says, once its signature checked out against the CA.
struct CrlInfo {
  std::int64_t number = 0;  // the cRLNumber extension; counts up on every signing
  std::chrono::system_clock::time_point last_update;
  std::chrono::system_clock::time_point next_update;
  std::size_t revoked = 0;  // entries
  bool expired_at(std::chrono::system_clock::time_point now) const { return now >= next_update; }
  // True when less than a third of the validity remains: time to re-sign,
  // long before readers would be refused.
  bool due_for_resigning_at(std::chrono::system_clock::time_point now) const {
    return (next_update - now) * 3 < next_update - last_update;
  }
};

// Reads DIR/crl.pem and checks it against DIR/ca.crt (issuer and signature).
// not_found when the CRL is missing; invalid_argument when it cannot be read
// or the CA did not sign it.
Result<CrlInfo> read_crl(const std::filesystem::path& dir);

// Re-signs DIR/crl.pem with the same entries and revocation dates, the next
// CRL number and a new lastUpdate/nextUpdate (validity). A CRL that has
// already expired is re-signed the same way. not_found without a CA or a CRL;
// invalid_argument when the CRL is not the CA's.
Result<CrlInfo> resign_crl(const std::filesystem::path& dir, Validity validity = crl_validity());

// A new, empty CRL when DIR/crl.pem is missing (it was lost): it revokes
// nothing, so only for when the old list is truly gone. already_exists if
// there is one.
Result<CrlInfo> new_empty_crl(const std::filesystem::path& dir, Validity validity = crl_validity());

// When a certificate (PEM) stops being valid. not_found / invalid_argument.
Result<std::chrono::system_clock::time_point> certificate_not_after(const std::filesystem::path& path);

// "citycard:reader:17" -> 17; anything else -> nullopt (no sign, no leading
// zeros, no overflow past uint32).
std::optional<ReaderId> parse_reader_uri(std::string_view uri);
std::string reader_uri(ReaderId reader);

// The reader id of a (verified) certificate: its single citycard:reader URI
// SAN. nullopt when there is none, or more than one.
std::optional<ReaderId> reader_id_of(const x509_st* certificate);

}  // namespace citycard::pki
