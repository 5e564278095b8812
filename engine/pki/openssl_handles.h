// Owning handles for OpenSSL objects and the error text of a failed call.
// Internal to engine/pki and engine/net.
#pragma once

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace citycard::pki {

template <auto free_function>
struct Deleter {
  template <typename T>
  void operator()(T* handle) const noexcept { free_function(handle); }
};

using KeyHandle = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using CertificateHandle = std::unique_ptr<X509, Deleter<X509_free>>;
using CrlHandle = std::unique_ptr<X509_CRL, Deleter<X509_CRL_free>>;
using RequestHandle = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
inline void free_extensions(STACK_OF(X509_EXTENSION) * extensions) {
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
}
using ExtensionsHandle = std::unique_ptr<STACK_OF(X509_EXTENSION), Deleter<free_extensions>>;
using BioHandle = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BignumHandle = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using Asn1IntegerHandle = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using Asn1TimeHandle = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;
using ExtensionHandle = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using GeneralNamesHandle = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;

// "what: <OpenSSL's reasons>", and clears OpenSSL's error queue.
inline std::string openssl_error(const std::string& what) {
  std::string text = what;
  const char* separator = ": ";
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text += separator;
    text += buffer;
    separator = "; ";
  }
  return text;
}

}  // namespace citycard::pki
