#include "keys.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "files/durable_file.h"

namespace citycard::settlement {
namespace {

constexpr const char* private_key_file = "settlement.key";
constexpr const char* public_key_file = "settlement.pub";
constexpr const char* token_key_file = "token.key";
constexpr std::size_t token_bytes = 16;
constexpr std::size_t sha256_block_bytes = 64;

struct PkeyFree { void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); } };
struct MdCtxFree { void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string sha256_hex(const std::uint8_t* data, std::size_t size) {
  std::uint8_t digest[32];
  unsigned length = 0;
  EVP_Digest(data, size, digest, &length, EVP_sha256(), nullptr);
  return to_hex_lower(digest, length);
}

// A key file, whole or not at all, with its mode from the start; never replacing a file.
Status write_new_file(const std::string& path, const std::string& contents, std::uint32_t mode) {
  Status status = files::write_file_durably(path, contents, {.mode = mode, .existing = files::Existing::keep});
  if (status.code() == StatusCode::already_exists) return Status::already_exists(path + " exists; keys are never overwritten");
  return status;
}

template <typename Writer>
std::string pem_of(EVP_PKEY* key, Writer write) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio, key);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return text;
}

Result<PkeyPtr> read_pem_key(const std::string& path, bool is_private) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (!file) return Status::not_found("no key file " + path + " (run `citycard settle keygen`)");
  EVP_PKEY* key = is_private ? PEM_read_PrivateKey(file, nullptr, nullptr, nullptr)
                             : PEM_read_PUBKEY(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    return Status::invalid_argument(path + " is not an Ed25519 PEM key");
  }
  return PkeyPtr(key);
}

}  // namespace

std::string to_hex_lower(const std::uint8_t* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    text[2 * i] = digits[data[i] >> 4];
    text[2 * i + 1] = digits[data[i] & 0x0F];
  }
  return text;
}

Status generate_keys(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return Status::io_error("cannot create " + dir + ": " + error.message());
  for (const char* name : {private_key_file, public_key_file, token_key_file})
    if (std::filesystem::exists(dir + "/" + name)) return Status::already_exists(dir + "/" + name + " exists; keys are never overwritten");
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Status::io_error("Ed25519 key generation failed");
  std::uint8_t token_key[32];
  if (RAND_bytes(token_key, sizeof token_key) != 1) return Status::io_error("no randomness for the token key");
  auto private_pem = pem_of(key.get(), [](BIO* bio, EVP_PKEY* k) {
    PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
  });
  auto public_pem = pem_of(key.get(), [](BIO* bio, EVP_PKEY* k) { PEM_write_bio_PUBKEY(bio, k); });
  if (Status s = write_new_file(dir + "/" + private_key_file, private_pem, files::mode_private); !s) return s;
  if (Status s = write_new_file(dir + "/" + public_key_file, public_pem, files::mode_public); !s) return s;
  return write_new_file(dir + "/" + token_key_file, to_hex_lower(token_key, sizeof token_key) + "\n", files::mode_private);
}

// ---- TokenHasher ----------------------------------------------------------

struct TokenHasher::State {
  MdCtxPtr inner{EVP_MD_CTX_new()};   // SHA-256 after absorbing key ^ ipad
  MdCtxPtr outer{EVP_MD_CTX_new()};   // SHA-256 after absorbing key ^ opad
  MdCtxPtr scratch{EVP_MD_CTX_new()};
};

TokenHasher::TokenHasher(const std::array<std::uint8_t, 32>& key) : state_(std::make_unique<State>()) {
  std::uint8_t inner_pad[sha256_block_bytes];
  std::uint8_t outer_pad[sha256_block_bytes];
  for (std::size_t i = 0; i < sha256_block_bytes; ++i) {
    std::uint8_t byte = i < key.size() ? key[i] : 0;
    inner_pad[i] = byte ^ 0x36;
    outer_pad[i] = byte ^ 0x5c;
  }
  EVP_DigestInit_ex(state_->inner.get(), EVP_sha256(), nullptr);
  EVP_DigestUpdate(state_->inner.get(), inner_pad, sizeof inner_pad);
  EVP_DigestInit_ex(state_->outer.get(), EVP_sha256(), nullptr);
  EVP_DigestUpdate(state_->outer.get(), outer_pad, sizeof outer_pad);
}

TokenHasher::~TokenHasher() = default;

std::string TokenHasher::token(const CardId& card) const {
  std::uint8_t inner_digest[32];
  std::uint8_t mac[32];
  unsigned length = 0;
  EVP_MD_CTX* ctx = state_->scratch.get();
  EVP_MD_CTX_copy_ex(ctx, state_->inner.get());
  EVP_DigestUpdate(ctx, card.data(), card.size());
  EVP_DigestFinal_ex(ctx, inner_digest, &length);
  EVP_MD_CTX_copy_ex(ctx, state_->outer.get());
  EVP_DigestUpdate(ctx, inner_digest, sizeof inner_digest);
  EVP_DigestFinal_ex(ctx, mac, &length);
  std::string hex = to_hex_lower(mac, token_bytes);
  for (char& c : hex) c = static_cast<char>(c >= 'a' ? c - 'a' + 'A' : c);
  return hex;
}

// ---- SettlementKeys -------------------------------------------------------

