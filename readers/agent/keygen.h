// `citycard-reader keygen`: the reader's private key is made on the reader
// and never leaves it. What goes to the card office is a certificate signing
// request (CSR) naming the reader; the CA answers with the certificate
// (`citycard pki sign-reader`, docs/protocol.md "Certificates").
//
//   key: EC P-256, PEM (PKCS#8), mode 0600 from the moment it exists; an
//        existing key file is never replaced (already_exists).
//   CSR: PEM, subject O=citycard, CN=reader-N, requesting the subjectAltName
//        URI citycard:reader:N (the CA decides what the certificate says),
//        signed with the key (SHA-256).
// Both files are synced and their directory too before this returns.
#pragma once

#include <filesystem>

#include "citycard/ids.h"
#include "citycard/status.h"

namespace citycard::agent {

// invalid_argument for reader id 0; already_exists if `key` exists;
// io_error naming the file otherwise. On failure no key file is left behind.
Status generate_reader_key(const std::filesystem::path& key, const std::filesystem::path& csr, ReaderId reader);

}  // namespace citycard::agent
