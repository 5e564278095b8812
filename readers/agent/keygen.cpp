#include "keygen.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "files/durable_file.h"

namespace citycard::agent {
namespace {

template <auto free_function>
struct Free {
  template <typename T>
  void operator()(T* handle) const noexcept { free_function(handle); }
};
using Key = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using Request = std::unique_ptr<X509_REQ, Free<X509_REQ_free>>;
using Bio = std::unique_ptr<BIO, Free<BIO_free_all>>;
using Extension = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;
void free_extensions(STACK_OF(X509_EXTENSION) * extensions) {
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
}
using Extensions = std::unique_ptr<STACK_OF(X509_EXTENSION), Free<free_extensions>>;

Status openssl_failure(const std::string& what) {
  std::string text = what;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text += std::string(": ") + buffer;
  }
  return Status::io_error(text);
}

Result<std::string> pem_of(const std::function<int(BIO*)>& write, const std::string& what) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return openssl_failure("cannot encode " + what);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  if (size <= 0 || data == nullptr) return openssl_failure("cannot encode " + what);
  return std::string(data, static_cast<std::size_t>(size));
}

Result<Request> make_request(EVP_PKEY* key, ReaderId reader) {
  Request request(X509_REQ_new());
  std::string name = "reader-" + std::to_string(reader.value);
  X509_NAME* subject = request ? X509_REQ_get_subject_name(request.get()) : nullptr;
  bool ok = request && X509_REQ_set_version(request.get(), 0) == 1 &&
            X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("citycard"),
                                       -1, -1, 0) == 1 &&
            X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0) == 1 &&
            X509_REQ_set_pubkey(request.get(), key) == 1;
  if (!ok) return openssl_failure("cannot fill in the CSR");
  std::string uri = "URI:citycard:reader:" + std::to_string(reader.value);
  Extensions extensions(sk_X509_EXTENSION_new_null());
  Extension alt_name(X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, uri.c_str()));
  if (!extensions || !alt_name || sk_X509_EXTENSION_push(extensions.get(), alt_name.get()) == 0) {
    return openssl_failure("cannot request the reader URI");
  }
  alt_name.release();  // the stack owns it now
  if (X509_REQ_add_extensions(request.get(), extensions.get()) != 1 ||
      X509_REQ_sign(request.get(), key, EVP_sha256()) <= 0) {
    return openssl_failure("cannot sign the CSR");
  }
  return request;
}

// A key file whole with mode 0600 from the start, never over an existing key.
Status write_key(const std::filesystem::path& path, const std::string& bytes) {
  Status status = files::write_file_durably(path, bytes, {.mode = files::mode_private, .existing = files::Existing::keep});
  if (status.code() == StatusCode::already_exists)
    return Status::already_exists(path.string() + " exists; a reader key is never replaced");
  return status;
}

}  // namespace

Status generate_reader_key(const std::filesystem::path& key_path, const std::filesystem::path& csr_path,
                           ReaderId reader) {
  if (reader.value == 0) return Status::invalid_argument("--reader-id must be a positive number");
  if (std::filesystem::exists(key_path)) {
    return Status::already_exists(key_path.string() + " exists; a reader key is never replaced");
  }
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return openssl_failure("cannot generate an EC P-256 key");
  auto request = make_request(key.get(), reader);
  if (!request) return request.status();
  auto key_text = pem_of([&](BIO* bio) { return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr); },
                         "the key");
  if (!key_text) return key_text.status();
  auto csr_text = pem_of([&](BIO* bio) { return PEM_write_bio_X509_REQ(bio, request->get()); }, "the CSR");
  if (!csr_text) return csr_text.status();
  // The key first, never over an existing one; then its CSR.
  if (Status written = write_key(key_path, key_text.value()); !written) return written;
  Status written = files::write_file_durably(csr_path, csr_text.value(), {.mode = files::mode_public});
  if (!written) ::unlink(key_path.c_str());  // a key without its CSR would only block the next try
  return written;
}

}  // namespace citycard::agent
