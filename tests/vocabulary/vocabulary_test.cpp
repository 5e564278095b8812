#include <set>
#include <string_view>

#include <catch2/catch.hpp>

#include "citycard/account.h"
#include "citycard/card.h"
#include "citycard/ids.h"
#include "citycard/programme.h"
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
  for (int i = 1; i <= transfer_code_max; ++i) {
    auto code = static_cast<TransferCode>(i);
    CHECK(transfer_code_name(code) != "?");
    CHECK(parse_transfer_code(transfer_code_name(code)) == code);
  }
  CHECK_FALSE(parse_transfer_code("?"));
  CHECK_FALSE(parse_mode("teleport"));
}

TEST_CASE("every programme has its own name, transfer code and budget role") {
  std::set<std::string_view> names;
  std::set<TransferCode> codes;
  std::set<AccountRole> roles;
  for (Programme programme : all_programmes()) {
    INFO(programme_name(programme));
    CHECK(programme_name(programme) != "?");
    CHECK(parse_programme(programme_name(programme)) == programme);
    CHECK(programme_of(programme_code(programme)) == programme);
    CHECK(is_city_budget_role(programme_budget_role(programme)));
    names.insert(programme_name(programme));
    codes.insert(programme_code(programme));
    roles.insert(programme_budget_role(programme));
  }
  CHECK(names.size() == programme_count);
  CHECK(codes.size() == programme_count);
  CHECK(roles.size() == programme_count);
  // Ledgers written before programmes: their codes still name a programme.
  CHECK(programme_of(TransferCode::subsidy) == Programme::unattributed);
  CHECK(programme_of(TransferCode::points_subsidy) == Programme::welfare_points);
  for (TransferCode other : {TransferCode::fare, TransferCode::fare_refund, TransferCode::top_up, TransferCode::settlement})
    CHECK_FALSE(programme_of(other));
  CHECK_FALSE(parse_programme("student_subsidy"));
  CHECK_FALSE(is_city_budget_role(AccountRole::operator_payable));
}
