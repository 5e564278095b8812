#include <catch2/catch.hpp>

#include "citycard/account.h"
#include "citycard/card.h"
#include "citycard/ids.h"
#include "citycard/status.h"
#include "citycard/tap.h"
#include "citycard/transfer.h"

using namespace citycard;

TEST_CASE("card ids parse from hex and print upper case") {
  auto id = CardId::parse("04a1b2c3d4e5f6");
  REQUIRE(id);
  CHECK(id->size() == 7);
  CHECK(id->to_string() == "04A1B2C3D4E5F6");
  CHECK_FALSE(CardId::parse(""));
  CHECK_FALSE(CardId::parse("0"));
  CHECK_FALSE(CardId::parse("04A1B"));
  CHECK_FALSE(CardId::parse("ZZ"));
  CHECK_FALSE(CardId::parse(std::string(34, 'A')));
}

TEST_CASE("idempotency keys round-trip through text") {
  IdempotencyKey key = IdempotencyKey::for_tap(TapId{ReaderId{17}, 123456});
  CHECK(key.to_string() == "tap:17:123456");
  auto parsed = IdempotencyKey::parse("tap:17:123456");
  REQUIRE(parsed);
  CHECK(*parsed == key);
  CHECK_FALSE(IdempotencyKey::parse("tap:17"));
  CHECK_FALSE(IdempotencyKey::parse("bus:1:2"));
  CHECK_FALSE(IdempotencyKey::parse("op:1:99999999999999999999999"));
  CHECK_FALSE(IdempotencyKey::parse("op:-1:2"));
  // Every origin round-trips, the last one (a refusal's record) included.
  for (std::uint8_t origin = 1; origin <= origin_max; ++origin) {
    IdempotencyKey each{static_cast<Origin>(origin), 7, 9};
    auto back = IdempotencyKey::parse(each.to_string());
    INFO(each.to_string());
    REQUIRE(back);
    CHECK(*back == each);
  }
  CHECK(IdempotencyKey::parse("rfs:3:99")->origin == Origin::refusal);
}

TEST_CASE("status and result carry errors as values") {
  Status ok;
  CHECK(ok.is_ok());
  Status refused = Status::refused("card 01 is blocked");
  CHECK_FALSE(refused.is_ok());
  CHECK(refused.to_string() == "refused: card 01 is blocked");

  Result<int> value = 5;
  REQUIRE(value);
  CHECK(*value == 5);
  Result<int> error = Status::not_found("no card 02");
  CHECK_FALSE(error);
  CHECK(error.status().code() == StatusCode::not_found);
}

TEST_CASE("names round-trip for every enum value") {
  for (int i = 1; i <= rider_category_count; ++i) {
    auto category = static_cast<RiderCategory>(i);
    CHECK(parse_rider_category(rider_category_name(category)) == category);
  }
  for (int i = 1; i <= mode_count; ++i) {
    auto mode = static_cast<Mode>(i);
    CHECK(parse_mode(mode_name(mode)) == mode);
  }
  for (int i = 1; i <= account_kind_count; ++i) {
    auto kind = static_cast<AccountKind>(i);
    CHECK(parse_account_kind(account_kind_name(kind)) == kind);
  }
  for (int i = 1; i <= 16; ++i) {
    auto code = static_cast<TransferCode>(i);
    CHECK(parse_transfer_code(transfer_code_name(code)) == code);
  }
  CHECK_FALSE(parse_mode("teleport"));
}
