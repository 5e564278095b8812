// Card state bytes: round trips (v2 written, v1 still read), sizes, and
// truncated or garbage input rejected with a clear status, never a crash.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <random>

#include "card_state_codec.h"
#include "rules_test_support.h"

using namespace citycard;
using namespace citycard::rules;
using namespace citycard::rules::testing;

namespace {
constexpr std::int64_t i64_min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int32_t i32_min = std::numeric_limits<std::int32_t>::min();

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

// encode_card_state_v1(busy_state()) as the v1 encoder wrote it before v2 existed.
std::string busy_state_v1_bytes() {
  const char* hex =
      "0104020201f4ffffffffffffff5401000000000000e803000000000000ee5e00000000000001000200030000000000ff"
      "ffffff000000000000000000000000000000000000000000000000000000000000000000000000000000ffffffff0000"
      "00000000000000000000000000000000000000000000000000000000000000000000000000ffffffff00000000000000"
      "00000000000000000000000000000000000000000000000000000000010000000200030040420f000000000080841e00"
      "000000001900000000000000280000000000000001010000000000000000000000000000000000000000000000000000"
      "0000000000000000000000000000000000000000ffffffff010000000000000000000000000000000001c90000000000"
      "0000ed030000c0c62d000000000034000000000000000d0000000000000034000000000000000000010001f8ffffffff"
      "ffffff0000000000000000012d0100004d00000000093d00000000000000000000000000000000000000000000000000"
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
      "00000000000000000000000000000000b64e000078000000000000000000000000000000000000000000000000000000"
      "00000000ee5e00008403000000000000";
  std::string bytes;
  for (const char* p = hex; p[0] != '\0'; p += 2) bytes.push_back(static_cast<char>(std::stoi(std::string(p, 2), nullptr, 16)));
  return bytes;
}

// A student who boarded a two-segment bus (104) and has not alighted: one
// leg, the open bus journey, one cap day and its month, the points month.
CardState commuter_state() {
  const Rating rating = rate(city_rules(), card(RiderCategory::student, 1234),
                             make_tap(Mode::bus_board, 104, taipei(2025, 3, 4, 7, 42), 2003, 9));
  REQUIRE(rating.approved());
  return rating.state;
}

// Slots that are easy to lose: set after empty ones, set but with a zero
// key, one flag only; every flag set elsewhere.
CardState odd_state() {
  CardState state = card(RiderCategory::general, -1);
  state.recent_legs[0] = LegMemory{7, 0, 0, -5, -6, 0, 0, 0, false, false};  // before empty slots
  state.recent_legs[2].late_paired = true;                                    // version 0, one flag
  state.cap_days[0] = CapDay{0, 1};                                           // day 0, paid
  state.cap_days[5].business_day = -1;
  state.cap_months[1].paid_minor = 3;
  state.visits[2] = 1;                                                        // month 0, one visit
  state.auto_top_up_enabled = true;                                           // amount 0
  state.bus.transfer.use_own_price = false;                                   // not open, one field
  state.metro = OpenJourney{true, OperatorId{1}, 1, 1, 1, 1, 1, 1, TransferAdjust{1, 1, true, 1, 1}};
  state.bike.open = true;
  return state;
}

template <typename T>
T wrap_add(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}

// Every field at the value that costs it the most bytes, still a valid state.
CardState largest_state() {
  CardState state;
  state.category = RiderCategory::employee;
  state.media = Media::co_branded_credit;
  state.status = CardStatus::replaced;
  state.wallet_minor = i64_min;
  state.points = i64_min;
  state.auto_top_up_enabled = true;
  state.auto_top_up_amount_minor = i64_max;
  state.points_month = i32_min;
  state.visits_month = wrap_add(state.points_month, i32_min);
  state.visits = {0xFFFF, 0xFFFF, 0xFFFF};
  std::int64_t previous_us = 0;
  for (LegMemory& leg : state.recent_legs) {
    leg = LegMemory{0xFFFFFFFF, 0xFFFE, 0xFFFE, wrap_add(previous_us, i64_min), 0, i64_min, i64_min, 255, true, true};
    leg.end_us = wrap_add(leg.start_us, i64_min);
    previous_us = leg.start_us;
  }
  for (OpenJourney* journey : {&state.bus, &state.metro})
    *journey = OpenJourney{true, OperatorId{0xFFFFFFFF}, 0xFFFFFFFF, 0xFFFFFFFF, wrap_add(previous_us, i64_min), i64_max,
                           i64_max, i64_min, TransferAdjust{0xFFFE, 0xFFFE, true, i64_min, i64_min}};
  for (OpenJourney* journey : {&state.bus, &state.metro}) journey->programme_paid_minor.fill(i64_max);
  state.bike = OpenRental{true, OperatorId{0xFFFFFFFF}, 0xFFFFFFFF, wrap_add(previous_us, i64_min)};
  std::int32_t previous_day = 0;
  for (CapDay& day : state.cap_days) day = CapDay{previous_day = wrap_add(previous_day, i32_min), i64_max};
  std::int32_t previous_month = state.points_month;
  for (CapMonth& month : state.cap_months) month = CapMonth{previous_month = wrap_add(previous_month, i32_min), i64_max};
  state.auto_top_up_threshold_minor = i64_max;
  state.auto_top_up_daily_max_minor = i64_max;
  state.wallet_day = WalletDay{i32_min, i64_max, i64_max};
  state.bonus_points = i64_max;
  state.bonus_expiry_month = std::numeric_limits<std::int32_t>::max();
  return state;
}

// Random valid states from one seed: slots empty, partly or fully set, any
// order; integers 0, extreme, small or any. Checked amounts stay >= 0.
class RandomState {
 public:
  explicit RandomState(std::uint64_t seed) : random_(seed) {}

