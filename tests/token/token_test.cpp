// The PKCS#11 wrapper against a real SoftHSM2 token in a temporary directory:
// keys made in the token are sensitive and not extractable, card keys derived
// in it equal OpenSSL's AES-CMAC of the same master key, versions are found by
// label, a lost session is reopened, and PIN sources are checked.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fmt/format.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "card/cryptogram.h"
#include "token_fixture.h"

using namespace citycard;
using citycard::test::TestToken;
using citycard::test::test_master_key;

TEST_CASE("token: a card key derived in the token equals AES-CMAC of the master key, for each version", "[token]") {
  TestToken token(2);
  auto keys = token.key_source();
  const CardId card = *CardId::parse("04A1B2C3D4E5F6");
  auto v1 = keys->card_key(1, card);
  REQUIRE(v1.has_value());
  CHECK(card::to_hex(v1->bytes) == "8398C0C4CF4F7DC6898B4D13947F85B7");   // docs/card-protocol.md
  CHECK(*v1 == card::diversify_card_key(test_master_key(1), card));
  auto v2 = keys->card_key(2, card);
  REQUIRE(v2.has_value());
  CHECK(*v2 == card::diversify_card_key(test_master_key(2), card));
  CHECK_FALSE(*v1 == *v2);
  auto v3 = keys->card_key(3, card);
  CHECK(v3.status().code() == StatusCode::not_found);
  CHECK(v3.status().message().find("citycard-master-v3") != std::string::npos);
}

TEST_CASE("token: master keys are sensitive and never extractable, generated ones too", "[token]") {
  TestToken token(1);
  REQUIRE(token.token().generate_master_key(2).is_ok());
  CHECK(token.token().generate_master_key(2).code() == StatusCode::already_exists);
  auto listed = token.token().list_master_keys();
  REQUIRE(listed.has_value());
  REQUIRE(listed->size() == 2);
  for (const auto& key : *listed) {
    INFO(key.label);
    CHECK(key.sensitive);
    CHECK_FALSE(key.extractable);
  }
  for (std::uint8_t version : {1, 2}) {
    card::Block value{};
    Status read = token.token().read_key_value(version, value);
    INFO(read.to_string());
    CHECK(read.code() == StatusCode::refused);   // C_GetAttributeValue(CKA_VALUE) fails
    CHECK(read.message().find("0x11") != std::string::npos);   // CKR_ATTRIBUTE_SENSITIVE
    CHECK(value == card::Block{});
  }
  // The generated key works for CMAC inside the token.
  CHECK(token.token().cmac(2, card::Bytes{1, 2, 3}).has_value());
}

TEST_CASE("token: a lost session is reopened, the key source keeps answering", "[token]") {
  TestToken token(1);
  auto keys = token.key_source();
  const CardId card = *CardId::parse("04A1B2C3D4E5F6");
  auto before = keys->card_key(1, card);
  REQUIRE(before.has_value());
  token.token().drop_session_for_test();
  auto after = keys->card_key(1, card);
  INFO(after.status().to_string());
  REQUIRE(after.has_value());
  CHECK(*after == *before);
}

TEST_CASE("token: background derivations give way and still derive the right keys, foreground ones beside them", "[token]") {
  TestToken token(1);
  auto keys = token.key_source();
  const card::MasterKey master = test_master_key(1);
  auto card_number = [](std::uint32_t n) {
    return *CardId::parse(fmt::format("04{:012X}", n));
  };
  std::atomic<bool> stop{false};
  std::atomic<int> background_wrong{0};
  std::atomic<int> background_done{0};
  std::thread background([&] {
    for (std::uint32_t n = 0; !stop; ++n) {
      auto key = keys->card_key_when_idle(1, card_number(n));
      if (!key || !(*key == card::diversify_card_key(master, card_number(n)))) ++background_wrong;
      ++background_done;
    }
  });
  int foreground_wrong = 0;
  for (std::uint32_t n = 0; n < 200; ++n) {
    if (n == 100) token.token().drop_session_for_test();   // both paths reopen it
    auto key = keys->card_key(1, card_number(1'000'000 + n));
    if (!key || !(*key == card::diversify_card_key(master, card_number(1'000'000 + n)))) ++foreground_wrong;
  }
  while (background_done < 10) std::this_thread::yield();
  stop = true;
  background.join();
  CHECK(foreground_wrong == 0);
  CHECK(background_wrong == 0);
}

TEST_CASE("token: the PIN comes from a private file or the environment, never a loose one", "[token]") {
  TestToken token(1);
  token::TokenOptions options = token.options();
  REQUIRE(token::read_pin(options).has_value());

  ::chmod(options.pin_file.c_str(), 0644);
  auto loose = token::read_pin(options);
  CHECK(loose.status().code() == StatusCode::invalid_argument);
  CHECK(loose.status().message().find("0644") != std::string::npos);
  ::chmod(options.pin_file.c_str(), 0600);

  std::string pin = *token::read_pin(options);
  options.pin_file.clear();
  options.pin_env = "CITYCARD_TEST_TOKEN_PIN";
  ::unsetenv("CITYCARD_TEST_TOKEN_PIN");
  CHECK(token::read_pin(options).status().code() == StatusCode::invalid_argument);
  ::setenv("CITYCARD_TEST_TOKEN_PIN", pin.c_str(), 1);
  CHECK(*token::read_pin(options) == pin);
  ::unsetenv("CITYCARD_TEST_TOKEN_PIN");

  options.pin_env.clear();
  CHECK(token::read_pin(options).status().code() == StatusCode::invalid_argument);
}

TEST_CASE("token: an unknown label or a missing module is a clear error", "[token]") {
  TestToken token(1);
  // The fixture's token stays open: the module is initialised once for both.
  token::TokenOptions options = token.options();
  options.token_label = "no-such-token";
  CHECK(token::Token::open(options).status().code() == StatusCode::not_found);
  options = token.options();
  options.module_path = "/nonexistent/libpkcs11.so";
  auto missing = token::Token::open(options);
  CHECK(missing.status().code() == StatusCode::unavailable);
  CHECK(missing.status().message().find("/nonexistent/libpkcs11.so") != std::string::npos);
}
