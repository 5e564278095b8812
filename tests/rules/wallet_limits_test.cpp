// The card office's auto top-up (per-card threshold, amount and daily
// limit) and the daily e-wallet payment limit, as rating applies them: per
// business day of the tap's event time, nothing read from a clock; and the
// card state's version 4 groups that carry them.
#include <fstream>
#include <iterator>

#include "card_state_codec.h"
#include "rules_test_support.h"

using namespace citycard;
using namespace citycard::rules;
using namespace citycard::rules::testing;

namespace {

// car_parks, payment_max_minor 3000. Not a partner shop: bonus points never pay
// there, so every payment is the wallet's (bonus points: bonus_points_test.cpp).
constexpr std::uint32_t shop = 801;

Rating rate_with(const RuleSet& rules, const CardState& state, const Tap& tap) {
  Rating rating = rate(rules, state, tap);
  check_balanced(state, rating);
  return rating;
}

std::int64_t auto_topped_up(const Rating& rating) {
  std::int64_t sum = 0;
  for (const Posting& posting : rating.posting_list())
    if (posting.code == TransferCode::auto_top_up && posting.debit == AccountRole::credit_card_clearing &&
        posting.credit == AccountRole::card_wallet)
      sum += posting.amount_minor;
  return sum;
}

// A co-branded credit card whose auto top-up the card office switched on.
CardState co_branded(std::int64_t wallet_minor, std::int64_t threshold, std::int64_t amount, std::int64_t daily_max) {
  CardState state = card(RiderCategory::general, wallet_minor);
  state.media = Media::co_branded_credit;
  state.auto_top_up_enabled = true;
  state.auto_top_up_threshold_minor = threshold;
  state.auto_top_up_amount_minor = amount;
  state.auto_top_up_daily_max_minor = daily_max;
  return state;
}

Tap pay(std::int64_t amount, EventTime time, bool offline = false) {
  return make_tap(Mode::pay, shop, time, 0, 0, amount, offline);
}

std::string decode_error(std::string_view bytes) {
  auto decoded = decode_card_state(bytes);
  return decoded ? std::string("(decoded)") : decoded.status().to_string();
}

}  // namespace

TEST_CASE("auto top-up uses the card's own threshold and amount instead of the rule set's") {
  // city.toml: threshold 100, amount 500. The card: threshold 300, amount 200.
  const CardState state = co_branded(350, 300, 200, 5000);
  Rating paid = rate_with(city_rules(), state, pay(100, taipei(2025, 3, 4, 10, 0)));
  REQUIRE(paid.approved());
  CHECK(auto_topped_up(paid) == 200);  // 350 - 100 < 300: one unit of the card's 200
  CHECK(paid.balance_after_minor == 450);
  CHECK(paid.state.wallet_day.auto_top_up_minor == 200);

  // With the rule set's threshold (100), 250 left is enough: no top-up.
  CardState rules_threshold = state;
  rules_threshold.auto_top_up_threshold_minor = auto_top_up_threshold_of_rules;
  Rating plain = rate_with(city_rules(), rules_threshold, pay(100, taipei(2025, 3, 4, 10, 0)));
  REQUIRE(plain.approved());
  CHECK(auto_topped_up(plain) == 0);

  // A physical card sharing the account's state gets none: the medium decides.
  CardState physical = state;
  physical.media = Media::physical_card;
  CHECK(auto_topped_up(rate_with(city_rules(), physical, pay(100, taipei(2025, 3, 4, 10, 0)))) == 0);
}