  CardState next() {
    CardState s;
    s.category = static_cast<RiderCategory>(1 + random_() % rider_category_count);
    s.media = static_cast<Media>(1 + random_() % 3);
    s.status = static_cast<CardStatus>(1 + random_() % 4);
    s.wallet_minor = any<std::int64_t>();
    s.points = any<std::int64_t>();
    s.auto_top_up_enabled = coin();
    s.auto_top_up_amount_minor = non_negative();
    s.points_month = any<std::int32_t>();
    s.visits_month = any<std::int32_t>();
    for (auto& visits : s.visits) visits = any<std::uint16_t>();
    for (LegMemory& leg : s.recent_legs) {
      if (coin()) continue;
      leg = LegMemory{any<std::uint32_t>(), any<Index>(), any<Index>(), any<std::int64_t>(), any<std::int64_t>(),
                      any<std::int64_t>(), any<std::int64_t>(), any<std::uint8_t>(), coin(), coin()};
    }
    for (OpenJourney* journey : {&s.bus, &s.metro}) {
      if (coin()) continue;
      *journey = OpenJourney{coin(), OperatorId{any<std::uint32_t>()}, any<std::uint32_t>(), any<std::uint32_t>(),
                             any<std::int64_t>(), non_negative(), non_negative(), any<std::int64_t>(),
                             TransferAdjust{any<Index>(), any<Index>(), coin(), any<std::int64_t>(), any<std::int64_t>()}};
      for (std::int64_t& paid : journey->programme_paid_minor)
        if (coin()) paid = non_negative();
    }
    if (!coin()) s.bike = OpenRental{coin(), OperatorId{any<std::uint32_t>()}, any<std::uint32_t>(), any<std::int64_t>()};
    for (CapDay& day : s.cap_days)
      if (!coin()) day = CapDay{any<std::int32_t>(), non_negative()};
    for (CapMonth& month : s.cap_months)
      if (!coin()) month = CapMonth{any<std::int32_t>(), non_negative()};
    if (coin()) s.auto_top_up_threshold_minor = coin() ? auto_top_up_threshold_of_rules : non_negative();
    if (coin()) s.auto_top_up_daily_max_minor = non_negative();
    if (coin()) s.wallet_day = WalletDay{any<std::int32_t>(), non_negative(), non_negative()};
    if (coin()) s.bonus_points = non_negative();
    if (coin()) s.bonus_expiry_month = static_cast<std::int32_t>(non_negative() & 0x7FFFFFFF);
    return s;
  }

