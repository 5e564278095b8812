#include "tap_token.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "citycard/check.h"
#include "files/durable_file.h"

namespace citycard::engine {
namespace {

constexpr std::string_view token_label{"citycard tap record token v1\0", 29};
static_assert(token_label.size() == 29 && token_label.back() == '\0');

std::string hex_lower(const std::uint8_t* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    text[2 * i] = digits[data[i] >> 4];
    text[2 * i + 1] = digits[data[i] & 0x0F];
  }
  return text;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string create_hint(const std::string& path) {
  return " (make one with `citycard records token-key --create --file " + path + "`)";
}

}  // namespace

CardId TapTokenKey::token(const CardId& card) const {
  std::string message(token_label);
  message.append(reinterpret_cast<const char*>(card.data()), card.size());
  std::uint8_t mac[EVP_MAX_MD_SIZE];
  std::size_t length = 0;
  // HMAC-SHA256 over a few dozen bytes cannot fail but for a broken OpenSSL:
  // a record anonymised with garbage would be worse than stopping.
  const unsigned char* result =
      EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, bytes_.data(), bytes_.size(),
                reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, sizeof mac, &length);
  CITYCARD_CHECK(result != nullptr && length == 32);
  return CardId::from_bytes(mac, tap_token_bytes);
}

Result<TapTokenKey> load_tap_token_key(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return Status::not_found("no tap record token key " + path + create_hint(path));
  if ((info.st_mode & 077) != 0) {
    return Status::invalid_argument("tap record token key " + path + " may be read by group or others; chmod 600 it");
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Status::io_error("cannot read the tap record token key " + path);
  std::string hex = text.str();
  if (!hex.empty() && hex.back() == '\n') hex.pop_back();
  std::array<std::uint8_t, tap_token_key_bytes> bytes{};
  // The file's content is never quoted in an error: it is the key.
  const Status malformed = Status::invalid_argument("tap record token key " + path + " is not " +
                                                    std::to_string(2 * tap_token_key_bytes) + " hex digits");
  if (hex.size() != 2 * tap_token_key_bytes) return malformed;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const int high = hex_digit(hex[2 * i]);
    const int low = hex_digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return malformed;
    bytes[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return TapTokenKey(bytes);
}

Status create_tap_token_key(const std::string& path) {
  std::array<std::uint8_t, tap_token_key_bytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) return Status::io_error("no randomness for a token key");
  Status written = files::write_file_durably(path, hex_lower(bytes.data(), bytes.size()) + "\n",
                                             {.mode = files::mode_private, .existing = files::Existing::keep});
  if (written.code() == StatusCode::already_exists) {
    return Status::already_exists(path + " exists; a token key is never replaced (tokens made with it would no longer match)");
  }
  return written;
}

}  // namespace citycard::engine
