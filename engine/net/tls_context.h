// The server's OpenSSL context: TLS 1.3 only, client certificate required and
// verified against the CA (and the CRL, if given). Plain OpenSSL, no Asio, so
// it stays out of the heavy translation units. Internal to engine/net.
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

}  // namespace citycard::net