 private:
  bool coin() { return random_() % 2 == 0; }
  template <typename T>
  T any() {
    switch (random_() % 6) {
      case 0: return 0;
      case 1: return std::numeric_limits<T>::min();
      case 2: return std::numeric_limits<T>::max();
      case 3: return static_cast<T>(static_cast<std::int64_t>(random_() % 2000) - (std::is_signed_v<T> ? 1000 : 0));
      default: return static_cast<T>(random_());
    }
  }
  std::int64_t non_negative() {
    const std::int64_t value = any<std::int64_t>();
    return value == i64_min ? i64_max : value < 0 ? -value : value;
  }
  std::mt19937_64 random_;
};

// What a state reads as from a format before v4 (v1, v2, v3): no card
// threshold or daily limit of its own, no wallet day, and pre_v5.
CardState pre_v4(CardState state) { return codec::as_stored_by(codec::version_programmes, state); }

// What a state reads as from v4: no bonus points or expiry month.
CardState pre_v5(CardState state) { return codec::as_stored_by(codec::version_limits, state); }

// What a state reads as from a format before programmes (v1, v2): each
// journey's subsidy all under Programme::unattributed, and pre_v4.
CardState legacy(CardState state) { return codec::as_stored_by(codec::version_compact, state); }

std::string decode_error(std::string_view bytes) {
  auto decoded = decode_card_state(bytes);
  if (decoded) return "(decoded)";
  return decoded.status().to_string();
}

std::string bytes_of(std::initializer_list<int> values) {
  std::string bytes;
  for (int value : values) bytes.push_back(static_cast<char>(value));
  return bytes;
}
}  // namespace

TEST_CASE("card state round-trips through its bytes") {
  for (const CardState& state : {CardState{}, busy_state(), commuter_state(), largest_state(), odd_state()}) {
    const std::string bytes = encode_card_state(state);
    CHECK(bytes[0] == static_cast<char>(card_state_format_version));
    CHECK(bytes.size() <= card_state_bytes_max);
    auto decoded = decode_card_state(bytes);
    REQUIRE(decoded);
    CHECK(*decoded == state);
  }
}

TEST_CASE("card state v5 is small for the states riders have") {
  CHECK(encode_card_state(CardState{}) == bytes_of({5, 0}));                  // version, no groups
  CHECK(encode_card_state(card(RiderCategory::general, -3)) == bytes_of({5, 2, 5}));  // wallet zigzag(-3)
  // Bonus points (bit 26): 7 points (zigzag 14), valid to the end of 2026-03 (24314, zigzag 48628).
  CardState bonus;
  bonus.bonus_points = 7;
  bonus.bonus_expiry_month = 2026 * 12 + 2;
  CHECK(encode_card_state(bonus) == bytes_of({5, 0x80, 0x80, 0x80, 0x20, 14, 0xF4, 0xFB, 0x02}));
  CHECK(*decode_card_state(encode_card_state(bonus)) == bonus);
  // Bit 26 is v5's: unknown to v4, and bit 27 unknown to v5.
  CHECK(decode_error(bytes_of({4, 0x80, 0x80, 0x80, 0x20, 14, 0xF4, 0xFB, 0x02})) ==
        "corruption: card state has unknown presence bits 0x4000000 (bits 0-25 are defined)");
  CHECK(decode_error(bytes_of({5, 0x80, 0x80, 0x80, 0x40})) ==
        "corruption: card state has unknown presence bits 0x8000000 (bits 0-26 are defined)");
  // v4 drops them, and a card that never had bonus points writes v4's bytes but the version.
  CHECK(*decode_card_state(codec::encode_card_state_v4(bonus)) == CardState{});
  CHECK(encode_card_state(busy_state()).substr(1) == codec::encode_card_state_v4(busy_state()).substr(1));
  const CardState commuter = commuter_state();
  CHECK(std::count_if(commuter.recent_legs.begin(), commuter.recent_legs.end(), [](auto& l) { return l != LegMemory{}; }) == 1);
  CHECK(commuter.bus.open);
  CHECK(std::count_if(commuter.cap_days.begin(), commuter.cap_days.end(), [](auto& d) { return d != CapDay{}; }) == 1);
  // Measured 50 bytes (v1: 496), 8 of them the leg's absolute start_us; the
  // bound leaves a few bytes for price or id changes in city.toml, not a group.
  CHECK(encode_card_state(commuter).size() <= 56);      // v3: 51, one programme byte for the open ride
  CHECK(encode_card_state(busy_state()).size() <= 80);  // measured 72 (v2: 71): 11 groups
  // The largest record the grammar allows is card_state_bytes_max, exactly.
  CHECK(encode_card_state(largest_state()).size() == card_state_bytes_max);
}

