// Bonus points through the real pipeline: a partner shop's bonus lands on
// the card's own card_bonus_points account (never its welfare points), is
// spent there at a partner shop, paid to the shop by the bonus_points
// programme; the day's settlement files (P records) and `report programmes`
// show that cost and equal the ledger's, `report points` has the bonus rows,
// and the balance shows the points with their expiry month. A replacement
// card takes the bonus points into its own bonus account.
#include <map>
#include <utility>

#include "bonus_balance.h"
#include "engine_fixture.h"
#include "points_report.h"
#include "programme_report.h"
#include "settlement/keys.h"
#include "settlement/settlement.h"

namespace citycard::engine::testing {
namespace {

namespace st = citycard::settlement;

constexpr std::int64_t hour_us = 3'600'000'000LL;
constexpr std::uint32_t shop_901 = 41, shop_902 = 42;  // partner_shops' terminals (rules/city.toml)
const st::DayConfig taipei{480, 180};

protocol::TapRecord pay(std::uint32_t reader, std::uint64_t sequence, const std::string& card, std::uint32_t op,
                        std::int64_t when, std::int64_t amount) {
  protocol::TapRecord record = make_tap(reader, sequence, card, Mode::pay, op, when);
  record.tap.amount_minor = amount;
  return record;
}

std::int64_t balance_of(const ledger::Ledger& ledger, AccountId account) {
  auto found = ledger.account(account);
  REQUIRE(found);
  return found->balance_minor;
}

}  // namespace

TEST_CASE("bonus points at partner shops: their own account, the bonus programme in the files, the report and the balance") {
  TempDir dir("bonus-points");
  auto ledger = make_ledger(dir.path / "ledger");
  register_reader(*ledger, shop_901, 901, ReaderKind::shop_terminal);
  register_reader(*ledger, shop_902, 902, ReaderKind::shop_terminal);
  const std::string rider = "0CE00011";
  const CardRecord card = issue_card(*ledger, rider, 5000);
  REQUIRE(card.bonus_points_account.value != 0);
  CHECK(card.bonus_points_account != card.points_account);
  const std::string keys = (dir.path / "keys").string();
  REQUIRE(st::generate_keys(keys));

  Pipeline pipeline(*ledger);
  const std::int64_t t = monday_8am_us;  // business day 2026-03-02
  // 3,000 from the wallet: 30 bonus points.
  auto earned = pipeline.tap(pay(shop_901, 1, rider, 901, t, 3000));
  REQUIRE(earned.outcome == protocol::Outcome::approved);
  CHECK(balance_of(*ledger, card.bonus_points_account) == 30);
  // 100 at the shop: the 30 points pay first, 70 from the wallet (earns none).
  auto spent = pipeline.tap(pay(shop_901, 2, rider, 901, t + hour_us, 100));
  REQUIRE(spent.outcome == protocol::Outcome::approved);
  CHECK(spent.fare_minor == 70);
  CHECK(balance_of(*ledger, card.bonus_points_account) == 0);
  // 250 at the other shop: 2 points.
  REQUIRE(pipeline.tap(pay(shop_902, 3, rider, 902, t + 2 * hour_us, 250)).outcome == protocol::Outcome::approved);
  CHECK(balance_of(*ledger, card.bonus_points_account) == 2);
  CHECK(balance_of(*ledger, card.points_account) == 0);  // never welfare points
  CHECK(wallet_of(*ledger, rider) == 5000 - 3000 - 70 - 250);

  // The balance: 2 bonus points, valid to the end of March 2027 (12 months after the last earning).
  auto bonus = bonus_balance_of(*ledger, card);
  REQUIRE(bonus);
  CHECK(bonus->has_account);
  CHECK(bonus->points == 2);
  CHECK(bonus_expiry_text(bonus->expiry_month) == "2027-03");
  nlohmann::json reply = nlohmann::json::object();
  add_bonus_balance(reply, *bonus);
  CHECK(reply == nlohmann::json{{"bonus_points", 2}, {"bonus_points_expire_after", "2027-03"}});

  // What the bonus_points programme paid shop 901, in the ledger: 30 TWD.
  auto system = ledger::find_system_accounts(*ledger);
  REQUIRE(system);
  CHECK(balance_of(*ledger, system->budget_of(Programme::bonus_points)) == -30);

  st::Options options;
  options.day = taipei;
  options.out_dir = (dir.path / "out").string();
  options.key_dir = keys;
  st::Settlement settlement(*ledger, options);
  const st::BusinessDay day = st::business_day_of(EventTime{t}, taipei);
  auto closed = settlement.close(day, EventTime{Pipeline::engine_now_us});
  INFO(closed.status().to_string());
  REQUIRE(closed);
  std::map<std::pair<std::uint32_t, Programme>, std::int64_t> files;
  for (const auto& batch : closed->batches) {
    auto contents = st::read_batch_file(batch.path);
    REQUIRE(contents);
    for (Programme programme : all_programmes())
      if (const std::int64_t amount = contents->totals.programme_minor[programme_index(programme)]; amount != 0)
        files[{batch.batch.operator_id.value, programme}] += amount;
  }
  const std::map<std::pair<std::uint32_t, Programme>, std::int64_t> expected = {{{901, Programme::bonus_points}, 30}};
  CHECK(files == expected);
  auto days = report_days("2026-03-02", "2026-03-02");
  REQUIRE(days);
  auto programmes = read_programme_report(*ledger->snapshot(), ProgrammeQuery{*days, 480, 180});
  REQUIRE(programmes);
  std::map<std::pair<std::uint32_t, Programme>, std::int64_t> reported;
  for (const auto& [key, amount] : programmes->paid_minor) reported[{std::get<1>(key), std::get<2>(key)}] += amount;
  CHECK(reported == expected);

  // report points: no welfare rows, the bonus rows of March 2026.
  auto months = report_months("2026-03", "2026-03");
  REQUIRE(months);
  auto points = read_points_report(*ledger->snapshot(), PointsQuery{*months, 480, 180});
  REQUIRE(points);
  CHECK(points->rows.empty());
  REQUIRE(points->bonus_rows.size() == 1);
  const BonusFigures& march = points->bonus_rows.begin()->second;
  CHECK(format_month(points->bonus_rows.begin()->first) == "2026-03");
  CHECK(march.cards == 1);
  CHECK(march.earned == 32);
  CHECK(march.spent == 30);
  CHECK(march.expired == 0);
  CHECK(march.net() == 2);
  CHECK(ledger->verify().ok());
}

TEST_CASE("a replacement card takes the bonus points into its own bonus account") {
  TempDir dir("bonus-replace");
  auto ledger = make_ledger(dir.path / "ledger");
  register_reader(*ledger, shop_901, 901, ReaderKind::shop_terminal);
  const std::string old_card = "0CE00021", new_card = "0CE00022";
  const CardRecord before = issue_card(*ledger, old_card, 5000);
  Pipeline pipeline(*ledger);
  REQUIRE(pipeline.tap(pay(shop_901, 1, old_card, 901, monday_8am_us, 2500)).outcome == protocol::Outcome::approved);
  REQUIRE(balance_of(*ledger, before.bonus_points_account) == 25);

  AdminCommand replace;
  replace.action = AdminAction::replace;
  replace.card = *CardId::parse(old_card);
  replace.new_card = *CardId::parse(new_card);
  replace.key = IdempotencyKey{Origin::operator_action, 7, 1};
  replace.time = EventTime{monday_8am_us + hour_us};
  replace.operator_name = "alice";
  replace.clerk_role = "supervisor";
  auto replaced = pipeline.admin(replace);
  INFO(replaced.status.to_string());
  REQUIRE(replaced.status.is_ok());
  auto after = ledger->card(*CardId::parse(new_card));
  REQUIRE(after);
  CHECK(balance_of(*ledger, before.bonus_points_account) == 0);
  CHECK(balance_of(*ledger, after->bonus_points_account) == 25);
  CHECK(balance_of(*ledger, after->points_account) == 0);
  // The new card spends them at the shop.
  auto spent = pipeline.tap(pay(shop_901, 2, new_card, 901, monday_8am_us + 2 * hour_us, 40));
  REQUIRE(spent.outcome == protocol::Outcome::approved);
  CHECK(spent.fare_minor == 15);
  CHECK(balance_of(*ledger, after->bonus_points_account) == 0);
  CHECK(ledger->verify().ok());
}

}  // namespace citycard::engine::testing
