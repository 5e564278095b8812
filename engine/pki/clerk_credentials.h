// Clerks' credentials: a certificate from the installation's CA naming the
// clerk and the role (include/citycard/clerk.h), and the key beside it.
//
//   DIR/clerks/NAME.crt   CN=NAME, exactly one subjectAltName URI
//                         "citycard:clerk:ROLE:NAME", extendedKeyUsage clientAuth
//   DIR/clerks/NAME.key   EC P-256, mode 0600
//
// A clerk proves who he is by signing a fresh challenge with the key
// (sign_challenge); the verifier checks the certificate against DIR's CA and
// CRL, then the signature (verify_clerk). A reader certificate has no clerk
// URI and a clerk certificate no reader URI, so neither passes for the other.
// The engine's admin API and the CLI's direct-ledger path use the same check.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "citycard/clerk.h"
#include "citycard/status.h"
#include "engine/pki/pki.h"

namespace citycard::pki {

std::filesystem::path clerk_certificate_path(const std::filesystem::path& dir, std::string_view name);
std::filesystem::path clerk_key_path(const std::filesystem::path& dir, std::string_view name);
std::string clerk_uri(const Clerk& clerk);

// Issues clerk NAME's key and certificate with ROLE. invalid_argument for a
// name clerk.h does not allow; not_found without a CA; already_exists if the
// clerk has a certificate (revoke it and pick another name to change a role).
Status issue_clerk(const std::filesystem::path& dir, const Clerk& clerk, Validity validity = {});

// Adds clerk NAME's certificate to the CRL. invalid_argument for a name
// clerk.h does not allow; not_found if there is no certificate.
Status revoke_clerk(const std::filesystem::path& dir, std::string_view name, Validity crl = crl_validity());

// What a clerk sends to sign in: the certificate (PEM) and the signature of
// the challenge (hex), made with the key at `prefix`.key; the certificate is
// `prefix`.crt (`--clerk PKI/clerks/NAME`).
struct ClerkProof {
  std::string certificate_pem;
  std::string signature_hex;
};
Result<ClerkProof> sign_challenge(const std::filesystem::path& prefix, std::string_view challenge);

// The clerk a proof names, once DIR's CA issued the certificate, it is valid
// now, not on DIR's CRL, is a clerk's, and its key signed `challenge`.
// refused naming what failed (unknown CA, revoked, expired, a
// reader's certificate, a bad signature); io_error when DIR cannot be read.
Result<Clerk> verify_clerk(const std::filesystem::path& dir, const ClerkProof& proof, std::string_view challenge);

// A fresh random challenge (hex, 32 bytes of randomness).
std::string new_challenge();

}  // namespace citycard::pki
