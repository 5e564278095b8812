// The CA's certificate revocation list. A new CRL is signed on every change
// and before it runs out: the old entries are copied over with their
// revocation dates, the CRL number counts up, and nextUpdate is the given
// lifetime out (30 days by default). An expired CRL makes every reader
// handshake fail, so the engine re-signs it when a third of its validity is
// left (docs/protocol.md, "Certificates").
#include <ctime>

#include "engine/pki/internal.h"

namespace citycard::pki::internal {
namespace {

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

std::optional<std::chrono::system_clock::time_point> to_time_point(const ASN1_TIME* time) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&parts));
}

Result<CrlHandle> sign_crl(X509* ca, EVP_PKEY* ca_key, const X509_CRL* previous, const ASN1_INTEGER* extra_serial,
                           Validity validity) {
  CrlHandle crl(X509_CRL_new());
  std::time_t now_seconds = std::time(nullptr);
  long start = static_cast<long>(validity.starts_in.count());
  long end = start + static_cast<long>(validity.lifetime.count());
  Asn1TimeHandle now(ASN1_TIME_adj(nullptr, now_seconds, 0, 0));
  Asn1TimeHandle last(ASN1_TIME_adj(nullptr, now_seconds, 0, start));
  Asn1TimeHandle next(ASN1_TIME_adj(nullptr, now_seconds, 0, end));
  if (!crl || !now || !last || !next || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca)) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 || X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
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

Result<CrlInfo> crl_info(const X509_CRL* crl, X509* ca, const std::string& what) {
  X509_CRL* mutable_crl = const_cast<X509_CRL*>(crl);
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0) {
    return Status::invalid_argument(what + " was not issued by this CA");
  }
  EVP_PKEY* ca_public = X509_get0_pubkey(ca);
  if (ca_public == nullptr || X509_CRL_verify(mutable_crl, ca_public) != 1) {
    return Status::invalid_argument(openssl_error(what + " is not signed by this CA's key"));
  }
  auto last = to_time_point(X509_CRL_get0_lastUpdate(crl));
  auto next = to_time_point(X509_CRL_get0_nextUpdate(crl));
  if (!last || !next) return Status::invalid_argument(what + " has no readable lastUpdate and nextUpdate");
  CrlInfo info;
  info.number = previous_number(crl);
  info.last_update = *last;
  info.next_update = *next;
  int entries = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(mutable_crl));  // -1 for no list at all
  info.revoked = entries > 0 ? static_cast<std::size_t>(entries) : 0;
  return info;
}

}  // namespace citycard::pki::internal