struct SettlementKeys::Impl {
  PkeyPtr private_key;  // null when loaded public_only
  PkeyPtr public_key;
  std::string signing_key_id;
  std::string token_key_id;
  std::unique_ptr<TokenHasher> tokens;
};

SettlementKeys::SettlementKeys(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SettlementKeys::SettlementKeys(SettlementKeys&&) noexcept = default;
SettlementKeys& SettlementKeys::operator=(SettlementKeys&&) noexcept = default;
SettlementKeys::~SettlementKeys() = default;

Result<SettlementKeys> SettlementKeys::load(const std::string& dir, bool public_only) {
  auto impl = std::make_unique<Impl>();
  if (!public_only) {
    auto key = read_pem_key(dir + "/" + private_key_file, true);
    if (!key) return key.status();
    impl->private_key = std::move(key.value());
    std::ifstream in(dir + "/" + token_key_file);
    std::string hex;
    if (!(in >> hex)) return Status::not_found("no token key " + dir + "/" + token_key_file);
    if (hex.size() != 64) return Status::invalid_argument(dir + "/" + token_key_file + " must hold 64 hex digits");
    std::array<std::uint8_t, 32> token_key{};
    for (std::size_t i = 0; i < 32; ++i) {
      auto half = CardId::parse(hex.substr(2 * i, 2));  // the vocabulary's hex parser, one byte at a time
      if (!half) return Status::invalid_argument(dir + "/" + token_key_file + " must hold 64 hex digits");
      token_key[i] = half->data()[0];
    }
    impl->token_key_id = sha256_hex(token_key.data(), token_key.size()).substr(0, 16);
    impl->tokens = std::make_unique<TokenHasher>(token_key);
  }
  auto public_key = read_pem_key(dir + "/" + public_key_file, false);
  if (!public_key) return public_key.status();
  impl->public_key = std::move(public_key.value());
  std::uint8_t raw[32];
  std::size_t raw_size = sizeof raw;
  EVP_PKEY_get_raw_public_key(impl->public_key.get(), raw, &raw_size);
  impl->signing_key_id = sha256_hex(raw, raw_size).substr(0, 16);
  if (impl->private_key) {
    std::uint8_t derived[32];
    std::size_t derived_size = sizeof derived;
    EVP_PKEY_get_raw_public_key(impl->private_key.get(), derived, &derived_size);
    if (derived_size != raw_size || std::memcmp(raw, derived, raw_size) != 0)
      return Status::invalid_argument(dir + ": settlement.pub does not belong to settlement.key");
  }
  return SettlementKeys(std::move(impl));
}

bool SettlementKeys::can_sign() const { return impl_->private_key != nullptr; }
const std::string& SettlementKeys::signing_key_id() const { return impl_->signing_key_id; }
const std::string& SettlementKeys::token_key_id() const { return impl_->token_key_id; }
const TokenHasher& SettlementKeys::tokens() const {
  assert(impl_->tokens && "token key not loaded (public_only)");
  return *impl_->tokens;
}

namespace {
// A read-only mapping of a whole file: Ed25519 (without prehash) needs the
// message in one piece, and a mapping keeps it out of the heap.
class MappedFile {
 public:
  static Result<MappedFile> open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return Status::io_error("cannot open " + path + ": " + std::strerror(errno));
    struct stat info {};
    ::fstat(fd, &info);
    MappedFile file;
    file.size_ = static_cast<std::size_t>(info.st_size);
    if (file.size_ > 0) {
      void* data = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (data == MAP_FAILED) {
        ::close(fd);
        return Status::io_error("cannot map " + path);
      }
      file.data_ = static_cast<const std::uint8_t*>(data);
    }
    ::close(fd);
    return file;
  }
  MappedFile(MappedFile&& other) noexcept : data_(std::exchange(other.data_, nullptr)), size_(other.size_) {}
  ~MappedFile() {
    if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
  }
  const std::uint8_t* data() const { return data_ ? data_ : reinterpret_cast<const std::uint8_t*>(""); }
  std::size_t size() const { return size_; }

 private:
  MappedFile() = default;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};
}  // namespace

Result<std::string> SettlementKeys::sign_file(const std::string& path) const {
  if (!can_sign()) return Status::invalid_argument("the signing key is not loaded");
  auto file = MappedFile::open(path);
  if (!file) return file.status();
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string signature(64, '\0');
  std::size_t size = signature.size();
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->private_key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, file->data(), file->size()) != 1)
    return Status::io_error("signing " + path + " failed");
  signature.resize(size);
  return signature;
}

Status SettlementKeys::verify_file(const std::string& path, const std::string& signature) const {
  auto file = MappedFile::open(path);
  if (!file) return file.status();
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, impl_->public_key.get()) != 1)
    return Status::io_error("cannot start verifying " + path);
  int verdict = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                 file->data(), file->size());
  return verdict == 1 ? Status::ok() : Status::corruption("bad signature on " + path);
}

Result<std::string> sha256_file_hex(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return Status::not_found("cannot open " + path);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buffer(1u << 20);
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) EVP_DigestUpdate(ctx.get(), buffer.data(), got);
  bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return Status::io_error("cannot read " + path);
  std::uint8_t digest[32];
  unsigned length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  return to_hex_lower(digest, length);
}

}  // namespace citycard::settlement
