// The operator-facing PKI operations over the directory layout in pki.h.
#include <arpa/inet.h>
#include <openssl/core_names.h>

#include <cstring>
#include <system_error>

#include "engine/pki/internal.h"

namespace citycard::pki {
namespace {

using internal::FileMode;

struct Authority {
  CertificateHandle certificate;
  KeyHandle key;
};

Result<Authority> load_authority(const Paths& paths) {
  if (!std::filesystem::exists(paths.ca_key())) {
    return Status::not_found("no CA in " + paths.dir.string() + " (run `citycard pki init --dir " +
                             paths.dir.string() + "` first)");
  }
  auto certificate = internal::read_certificate(paths.ca_certificate());
  if (!certificate) return certificate.status();
  auto key = internal::read_key(paths.ca_key());
  if (!key) return key.status();
  return Authority{std::move(certificate).value(), std::move(key).value()};
}

// Writes the key first: a certificate on disk always has its key beside it.
Status write_pair(const std::filesystem::path& key_path, EVP_PKEY* key, const std::filesystem::path& certificate_path,
                  X509* certificate) {
  auto key_text = internal::key_pem(key);
  if (!key_text) return key_text.status();
  auto certificate_text = internal::certificate_pem(certificate);
  if (!certificate_text) return certificate_text.status();
  if (Status status = internal::write_file(key_path, key_text.value(), FileMode::secret); !status) return status;
  return internal::write_file(certificate_path, certificate_text.value(), FileMode::public_readable);
}

Status make_directory(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return Status::io_error("cannot create " + dir.string() + ": " + error.message());
  return Status::ok();
}

// What every reader certificate says, whoever made the key: the CA decides.
internal::CertificateRequest reader_request(ReaderId reader, Validity validity) {
  return internal::CertificateRequest{
      "reader-" + std::to_string(reader.value),
      {"basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=clientAuth",
       "subjectAltName=URI:" + reader_uri(reader), "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"},
      validity};
}

Status write_crl(const Paths& paths, X509_CRL* crl) {
  auto text = internal::crl_pem(crl);
  if (!text) return text.status();
  return internal::write_file(paths.crl(), text.value(), FileMode::public_readable);
}

std::optional<std::string> common_name_of(const X509_NAME* name) {
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return std::nullopt;
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return std::nullopt;
  std::string text(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return text;
}

// The CSR may name its reader (CN, a requested URI); every name it gives
// must be `reader`. The CA does not copy them: it only refuses a mismatch.
Status check_request_names(X509_REQ* request, ReaderId reader, const std::string& what) {
  std::string expected = "reader-" + std::to_string(reader.value);
  auto name = common_name_of(X509_REQ_get_subject_name(request));
  if (!name) return Status::invalid_argument(what + " names no reader (subject CN " + expected + " expected)");
  if (*name != expected) {
    return Status::invalid_argument(what + " is for CN '" + *name + "', but --reader-id is " +
                                    std::to_string(reader.value) + " (CN " + expected + ")");
  }
  ExtensionsHandle extensions(X509_REQ_get_extensions(request));
  if (!extensions) return Status::ok();
  GeneralNamesHandle names(
      static_cast<GENERAL_NAMES*>(X509V3_get_d2i(extensions.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return Status::ok();
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* entry = sk_GENERAL_NAME_value(names.get(), i);
    if (entry->type != GEN_URI) continue;
    const ASN1_IA5STRING* text = entry->d.uniformResourceIdentifier;
    std::string uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                    static_cast<std::size_t>(ASN1_STRING_length(text)));
    if (uri.starts_with("citycard:") && uri != reader_uri(reader)) {
      return Status::invalid_argument(what + " asks for URI " + uri + ", but --reader-id is " +
                                      std::to_string(reader.value) + " (" + reader_uri(reader) + ")");
    }
  }
  return Status::ok();
}

Status check_request_key(EVP_PKEY* key, const std::string& what) {
  char group[64] = {};
  std::size_t length = 0;
  bool p256 = key != nullptr && EVP_PKEY_is_a(key, "EC") &&
              EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) == 1 &&
              (std::strcmp(group, "prime256v1") == 0 || std::strcmp(group, "P-256") == 0);
  ERR_clear_error();
  if (!p256) return Status::invalid_argument(what + " is not for an EC P-256 key (make one with citycard-reader keygen)");
  return Status::ok();
}

std::string subject_alt_name_of(const std::string& host) {
  unsigned char address[16];
  bool ip = inet_pton(AF_INET, host.c_str(), address) == 1 || inet_pton(AF_INET6, host.c_str(), address) == 1;
  return (ip ? "IP:" : "DNS:") + host;
}

}  // namespace

Status init(const std::filesystem::path& dir, Validity validity, Validity crl_validity) {
  Paths paths{dir};
  if (std::filesystem::exists(paths.ca_key()) || std::filesystem::exists(paths.ca_certificate())) {
    return Status::already_exists("a CA already exists in " + dir.string());
  }
  if (Status status = make_directory(dir); !status) return status;
  auto key = internal::new_key();
  if (!key) return key.status();
  internal::CertificateRequest request{
      "citycard CA",
      {"basicConstraints=critical,CA:TRUE,pathlen:0", "keyUsage=critical,keyCertSign,cRLSign",
       "subjectKeyIdentifier=hash"},
      validity};
  auto certificate = internal::sign_certificate(request, key->get(), nullptr, key->get());
  if (!certificate) return certificate.status();
  auto crl = internal::sign_crl(certificate->get(), key->get(), nullptr, nullptr, crl_validity);
  if (!crl) return crl.status();
  auto crl_text = internal::crl_pem(crl->get());
  if (!crl_text) return crl_text.status();
  if (Status status = write_pair(paths.ca_key(), key->get(), paths.ca_certificate(), certificate->get()); !status) {
    return status;
  }
  return internal::write_file(paths.crl(), crl_text.value(), FileMode::public_readable);
}

Status issue_reader(const std::filesystem::path& dir, ReaderId reader, Validity validity) {
  Paths paths{dir};
  auto authority = load_authority(paths);
  if (!authority) return authority.status();
  if (std::filesystem::exists(paths.reader_certificate(reader))) {
    return Status::already_exists("reader " + std::to_string(reader.value) + " already has a certificate in " +
                                  paths.reader_certificate(reader).string());
  }
  if (Status status = make_directory(dir / "readers"); !status) return status;
  auto key = internal::new_key();
  if (!key) return key.status();
  auto certificate = internal::sign_certificate(reader_request(reader, validity), key->get(),
                                                authority->certificate.get(), authority->key.get());
  if (!certificate) return certificate.status();
  return write_pair(paths.reader_key(reader), key->get(), paths.reader_certificate(reader), certificate->get());
}

Status sign_reader(const std::filesystem::path& dir, const std::filesystem::path& csr, ReaderId reader,
                   Validity validity, const std::filesystem::path& out) {
  Paths paths{dir};
  auto authority = load_authority(paths);
  if (!authority) return authority.status();
  std::filesystem::path destination = out.empty() ? paths.reader_certificate(reader) : out;
  if (std::filesystem::exists(destination)) {
    return Status::already_exists("reader " + std::to_string(reader.value) + " already has a certificate in " +
                                  destination.string());
  }
  std::string what = "CSR " + csr.string();
  auto request = internal::read_request(csr);
  if (!request) return request.status();
  EVP_PKEY* key = X509_REQ_get0_pubkey(request->get());
  if (Status status = check_request_key(key, what); !status) return status;
  if (X509_REQ_verify(request->get(), key) != 1) {
    ERR_clear_error();
    return Status::invalid_argument(what +
                                    ": its signature does not verify (altered after it was made, or not signed by "
                                    "the key it carries)");
  }
  if (Status status = check_request_names(request->get(), reader, what); !status) return status;
  if (out.empty()) {
    if (Status status = make_directory(dir / "readers"); !status) return status;
  }
  auto certificate = internal::sign_certificate(reader_request(reader, validity), key, authority->certificate.get(),
                                                authority->key.get());
  if (!certificate) return certificate.status();
  auto text = internal::certificate_pem(certificate->get());
  if (!text) return text.status();
  return internal::write_file(destination, text.value(), FileMode::public_readable);
}

Status issue_engine(const std::filesystem::path& dir, const std::vector<std::string>& hosts, Validity validity) {
  if (hosts.empty()) return Status::invalid_argument("the engine certificate needs at least one host name");
  Paths paths{dir};
  auto authority = load_authority(paths);
  if (!authority) return authority.status();
  std::string names = "subjectAltName=";
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    if (hosts[i].empty() || hosts[i].find_first_of(",= \t") != std::string::npos) {
      return Status::invalid_argument("host name '" + hosts[i] + "' is not a DNS name or an IP address");
    }
    names += (i ? "," : "") + subject_alt_name_of(hosts[i]);
  }
  auto key = internal::new_key();
  if (!key) return key.status();
  internal::CertificateRequest request{
      hosts.front(),
      {"basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=serverAuth",
       names, "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"},
      validity};
  auto certificate =
      internal::sign_certificate(request, key->get(), authority->certificate.get(), authority->key.get());
  if (!certificate) return certificate.status();
  return write_pair(paths.engine_key(), key->get(), paths.engine_certificate(), certificate->get());
}

Status revoke_reader(const std::filesystem::path& dir, ReaderId reader, Validity validity) {
  Paths paths{dir};
  auto authority = load_authority(paths);
  if (!authority) return authority.status();
  auto certificate = internal::read_certificate(paths.reader_certificate(reader));
  if (!certificate) {
    return Status::not_found("reader " + std::to_string(reader.value) + " has no certificate in " + dir.string());
  }
  auto lock = internal::lock_crl(paths);
  if (!lock) return lock.status();
  auto previous = internal::read_crl(paths.crl());
  if (!previous) return previous.status();
  if (auto info = internal::crl_info(previous->get(), authority->certificate.get(), paths.crl().string()); !info) {
    return info.status();
  }
  auto crl = internal::sign_crl(authority->certificate.get(), authority->key.get(), previous->get(),
                                X509_get0_serialNumber(certificate->get()), validity);
  if (!crl) return crl.status();
  return write_crl(paths, crl->get());
}

Result<CrlInfo> read_crl(const std::filesystem::path& dir) {
  Paths paths{dir};
  auto ca = internal::read_certificate(paths.ca_certificate());
  if (!ca) return ca.status();
  if (!std::filesystem::exists(paths.crl())) {
    return Status::not_found("no CRL at " + paths.crl().string() + ": revocation cannot be checked");
  }
  auto crl = internal::read_crl(paths.crl());
  if (!crl) return Status::invalid_argument(crl.status().message());
  return internal::crl_info(crl->get(), ca->get(), paths.crl().string());
}

Result<CrlInfo> resign_crl(const std::filesystem::path& dir, Validity validity) {
  Paths paths{dir};
  auto authority = load_authority(paths);
  if (!authority) return authority.status();
  auto lock = internal::lock_crl(paths);
  if (!lock) return lock.status();
  if (!std::filesystem::exists(paths.crl())) {
    return Status::not_found("no CRL at " + paths.crl().string() +
                             " to re-sign (if it is lost for good, `citycard pki crl --new` starts an empty one)");
  }
  auto previous = internal::read_crl(paths.crl());
  if (!previous) return Status::invalid_argument(previous.status().message());
  if (auto info = internal::crl_info(previous->get(), authority->certificate.get(), paths.crl().string()); !info) {
    return info.status();
  }
  auto crl = internal::sign_crl(authority->certificate.get(), authority->key.get(), previous->get(), nullptr, validity);
  if (!crl) return crl.status();
  if (Status status = write_crl(paths, crl->get()); !status) return status;
  return internal::crl_info(crl->get(), authority->certificate.get(), paths.crl().string());
}

Result<CrlInfo> new_empty_crl(const std::filesystem::path& dir, Validity validity) {
  Paths paths{dir};
  auto authority = load_authority(paths);
  if (!authority) return authority.status();
  auto lock = internal::lock_crl(paths);
  if (!lock) return lock.status();
  if (std::filesystem::exists(paths.crl())) {
    return Status::already_exists(paths.crl().string() + " exists; re-sign it instead of starting an empty one");
  }
  auto crl = internal::sign_crl(authority->certificate.get(), authority->key.get(), nullptr, nullptr, validity);
  if (!crl) return crl.status();
  if (Status status = write_crl(paths, crl->get()); !status) return status;
  return internal::crl_info(crl->get(), authority->certificate.get(), paths.crl().string());
}

Result<std::chrono::system_clock::time_point> certificate_not_after(const std::filesystem::path& path) {
  auto certificate = internal::read_certificate(path);
  if (!certificate) return certificate.status();
  auto not_after = internal::to_time_point(X509_get0_notAfter(certificate->get()));
  if (!not_after) return Status::invalid_argument(path.string() + " has no readable notAfter");
  return *not_after;
}

}  // namespace citycard::pki