TEST_CASE("card state v5 round-trips random states, extreme values and odd slots") {
  for (std::uint64_t seed = 1; seed <= 5000; ++seed) {
    CAPTURE(seed);
    const CardState state = RandomState(seed).next();
    const std::string bytes = encode_card_state(state);
    REQUIRE(bytes.size() <= card_state_bytes_max);
    auto decoded = decode_card_state(bytes);
    REQUIRE(decoded);
    REQUIRE(*decoded == state);
    auto from_v1 = decode_card_state(codec::encode_card_state_v1(state));
    REQUIRE(from_v1);
    REQUIRE(*from_v1 == legacy(state));
    auto from_v2 = decode_card_state(codec::encode_card_state_v2(state));
    REQUIRE(from_v2);
    REQUIRE(*from_v2 == legacy(state));
    auto from_v3 = decode_card_state(codec::encode_card_state_v3(state));
    REQUIRE(from_v3);
    REQUIRE(*from_v3 == pre_v4(state));
    auto from_v4 = decode_card_state(codec::encode_card_state_v4(state));
    REQUIRE(from_v4);
    REQUIRE(*from_v4 == pre_v5(state));
    // A cut anywhere is noticed.
    const std::size_t cut = 1 + seed % (bytes.size() - 1);
    REQUIRE(decode_error(bytes.substr(0, cut)).rfind("corruption: card state is truncated at byte " + std::to_string(cut) + " (", 0) == 0);
  }
}

// Card states in ledgers are v2 bytes: pinned as the codec wrote them before
// the coding library replaced its own varint writer and reader.
TEST_CASE("card state v2 bytes are pinned and decode") {
  auto hex = [](std::string_view bytes) {
    std::string out;
    for (unsigned char b : bytes) out += "0123456789abcdef"[b >> 4], out += "0123456789abcdef"[b & 15];
    return out;
  };
  const std::string busy =
      "028f81f20604020217a805dcfb0201030480897a80897a3250010100ecba02f00100880edbfb0201020301d00f01c90100ed078092f401681a680102010f0001ad024d809bee02";
  const std::string odd =
      "02d2c2e80701070101090100000000000000000a000000000100000201000006000000010100000000000000000000000000000101010102020202020201020201000000";
  const std::string largest =
      "02ffffff07060304ffffffffffffffffff01ffffffffffffffffff01ffffffff0fffffffff0fffff03ffff03ffffffffffff"
      "ffffff01ffffffffffffffffff01ffffffffffffffffff01ffffffffffffffffff01ff0101ffffffff0fffff03ffff03ffff"
      "ffffffffffffff01ffffffffffffffffff01ffffffffffffffffff01ffffffffffffffffff01ff0101ffffffff0fffff03ff"
      "ff03ffffffffffffffffff01ffffffffffffffffff01ffffffffffffffffff01ffffffffffffffffff01ff0101ffffffff0f"
      "ffff03ffff03ffffffffffffffffff01ffffffffffffffffff01ffffffffffffffffff01ffffffffffffffffff01ff0101ff"
      "ffffff0ffeffffffffffffffff01ffffffff0ffeffffffffffffffff01ffffffff0ffeffffffffffffffff01ffffffff0ffe"
      "ffffffffffffffff01ffffffff0ffeffffffffffffffff01ffffffff0ffeffffffffffffffff01ffffffff0ffeffffffffff"
      "ffffff01ffffffff0ffeffffffffffffffff01ffffffff0ffeffffffffffffffff01ffffffff0ffeffffffffffffffff01ff"
      "ffffff0ffeffffffffffffffff01ffffffff0fffff03ffff03ffff0301feffffffffffffffff0101ffffffff0fffffffff0f"
      "ffffffff0fffffffffffffffffff01feffffffffffffffff01feffffffffffffffff01ffffffffffffffffff01ffff03ffff"
      "0301ffffffffffffffffff01ffffffffffffffffff0101ffffffff0fffffffff0fffffffff0fffffffffffffffffff01feff"
      "ffffffffffffff01feffffffffffffffff01ffffffffffffffffff01ffff03ffff0301ffffffffffffffffff01ffffffffff"
      "ffffffff0101ffffffff0fffffffff0fffffffffffffffffff01";
  CHECK(hex(codec::encode_card_state_v2(busy_state())) == busy);
  CHECK(hex(codec::encode_card_state_v2(odd_state())) == odd);
  CHECK(hex(codec::encode_card_state_v2(legacy(largest_state()))) == largest);
  for (const auto& [bytes, state] : {std::pair{busy, busy_state()}, std::pair{odd, odd_state()}, std::pair{largest, largest_state()}}) {
    std::string raw;
    for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) raw.push_back(static_cast<char>(std::stoi(bytes.substr(i, 2), nullptr, 16)));
    auto decoded = decode_card_state(raw);
    REQUIRE(decoded);
    CHECK(*decoded == legacy(state));
  }
}

