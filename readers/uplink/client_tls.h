// The reader's side of the engine's mutual TLS (docs/protocol.md, "Transport
// and identity"), shared by the blocking Uplink and the load generator's
// asynchronous readers so both set up the same connection:
// - TLS 1.3 only; the engine must present a certificate from the reader's CA
//   that names server_name (subjectAltName DNS or IP), sent as SNI too;
// - the reader presents its own certificate and key;
// - an engine that ends the connection after its error frame without a
//   close_notify is an orderly end, not a truncation attack.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "citycard/status.h"
#include "readers/uplink/asio.h"

namespace citycard::uplink {

struct ClientCredentials {
  std::string ca_certificate;  // PEM of the CA that signed the engine certificate
  std::string certificate;     // this reader's PEM certificate (chain)
  std::string private_key;     // this reader's PEM private key
};

// Configures a tls_client context for the engine. invalid_argument naming
// the file that cannot be used; the context is then unusable.
Status configure_client_tls(boost::asio::ssl::context& tls, const ClientCredentials& credentials);

// On a new stream, before its handshake: SNI and the check that the engine
// certificate names server_name.
void expect_server_name(SSL* ssl, const std::string& server_name);

}  // namespace citycard::uplink
