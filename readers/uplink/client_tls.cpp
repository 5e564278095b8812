#include "readers/uplink/client_tls.h"

namespace citycard::uplink {

namespace asio = boost::asio;
using boost::system::error_code;

Status configure_client_tls(asio::ssl::context& tls, const ClientCredentials& credentials) {
  SSL_CTX* raw = tls.native_handle();
  SSL_CTX_set_min_proto_version(raw, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION);
  // The engine ends a connection after its error frame without close_notify;
  // that is an orderly end here, not an attack on truncation.
  SSL_CTX_set_options(raw, SSL_OP_IGNORE_UNEXPECTED_EOF);
  error_code ec;
  tls.load_verify_file(credentials.ca_certificate, ec);
  if (ec) return Status::invalid_argument("CA certificate " + credentials.ca_certificate + ": " + ec.message());
  tls.use_certificate_chain_file(credentials.certificate, ec);
  if (ec) return Status::invalid_argument("certificate " + credentials.certificate + ": " + ec.message());
  tls.use_private_key_file(credentials.private_key, asio::ssl::context::pem, ec);
  if (ec) return Status::invalid_argument("private key " + credentials.private_key + ": " + ec.message());
  tls.set_verify_mode(asio::ssl::verify_peer, ec);
  return Status::ok();
}

void expect_server_name(SSL* ssl, const std::string& server_name) {
  SSL_set_tlsext_host_name(ssl, server_name.c_str());
  SSL_set1_host(ssl, server_name.c_str());  // the engine certificate must name it
}

}  // namespace citycard::uplink
