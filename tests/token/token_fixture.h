// A SoftHSM2 token of the test's own in a temporary directory
// (token/softhsm.h), with the test master keys imported by version: known
// values, so what the token derives can be checked against OpenSSL. Removed
// with its directory. One open token per process at a time (SoftHSM2 reads
// SOFTHSM2_CONF when the module is initialised).
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "card/crypto.h"
#include "token/softhsm.h"
#include "token/token.h"

namespace citycard::test {

// The test master key of version v: 000102..0F with its last byte xor v-1.
inline card::MasterKey test_master_key(std::uint8_t version = 1) {
  card::MasterKey master{*card::parse_key_hex("000102030405060708090A0B0C0D0E0F"), version};
  master.bytes[15] ^= static_cast<std::uint8_t>(version - 1);
  return master;
}

class TestToken {
 public:
  // A token with the test master keys of versions 1..versions_max imported.
  explicit TestToken(int versions_max = 1) {
    std::string pattern = (std::filesystem::temp_directory_path() / "citycard-token-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    root_ = pattern;
    dir_ = root_ + "/token";
    Status made = token::create_softhsm_token(dir_);
    INFO(made.to_string());
    REQUIRE(made.is_ok());
    auto opened = token::Token::open(options());
    INFO(opened.status().to_string());
    REQUIRE(opened.has_value());
    token_ = *opened;
    for (int version = 1; version <= versions_max; ++version) {
      auto v = static_cast<std::uint8_t>(version);
      REQUIRE(token_->import_master_key(v, test_master_key(v).bytes).is_ok());
    }
  }
  ~TestToken() {
    token_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  TestToken(const TestToken&) = delete;
  TestToken& operator=(const TestToken&) = delete;

  token::TokenOptions options() const { return token::softhsm_options(dir_); }
  const std::string& dir() const { return dir_; }
  token::Token& token() { return *token_; }
  std::shared_ptr<token::Token> shared() { return token_; }
  std::shared_ptr<token::TokenKeySource> key_source() { return std::make_shared<token::TokenKeySource>(token_); }

 private:
  std::string root_;
  std::string dir_;
  std::shared_ptr<token::Token> token_;
};

}  // namespace citycard::test
