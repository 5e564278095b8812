#include "engine/net/tls_context.h"

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "engine/pki/openssl_handles.h"

namespace citycard::net {
namespace {

Status load_crl(SSL_CTX* context, const std::string& path) {
  pki::BioHandle bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return Status::invalid_argument(pki::openssl_error("cannot read CRL " + path));
  pki::CrlHandle crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (!crl) return Status::invalid_argument(pki::openssl_error(path + " holds no CRL"));
  X509_STORE* store = SSL_CTX_get_cert_store(context);
  if (X509_STORE_add_crl(store, crl.get()) != 1) return Status::invalid_argument(pki::openssl_error("cannot use CRL " + path));
  // Check the leaf (the reader) against the CRL; the CA itself has no issuer CRL.
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  return Status::ok();
}

}  // namespace

Result<SslContextHandle> make_server_tls_context(const TlsFiles& files) {
  if (files.ca_certificate.empty() || files.crl.empty() || files.certificate.empty() || files.private_key.empty()) {
    return Status::invalid_argument("TLS needs a CA certificate, its CRL, a certificate and a private key");
  }
  SslContextHandle context(SSL_CTX_new(TLS_server_method()));
  if (!context) return Status::invalid_argument(pki::openssl_error("cannot create a TLS context"));
  SSL_CTX* raw = context.get();
  if (SSL_CTX_set_min_proto_version(raw, TLS1_3_VERSION) != 1 || SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION) != 1) {
    return Status::invalid_argument(pki::openssl_error("cannot restrict TLS to 1.3"));
  }
  if (SSL_CTX_use_certificate_chain_file(raw, files.certificate.c_str()) != 1) {
    return Status::invalid_argument(pki::openssl_error("cannot use certificate " + files.certificate));
  }
  if (SSL_CTX_use_PrivateKey_file(raw, files.private_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(raw) != 1) {
    return Status::invalid_argument(pki::openssl_error("cannot use private key " + files.private_key));
  }
  if (SSL_CTX_load_verify_locations(raw, files.ca_certificate.c_str(), nullptr) != 1) {
    return Status::invalid_argument(pki::openssl_error("cannot use CA certificate " + files.ca_certificate));
  }
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca_certificate.c_str());
  if (names == nullptr) return Status::invalid_argument(pki::openssl_error("no CA names in " + files.ca_certificate));
  SSL_CTX_set_client_CA_list(raw, names);
  if (Status status = load_crl(raw, files.crl); !status) return status;
  // A reader without a valid certificate never gets past the handshake.
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  // Readers reconnect with a full handshake: no tickets to write after the
  // handshake, no resumption state to keep per reader.
  SSL_CTX_set_num_tickets(raw, 0);
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  return context;
}

Status verify_peer_again(SSL* ssl, X509_STORE* trust) {
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr || trust == nullptr) return Status::refused("no peer certificate");
  // On the server side the peer's chain does not hold the leaf.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  X509_STORE_CTX* context = X509_STORE_CTX_new();
  if (context == nullptr || X509_STORE_CTX_init(context, trust, leaf, chain) != 1 ||
      X509_STORE_CTX_set_default(context, "ssl_client") != 1) {
    X509_STORE_CTX_free(context);
    return Status::refused(pki::openssl_error("cannot verify the certificate again"));
  }
  int verified = X509_verify_cert(context);
  int error = X509_STORE_CTX_get_error(context);
  X509_STORE_CTX_free(context);
  ERR_clear_error();
  if (verified == 1) return Status::ok();
  return Status::refused(X509_verify_cert_error_string(error));
}

}  // namespace citycard::net