// Version 3 adds each journey's paid amounts per programme; pinned here.
TEST_CASE("card state v3 journey programmes are pinned and refuse unknown programmes") {
  CardState state;
  state.metro.open = true;
  state.metro.subsidy_paid_minor = 19;
  state.metro.programme_paid_minor[programme_index(Programme::category_fare)] = 13;
  state.metro.programme_paid_minor[programme_index(Programme::transfer_discount)] = 6;
  const std::string bytes = codec::encode_card_state_v4(state);
  // version 4, present bit 22 (metro), open, zeros..., subsidy 19 (zigzag 38),
  // no transfer (use_own_price 1), paid bits 2 and 4 (0x14), 13 and 6 zigzagged.
  CHECK(bytes == bytes_of({4, 0x80, 0x80, 0x80, 0x02, 1, 0, 0, 0, 0, 0, 38, 0, 0, 0, 1, 0, 0, 0x14, 26, 12}));
  auto decoded = decode_card_state(bytes);
  REQUIRE(decoded);
  CHECK(*decoded == state);
  std::string short_of_one = bytes;
  short_of_one[short_of_one.size() - 3] = 0x16;  // bits 1, 2 and 4: three amounts announced, two follow
  CHECK(decode_error(short_of_one).rfind("corruption: card state is truncated at byte 21", 0) == 0);
  std::string beyond = bytes.substr(0, bytes.size() - 3) + bytes_of({0x80, 0x04});  // bit 9: no such programme
  CHECK(decode_error(beyond) ==
        "corruption: card state has a journey paid by an unknown programme at byte 18 (journey.programme_paid_minor)");
}

TEST_CASE("card state v1 bytes written before v2 still decode") {
  const std::string v1 = busy_state_v1_bytes();
  CHECK(codec::encode_card_state_v1(busy_state()) == v1);
  auto decoded = decode_card_state(v1);
  REQUIRE(decoded);
  CHECK(*decoded == legacy(busy_state()));
  for (const CardState& state : {CardState{}, commuter_state(), largest_state()}) {
    auto again = decode_card_state(codec::encode_card_state_v1(state));
    REQUIRE(again);
    CHECK(*again == legacy(state));
  }
}

TEST_CASE("card state v1 decoding rejects truncated, versioned and invalid input") {
  const std::string bytes = codec::encode_card_state_v1(busy_state());
  CHECK(decode_card_state("").status().to_string() == "corruption: card state is empty");
  CHECK(decode_card_state(bytes.substr(0, 100)).status().to_string() ==
        "corruption: card state is 100 bytes, expected 496");
  CHECK(decode_card_state(bytes + "x").status().code() == StatusCode::corruption);
  for (int version : {0, 6, 9, 255}) {
    std::string future = bytes;
    future[0] = static_cast<char>(version);
    CHECK(decode_card_state(future).status().to_string() ==
          "corruption: card state format version " + std::to_string(version) + " is not supported (expected 1, 2, 3, 4 or 5)");
  }
  std::string category = bytes;
  category[1] = 42;
  CHECK(decode_card_state(category).status().to_string() == "corruption: card state has unknown rider category 42");
  std::string flag = bytes;
  flag[4] = 2;  // auto_top_up
  CHECK(decode_card_state(flag).status().to_string() == "corruption: card state has a flag that is neither 0 nor 1");
}

