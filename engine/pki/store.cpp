// The operator-facing PKI operations over the directory layout in pki.h.
#include <arpa/inet.h>

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

std::string subject_alt_name_of(const std::string& host) {
  unsigned char address[16];
  bool ip = inet_pton(AF_INET, host.c_str(), address) == 1 || inet_pton(AF_INET6, host.c_str(), address) == 1;
  return (ip ? "IP:" : "DNS:") + host;
}

}  // namespace

Status init(const std::filesystem::path& dir, Validity validity) {
  Paths paths{dir};
  if (std::filesystem::exists(paths.ca_key())) return Status::already_exists("a CA already exists in " + dir.string());
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
  auto crl = internal::sign_crl(certificate->get(), key->get(), nullptr, nullptr);
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
  internal::CertificateRequest request{
      "reader-" + std::to_string(reader.value),
      {"basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=clientAuth",
       "subjectAltName=URI:" + reader_uri(reader), "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"},
      validity};
  auto certificate =
      internal::sign_certificate(request, key->get(), authority->certificate.get(), authority->key.get());
  if (!certificate) return certificate.status();
  return write_pair(paths.reader_key(reader), key->get(), paths.reader_certificate(reader), certificate->get());
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

Status revoke_reader(const std::filesystem::path& dir, ReaderId reader) {
  Paths paths{dir};
  auto authority = load_authority(paths);
  if (!authority) return authority.status();
  auto certificate = internal::read_certificate(paths.reader_certificate(reader));
  if (!certificate) {
    return Status::not_found("reader " + std::to_string(reader.value) + " has no certificate in " + dir.string());
  }
  auto previous = internal::read_crl(paths.crl());
  if (!previous) return previous.status();
  auto crl = internal::sign_crl(authority->certificate.get(), authority->key.get(), previous->get(),
                                X509_get0_serialNumber(certificate->get()));
  if (!crl) return crl.status();
  auto text = internal::crl_pem(crl->get());
  if (!text) return text.status();
  return internal::write_file(paths.crl(), text.value(), FileMode::public_readable);
}

}  // namespace citycard::pki
