// The server's OpenSSL context: TLS 1.3 only, client certificate required and
// verified against the CA and its CRL. Plain OpenSSL, no Asio, so it stays
// out of the heavy translation units. Internal to engine/net.
#pragma once

#include <memory>

#include <openssl/ssl.h>

#include "citycard/status.h"
#include "engine/net/server.h"

namespace citycard::net {

struct SslContextFree {
  void operator()(SSL_CTX* context) const noexcept { SSL_CTX_free(context); }
};
using SslContextHandle = std::unique_ptr<SSL_CTX, SslContextFree>;

// invalid_argument naming the file that cannot be used.
Result<SslContextHandle> make_server_tls_context(const TlsFiles& files);

// Verifies the peer certificate of an established connection again, now,
// against `trust` (a context's store: its CA and CRL) as the handshake did.
// ok, or refused with OpenSSL's reason ("certificate revoked").
Status verify_peer_again(SSL* ssl, X509_STORE* trust);

}  // namespace citycard::net