TEST_CASE("card state v2 decoding rejects every truncation and trailing bytes") {
  for (const CardState& state : {busy_state(), commuter_state(), largest_state()}) {
    const std::string bytes = encode_card_state(state);
    CHECK(decode_error(bytes.substr(0, 0)) == "corruption: card state is empty");
    for (std::size_t length = 1; length < bytes.size(); ++length) {
      CAPTURE(length);
      REQUIRE(decode_error(bytes.substr(0, length)).rfind("corruption: card state is truncated at byte " + std::to_string(length) + " (", 0) == 0);
    }
    if (bytes.size() < card_state_bytes_max)
      CHECK(decode_error(bytes + '\0') == "corruption: card state has 1 trailing byte(s) after its fields end at byte " +
                                               std::to_string(bytes.size()));
    else
      CHECK(decode_error(bytes + '\0') == "corruption: card state is 871 bytes, more than the 870 of format version 5");
  }
  CHECK(decode_error(bytes_of({2, 2})) == "corruption: card state is truncated at byte 2 (wallet_minor)");
  CHECK(decode_error(bytes_of({2})) == "corruption: card state is truncated at byte 1 (present)");
  CHECK(decode_error(std::string(900, '\x02')) == "corruption: card state is 900 bytes, more than the 870 of format version 2");
}

TEST_CASE("card state v2 decoding rejects bad varints, presence bits, enums and flags") {
  // wallet_minor (bit 1) as 11 bytes; as 10 whose last carries bits past 64.
  std::string overlong = bytes_of({2, 2}) + std::string(10, '\x80') + '\0';
  CHECK(decode_error(overlong) == "corruption: card state has a varint longer than 10 bytes at byte 2 (wallet_minor)");
  CHECK(decode_error(bytes_of({2, 2}) + std::string(9, '\xFF') + '\x02') ==
        "corruption: card state has a varint that overflows 64 bits at byte 2 (wallet_minor)");
  CHECK(decode_error(bytes_of({2, 2}) + std::string(9, '\xFF') + '\x01') == "(decoded)");  // zigzag: INT64_MIN
  CHECK(decode_error(bytes_of({2, 8, 0x80, 0x80, 0x80, 0x80, 0x10})) ==
        "corruption: card state has a varint that overflows 32 bits at byte 2 (points_month)");
  CHECK(decode_error(bytes_of({2, 0x80, 0x80, 0x80, 0x80, 0x10})) ==
        "corruption: card state has a varint that overflows 32 bits at byte 1 (present)");
  // visits (bit 19): visits_month delta 0, then a visit count of 2^16.
  CHECK(decode_error(bytes_of({2, 0x80, 0x80, 0x20, 0, 0x80, 0x80, 0x04, 0, 0})) ==
        "corruption: card state has a varint that overflows 16 bits at byte 5 (visits)");
  CHECK(decode_error(bytes_of({2, 0x80, 0x80, 0x80, 0x08})) ==
        "corruption: card state has unknown presence bits 0x1000000 (bits 0-23 are defined)");
  CHECK(decode_error(bytes_of({2, 0x80, 0x80, 0x80, 0x80, 0x08})) ==
        "corruption: card state has unknown presence bits 0x80000000 (bits 0-23 are defined)");
  // kind (bit 0): category, media, status.
  CHECK(decode_error(bytes_of({2, 1, 42, 1, 1})) == "corruption: card state has unknown rider category 42");
  CHECK(decode_error(bytes_of({2, 1, 1, 0, 1})) == "corruption: card state has unknown media 0");
  CHECK(decode_error(bytes_of({2, 1, 1, 1, 5})) == "corruption: card state has unknown card status 5");
  CHECK(decode_error(bytes_of({2, 1, 6, 3, 4})) == "(decoded)");
  // auto top-up (bit 20): enabled, amount.
  CHECK(decode_error(bytes_of({2, 0x80, 0x80, 0x40, 2, 0})) ==
        "corruption: card state has a flag that is neither 0 nor 1 at byte 4 (auto_top_up_enabled)");
  // bike (bit 23): open = 255.
  CHECK(decode_error(bytes_of({2, 0x80, 0x80, 0x80, 0x04, 255, 0, 0, 0})) ==
        "corruption: card state has a flag that is neither 0 nor 1 at byte 5 (rental.open)");
}