TEST_CASE("auto top-up stops at the daily limit and is available again the next business day") {
  // Threshold 100, amount 500, at most 1000 a business day (03:00 to 03:00).
  CardState state = co_branded(0, 100, 500, 1000);
  Rating first = rate_with(city_rules(), state, pay(400, taipei(2025, 3, 4, 9, 0)));
  REQUIRE(first.approved());
  CHECK(auto_topped_up(first) == 500);
  Rating second = rate_with(city_rules(), first.state, pay(400, taipei(2025, 3, 4, 12, 0)));
  REQUIRE(second.approved());
  CHECK(auto_topped_up(second) == 500);
  CHECK(second.state.wallet_day.auto_top_up_minor == 1000);
  CHECK(second.balance_after_minor == 200);

  // The limit is reached: no top-up, and the normal wallet check refuses online...
  Rating third = rate_with(city_rules(), second.state, pay(400, taipei(2025, 3, 5, 2, 59)));
  CHECK(third.refusal == RefusalReason::insufficient_balance);
  CHECK(third.posting_count == 0);
  // ...and an offline payment leaves debt within the offline limit, as for any card.
  Rating offline = rate_with(city_rules(), second.state, pay(400, taipei(2025, 3, 4, 20, 0), true));
  REQUIRE(offline.approved());
  CHECK(auto_topped_up(offline) == 0);
  CHECK(offline.balance_after_minor == -200);
  CHECK(offline.deny_list);

  // 03:00 the next morning is a new business day: top-ups again.
  Rating next_day = rate_with(city_rules(), second.state, pay(400, taipei(2025, 3, 5, 3, 0)));
  REQUIRE(next_day.approved());
  CHECK(auto_topped_up(next_day) == 500);
  CHECK(next_day.state.wallet_day.business_day == second.state.wallet_day.business_day + 1);
  CHECK(next_day.state.wallet_day.auto_top_up_minor == 500);

  // A late tap of the day before the one counted gets no top-up (that day's
  // total is no longer known).
  Rating late = rate_with(city_rules(), next_day.state, pay(400, taipei(2025, 3, 4, 23, 0), true));
  REQUIRE(late.approved());
  CHECK(auto_topped_up(late) == 0);
}

TEST_CASE("auto top-up gives only what the daily limit leaves in whole units") {
  // Amount 300, limit 700: two units a day at most; a shortfall of three
  // units gets two.
  CardState state = co_branded(0, 0, 300, 700);
  Rating paid = rate_with(city_rules(), state, pay(800, taipei(2025, 3, 4, 9, 0), true));
  REQUIRE(paid.approved());
  CHECK(auto_topped_up(paid) == 600);
  CHECK(paid.balance_after_minor == -200);
}

TEST_CASE("a metro entry holds what the wallet and the day's auto top-ups can pay, past the limit like any card") {
  auto held = [](const Rating& rating) {
    std::int64_t sum = 0;
    for (const Posting& posting : rating.posting_list())
      if (posting.debit == AccountRole::card_wallet) sum += posting.amount_minor;
    return sum;
  };
  const EventTime entry = taipei(2025, 3, 4, 18, 0);
  // A physical card with 30 TWD: the gate holds the 30 it has.
  CardState plain = card(RiderCategory::general, 30);
  Rating plain_in = rate_with(city_rules(), plain, make_tap(Mode::metro_in, 201, entry, 1001));
  REQUIRE(plain_in.approved());
  const std::int64_t partial = held(plain_in);
  CHECK(partial == 30);

  // A co-branded card with room in its day: topped up, the whole hold taken.
  CardState with_room = co_branded(30, 100, 500, 1000);
  Rating topped = rate_with(city_rules(), with_room, make_tap(Mode::metro_in, 201, entry, 1001));
  REQUIRE(topped.approved());
  CHECK(auto_topped_up(topped) == 500);
  CHECK(held(topped) > partial);

  // The same card after the day's 1000 were topped up: held like the physical
  // card, not refused for a top-up it can no longer have.
  CardState spent = with_room;
  spent.wallet_day.business_day = topped.state.wallet_day.business_day;
  spent.wallet_day.auto_top_up_minor = 1000;
  Rating limited = rate_with(city_rules(), spent, make_tap(Mode::metro_in, 201, entry, 1001));
  INFO(refusal_name(limited.refusal));
  REQUIRE(limited.approved());
  CHECK(auto_topped_up(limited) == 0);
  CHECK(held(limited) == partial);
  CHECK(limited.balance_after_minor == 0);

  // 500 left of the limit: one unit, the whole hold.
  spent.wallet_day.auto_top_up_minor = 500;
  Rating last_unit = rate_with(city_rules(), spent, make_tap(Mode::metro_in, 201, entry, 1001));
  REQUIRE(last_unit.approved());
  CHECK(auto_topped_up(last_unit) == 500);
  CHECK(held(last_unit) == held(topped));
}

