// The CA's certificate revocation list. A new CRL is signed on every change:
// the old entries are copied over, the CRL number counts up, and nextUpdate
// is 30 days out (the engine loads the CRL at start; an expired CRL makes
// every handshake fail, so the CRL must be re-signed within that time).
#include "engine/pki/internal.h"

namespace citycard::pki::internal {
namespace {

constexpr long crl_lifetime_seconds = 30L * 24 * 3600;

Status add_revoked(X509_CRL* crl, const ASN1_INTEGER* serial, const ASN1_TIME* when) {
  X509_REVOKED* entry = X509_REVOKED_new();
  if (entry == nullptr || X509_REVOKED_set_serialNumber(entry, const_cast<ASN1_INTEGER*>(serial)) != 1 ||
      X509_REVOKED_set_revocationDate(entry, const_cast<ASN1_TIME*>(when)) != 1 ||
      X509_CRL_add0_revoked(crl, entry) != 1) {
    X509_REVOKED_free(entry);
    return Status::io_error(openssl_error("cannot add a CRL entry"));
  }
  return Status::ok();
}

long previous_number(const X509_CRL* previous) {
  if (previous == nullptr) return 0;
  Asn1IntegerHandle number(static_cast<ASN1_INTEGER*>(
      X509_CRL_get_ext_d2i(previous, NID_crl_number, nullptr, nullptr)));
  return number ? ASN1_INTEGER_get(number.get()) : 0;
}

}  // namespace

Result<CrlHandle> sign_crl(X509* ca, EVP_PKEY* ca_key, const X509_CRL* previous, const ASN1_INTEGER* extra_serial) {
  CrlHandle crl(X509_CRL_new());
  Asn1TimeHandle now(ASN1_TIME_adj(nullptr, std::time(nullptr), 0, 0));
  Asn1TimeHandle next(ASN1_TIME_adj(nullptr, std::time(nullptr), 0, crl_lifetime_seconds));
  if (!crl || !now || !next || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca)) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), now.get()) != 1 || X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    return Status::io_error(openssl_error("cannot create a CRL"));
  }
  bool extra_listed = false;
  if (previous != nullptr) {
    STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(const_cast<X509_CRL*>(previous));
    for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
      const X509_REVOKED* entry = sk_X509_REVOKED_value(entries, i);
      const ASN1_INTEGER* serial = X509_REVOKED_get0_serialNumber(entry);
      if (extra_serial != nullptr && ASN1_INTEGER_cmp(serial, extra_serial) == 0) extra_listed = true;
      if (Status status = add_revoked(crl.get(), serial, X509_REVOKED_get0_revocationDate(entry)); !status) {
        return status;
      }
    }
  }
  if (extra_serial != nullptr && !extra_listed) {
    if (Status status = add_revoked(crl.get(), extra_serial, now.get()); !status) return status;
  }
  Asn1IntegerHandle number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set(number.get(), previous_number(previous) + 1) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
    return Status::io_error(openssl_error("cannot number the CRL"));
  }
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), ca_key, EVP_sha256()) <= 0) return Status::io_error(openssl_error("cannot sign the CRL"));
  return crl;
}

}  // namespace citycard::pki::internal
