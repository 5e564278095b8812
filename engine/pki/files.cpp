// Reading and writing PEM files. Keys go to disk with mode 0600 from the
// moment the file exists, whole or not at all (files/durable_file.h).
#include <fcntl.h>
#include <openssl/pem.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/pki/internal.h"
#include "files/durable_file.h"

namespace citycard::pki::internal {
namespace {

Result<BioHandle> open_for_reading(const std::filesystem::path& path) {
  BioHandle bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return Status::not_found(path.string() + " cannot be read");
  }
  return bio;
}

Result<std::string> drain(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  if (size < 0 || data == nullptr) return Status::io_error("OpenSSL wrote no PEM");
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

Status write_file(const std::filesystem::path& path, const std::string& bytes, FileMode mode) {
  return files::write_file_durably(path, bytes, {.mode = static_cast<std::uint32_t>(mode)});
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor drops the flock
}

Result<FileLock> lock_crl(const Paths& paths) {
  std::filesystem::path path = paths.dir / ".crl.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::io_error("cannot open " + path.string() + ": " + std::strerror(errno));
  FileLock lock(fd);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return Status::io_error("cannot lock " + path.string() + ": " + std::strerror(errno));
  }
  return lock;
}

Result<KeyHandle> read_key(const std::filesystem::path& path) {
  auto bio = open_for_reading(path);
  if (!bio) return bio.status();
  KeyHandle key(PEM_read_bio_PrivateKey(bio->get(), nullptr, nullptr, nullptr));
  if (!key) return Status::io_error(openssl_error(path.string() + " holds no private key"));
  return key;
}

Result<CertificateHandle> read_certificate(const std::filesystem::path& path) {
  auto bio = open_for_reading(path);
  if (!bio) return bio.status();
  CertificateHandle certificate(PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr));
  if (!certificate) return Status::io_error(openssl_error(path.string() + " holds no certificate"));
  return certificate;
}

Result<CrlHandle> read_crl(const std::filesystem::path& path) {
  auto bio = open_for_reading(path);
  if (!bio) return bio.status();
  CrlHandle crl(PEM_read_bio_X509_CRL(bio->get(), nullptr, nullptr, nullptr));
  if (!crl) return Status::io_error(openssl_error(path.string() + " holds no CRL"));
  return crl;
}

Result<RequestHandle> read_request(const std::filesystem::path& path) {
  auto bio = open_for_reading(path);
  if (!bio) return bio.status();
  RequestHandle request(PEM_read_bio_X509_REQ(bio->get(), nullptr, nullptr, nullptr));
  if (!request) {
    return Status::invalid_argument(openssl_error(path.string() + " holds no certificate signing request (PEM)"));
  }
  return request;
}

Result<std::string> key_pem(EVP_PKEY* key) {
  BioHandle bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Status::io_error(openssl_error("cannot encode a private key"));
  }
  return drain(bio.get());
}

Result<std::string> certificate_pem(X509* certificate) {
  BioHandle bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1) {
    return Status::io_error(openssl_error("cannot encode a certificate"));
  }
  return drain(bio.get());
}

Result<std::string> crl_pem(X509_CRL* crl) {
  BioHandle bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl) != 1) return Status::io_error(openssl_error("cannot encode a CRL"));
  return drain(bio.get());
}

}  // namespace citycard::pki::internal