TEST_CASE("the rule set's daily auto top-up limit applies when the card has none") {
  RuleSet rules = city_rules();
  rules.wallet.auto_top_up_daily_max_minor = 500;
  CardState state = card(RiderCategory::general, 0);
  state.media = Media::co_branded_credit;
  state.auto_top_up_enabled = true;  // the rule set's threshold (100), amount (500) and limit
  Rating first = rate_with(rules, state, pay(100, taipei(2025, 3, 4, 9, 0)));
  REQUIRE(first.approved());
  CHECK(auto_topped_up(first) == 500);
  Rating second = rate_with(rules, first.state, pay(350, taipei(2025, 3, 4, 10, 0)));
  CHECK(auto_topped_up(second) == 0);
  CHECK(second.approved());  // 400 in the wallet covers it
  // Without a limit anywhere, nothing is counted (the state stays small).
  Rating unlimited = rate_with(city_rules(), state, pay(100, taipei(2025, 3, 4, 9, 0)));
  CHECK(auto_topped_up(unlimited) == 500);
  CHECK(unlimited.state.wallet_day == WalletDay{});
}

TEST_CASE("a payment over the daily e-wallet limit is refused payment_daily_limit, and the next day pays") {
  RuleSet rules = city_rules();
  rules.wallet.payment_daily_max_minor[static_cast<std::size_t>(RiderCategory::general)] = 1000;
  CardState state = card(RiderCategory::general, 5000);
  Rating first = rate_with(rules, state, pay(600, taipei(2025, 3, 4, 9, 0)));
  REQUIRE(first.approved());
  CHECK(first.state.wallet_day.paid_minor == 600);

  Rating over = rate_with(rules, first.state, pay(500, taipei(2025, 3, 4, 10, 0)));
  CHECK(over.refusal == RefusalReason::payment_daily_limit);
  CHECK(refusal_reason_name(over.refusal) == "payment_daily_limit");
  CHECK(over.posting_count == 0);
  CHECK(over.state == first.state);  // nothing changed
  // Offline too: past the limit the operator carries the payment.
  CHECK(rate_with(rules, first.state, pay(500, taipei(2025, 3, 4, 10, 0), true)).refusal ==
        RefusalReason::payment_daily_limit);

  Rating up_to = rate_with(rules, first.state, pay(400, taipei(2025, 3, 4, 11, 0)));
  REQUIRE(up_to.approved());
  CHECK(up_to.state.wallet_day.paid_minor == 1000);
  Rating next_day = rate_with(rules, up_to.state, pay(600, taipei(2025, 3, 5, 9, 0)));
  REQUIRE(next_day.approved());
  CHECK(next_day.state.wallet_day.paid_minor == 600);

  // Another category without a limit pays on; fares are not payments.
  CardState student = card(RiderCategory::student, 5000);
  student.wallet_day = up_to.state.wallet_day;
  CHECK(rate_with(rules, student, pay(2000, taipei(2025, 3, 4, 12, 0))).approved());
  CHECK(rate_with(rules, up_to.state, make_tap(Mode::bus_board, 104, taipei(2025, 3, 4, 12, 0), 2001, 9)).approved());
}

