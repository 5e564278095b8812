// Card state bytes: round trips, and truncated or garbage input rejected
// with a clear status, never a crash.
#include <random>

#include "rules_test_support.h"

using namespace citycard;
using namespace citycard::rules;
using namespace citycard::rules::testing;

namespace {
CardState busy_state() {
  CardState state = card(RiderCategory::disability, -12, 340);
  state.media = Media::mobile;
  state.status = CardStatus::blocked;
  state.auto_top_up_enabled = true;
  state.auto_top_up_amount_minor = 1000;
  state.points_month = 2025 * 12 + 2;
  state.visits = {1, 2, 3};
  state.recent_legs[3] = LegMemory{1, 2, 3, 1'000'000, 2'000'000, 25, 40, 1, true, false};
  state.metro = OpenJourney{true, OperatorId{201}, 0, 1005, 3'000'000, 52, 13, 52, TransferAdjust{0, 1, true, -8, 0}};
  state.bike = OpenRental{true, OperatorId{301}, 77, 4'000'000};
  state.cap_days[7] = CapDay{20150, 120};
  state.cap_months[2] = CapMonth{2025 * 12 + 2, 900};
  return state;
}
}  // namespace

TEST_CASE("card state round-trips through its bytes") {
  for (const CardState& state : {CardState{}, busy_state()}) {
    std::string bytes = encode_card_state(state);
    CHECK(bytes.size() == 496);
    CHECK(bytes[0] == static_cast<char>(card_state_format_version));
    auto decoded = decode_card_state(bytes);
    REQUIRE(decoded);
    CHECK(*decoded == state);
  }
}

TEST_CASE("card state decoding rejects truncated, versioned and invalid input") {
  const std::string bytes = encode_card_state(busy_state());
  CHECK(decode_card_state("").status().to_string() == "corruption: card state is empty");
  CHECK(decode_card_state(bytes.substr(0, 100)).status().to_string() ==
        "corruption: card state is 100 bytes, expected 496");
  CHECK(decode_card_state(bytes + "x").status().code() == StatusCode::corruption);
  std::string future = bytes;
  future[0] = 9;
  CHECK(decode_card_state(future).status().to_string() ==
        "corruption: card state format version 9 is not supported (expected 1)");
  std::string category = bytes;
  category[1] = 42;
  CHECK(decode_card_state(category).status().to_string() == "corruption: card state has unknown rider category 42");
  std::string flag = bytes;
  flag[4] = 2;  // auto_top_up
  CHECK(decode_card_state(flag).status().to_string() == "corruption: card state has a flag that is neither 0 nor 1");
}

TEST_CASE("card state decoding survives random garbage") {
  std::mt19937_64 random(20250304);
  int accepted = 0;
  for (int round = 0; round < 20'000; ++round) {
    std::string bytes(random() % 600, '\0');
    for (char& byte : bytes) byte = static_cast<char>(random());
    if (round % 2 == 0 && bytes.size() >= 1) bytes[0] = 1;  // right version, wrong everything else
    if (round % 4 == 0) bytes.resize(496);
    auto decoded = decode_card_state(bytes);
    if (decoded) ++accepted;
    else CHECK(decoded.status().code() == StatusCode::corruption);
  }
  // Almost all garbage fails an enum, flag or sign check.
  CHECK(accepted < 10);
}