TEST_CASE("card state decoding applies the same semantic checks to v1 and v2") {
  struct Case {
    void (*spoil)(CardState&);
    const char* message;
  };
  const Case cases[] = {
      {[](CardState& s) { s.auto_top_up_amount_minor = -1; }, "card state has a negative auto top-up amount"},
      {[](CardState& s) { s.cap_days[3].paid_minor = -5; }, "card state has a negative daily cap accumulator"},
      {[](CardState& s) { s.cap_months[0].paid_minor = i64_min; }, "card state has a negative monthly cap accumulator"},
      {[](CardState& s) { s.bus.rider_paid_minor = -1; }, "card state has an open journey with a negative amount paid"},
      {[](CardState& s) { s.metro.subsidy_paid_minor = -1; }, "card state has an open journey with a negative amount paid"},
      {[](CardState& s) { s.category = static_cast<RiderCategory>(7); }, "card state has unknown rider category 7"},
  };
  CardState bonus = busy_state();
  bonus.bonus_points = -1;
  CHECK(decode_error(codec::encode_card_state_v5(bonus)) == "corruption: card state has negative bonus points");
  bonus.bonus_points = 1;
  bonus.bonus_expiry_month = -1;
  CHECK(decode_error(codec::encode_card_state_v5(bonus)) == "corruption: card state has a negative bonus expiry month");
  CardState programme = busy_state();
  programme.bus.programme_paid_minor[3] = -1;
  CHECK(decode_error(codec::encode_card_state_v3(programme)) ==
        "corruption: card state has an open journey with a negative amount paid by a programme");
  for (const Case& c : cases) {
    CardState state = busy_state();
    c.spoil(state);
    CHECK(decode_error(codec::encode_card_state_v2(state)) == std::string("corruption: ") + c.message);
    CHECK(decode_error(codec::encode_card_state_v1(state)) == std::string("corruption: ") + c.message);
  }
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

TEST_CASE("card state v2 decoding survives garbage and corrupted records") {
  std::mt19937_64 random(20250305);
  const std::string records[] = {encode_card_state(busy_state()), encode_card_state(commuter_state()),
                                 encode_card_state(largest_state())};
  for (int round = 0; round < 20'000; ++round) {
    CAPTURE(round);
    std::string bytes;
    if (round % 2 == 0) {  // random bytes after the version
      bytes.assign(1 + random() % 80, '\0');
      for (char& byte : bytes) byte = static_cast<char>(random());
    } else {  // a real record with a few bytes changed
      bytes = records[random() % 3];
      for (int flips = 1 + static_cast<int>(random() % 3); flips > 0; --flips)
        bytes[1 + random() % (bytes.size() - 1)] = static_cast<char>(random());
    }
    bytes[0] = 2;
    auto decoded = decode_card_state(bytes);
    // Whatever decodes is a state that encodes back to a valid record of the same state.
    if (decoded) REQUIRE(*decode_card_state(encode_card_state(*decoded)) == *decoded);
    else REQUIRE(decoded.status().code() == StatusCode::corruption);
  }
}

// The encoder's side of the same checks: writing a state the decoder would
// refuse is a rating bug, and stops the process (in a child here) instead of
// storing a card state that reads back as a fresh card.
TEST_CASE("card state encoding stops on a state the decoder would refuse") {
  auto encode_aborts = [](const CardState& state) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      std::freopen("/dev/null", "w", stderr);
      (void)encode_card_state(state);
      ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  };
  CardState negative_top_up = busy_state();
  negative_top_up.auto_top_up_amount_minor = -1;
  CHECK(encode_aborts(negative_top_up));
  CardState unknown_media = busy_state();
  unknown_media.media = static_cast<Media>(9);
  CHECK(encode_aborts(unknown_media));
  CHECK_FALSE(encode_aborts(busy_state()));
}