TEST_CASE("the daily limits are read from the rule file, per category for payments") {
  // The city file sets none: nothing is limited.
  for (std::int64_t limit : city_rules().wallet.payment_daily_max_minor) CHECK(limit == 0);
  CHECK(city_rules().wallet.auto_top_up_daily_max_minor == 0);

  std::ifstream in(CITYCARD_CITY_RULES);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string section = "[wallet.auto_top_up]\n";
  REQUIRE(text.find(section) != std::string::npos);
  text.replace(text.find(section), section.size(), section + "daily_max_minor = 1500\n");
  RuleSetLoad load = parse_rule_set(text + "\n[wallet.payment_daily_max_minor]\ngeneral = 3000\nstudent = 1000\n", "limits.toml");
  REQUIRE(load.ok());
  CHECK(load.rule_set->wallet.auto_top_up_daily_max_minor == 1500);
  CHECK(load.rule_set->wallet.payment_daily_max_minor[static_cast<std::size_t>(RiderCategory::general)] == 3000);
  CHECK(load.rule_set->wallet.payment_daily_max_minor[static_cast<std::size_t>(RiderCategory::student)] == 1000);
  CHECK(load.rule_set->wallet.payment_daily_max_minor[static_cast<std::size_t>(RiderCategory::senior)] == 0);

  RuleSetLoad bad = parse_rule_set(text + "\n[wallet.payment_daily_max_minor]\ngeneral = -1\npupil = 5\n", "bad.toml");
  CHECK_FALSE(bad.ok());
}

TEST_CASE("card state v4: the card's limits and the wallet's day round-trip, older versions still read") {
  CardState state = co_branded(120, 300, 200, 1000);
  state.wallet_day = WalletDay{20151, 400, 250};
  const std::string bytes = codec::encode_card_state_v4(state);
  CHECK(bytes[0] == 4);
  auto decoded = decode_card_state(bytes);
  REQUIRE(decoded);
  CHECK(*decoded == state);

  // A state written before v4 (v3, as ledgers hold them) reads with the rule
  // set's threshold, no limit of its own and no day counted.
  CardState before = co_branded(120, auto_top_up_threshold_of_rules, 500, 0);
  before.wallet_day = {};
  const std::string v3 = codec::encode_card_state_v3(before);
  CHECK(v3[0] == 3);
  auto old = decode_card_state(v3);
  REQUIRE(old);
  CHECK(*old == before);
  // Nothing new is written for a card without them: v4 bytes are v3's but the version.
  CHECK(codec::encode_card_state_v4(before).substr(1) == v3.substr(1));

  // The new groups cost: threshold 300 and limit 1000 (2 + 2 bytes), the day
  // (3 + 2 + 2 bytes), and the presence varint's fourth byte.
  CHECK(bytes.size() == codec::encode_card_state_v3(state).size() + 4 + 7 + 1);
}

TEST_CASE("card state v4 rejects unknown groups, negative limits and counters, v3 rejects v4's groups") {
  // present bit 24 (card limits) in v3: unknown.
  CHECK(decode_error(std::string{3, '\x80', '\x80', '\x80', '\x08', 0, 0}) ==
        "corruption: card state has unknown presence bits 0x1000000 (bits 0-23 are defined)");
  CHECK(decode_error(std::string{4, '\x80', '\x80', '\x80', '\x20'}) ==
        "corruption: card state has unknown presence bits 0x4000000 (bits 0-25 are defined)");
  // bit 24: threshold -2 (zigzag 3), limit 0.
  CHECK(decode_error(std::string{4, '\x80', '\x80', '\x80', '\x08', 3, 0}) ==
        "corruption: card state has a negative auto top-up threshold");
  CHECK(decode_error(std::string{4, '\x80', '\x80', '\x80', '\x08', 2, 1}) ==
        "corruption: card state has a negative daily auto top-up limit");
  // bit 25: day 1, auto top-up 0, paid -1 (zigzag 1).
  CHECK(decode_error(std::string{4, '\x80', '\x80', '\x80', '\x10', 2, 0, 1}) ==
        "corruption: card state has a negative daily wallet counter");
  CHECK(decode_error(std::string{4, '\x80', '\x80', '\x80', '\x10', 2, 0}) ==
        "corruption: card state is truncated at byte 7 (wallet_day.paid_minor)");
}
