// The points report (engine/groups/points_report.h): a month of taps of known
// cards through the real pipeline -- taxi rides paid in points, pool visits
// that earn reward points, a seeded random part -- then the first taps of
// the next month (March's leftovers expire) and a late offline March ride
// that spends April's points. Every figure is counted again here from the
// transfers of each tap the test sent, with the month the test knows the
// points belong to, and agrees with the points balances in the ledger.
#include <algorithm>
#include <map>
#include <random>

#include <fmt/format.h>

#include "engine_fixture.h"
#include "points_report.h"
#include "points_report_format.h"

namespace citycard::engine::testing {
namespace {

constexpr std::int64_t hour_us = 3'600'000'000LL;
constexpr std::int64_t day_us = 24 * hour_us;
// 2026-03-01 00:00 and 2026-04-01 00:00, Taipei (UTC+8).
constexpr std::int64_t march_us = monday_8am_us - 32 * hour_us;
constexpr std::int64_t april_us = march_us + 31 * day_us;
constexpr std::int32_t march = 2026 * 12 + 2;
constexpr std::int32_t april = march + 1;
constexpr std::uint32_t taxi_meter = 40;  // love taxi (401)
constexpr std::int64_t allotment = 480;   // report_rules(), senior and disability

// The shipped rules with the figures this test's edges were drawn for: 480
// points a month (Taoyuan's are 800) and a reward of 20 points at every 10th
// pool visit (the shipped rules give none: docs/rules.md "Bonus points"),
// and bus fares paid from the wallet, not in points.
rules::RuleSet report_rules() {
  rules::RuleSet rule_set = city_rules();
  rule_set.points.monthly_allotment[static_cast<std::size_t>(RiderCategory::senior)] = allotment;
  rule_set.points.monthly_allotment[static_cast<std::size_t>(RiderCategory::disability)] = allotment;
  for (rules::Venue& venue : rule_set.venues) {
    if (venue.kind != rules::ServiceKind::pool) continue;
    venue.reward_every_visits = 10;
    venue.reward_points = 20;
  }
  // Bus rides here only start the month: their fares stay in the wallet.
  for (rules::Network& network : rule_set.networks) network.points_categories = 0;
  return rule_set;
}

struct Expected {
  std::map<std::string, bool> cards;  // card -> allotted
  std::int64_t allotted = 0, used = 0, expired = 0, rewarded = 0;
  std::array<std::uint64_t, 6> buckets{};
};

// The buckets as the report documents them, written out again here.
std::size_t bucket_of(std::int64_t used, std::int64_t allotted) {
  if (used >= allotted) return 5;
  if (used == 0) return 0;
  if (used <= 99) return 1;
  if (used <= 299) return 2;
  if (used <= 499) return 3;
  return 4;
}

struct Scenario {
  TempDir dir{"engine-points-report"};
  std::unique_ptr<ledger::Ledger> ledger = make_ledger(dir.path / "ledger");
  std::map<std::string, RiderCategory> category_of;
  // (month, card) -> what the card's points did that month, from the transfers.
  std::map<std::pair<std::int32_t, std::string>, std::array<std::int64_t, 4>> moved;  // allotted, used, expired, rewarded
  std::uint64_t sequence = 0;
  std::uint32_t seed = std::random_device{}();

  std::string issue(int number, RiderCategory category) {
    const std::string card = fmt::format("04F0{:010X}", number);
    issue_card(*ledger, card, 9000, category);
    category_of[card] = category;
    return card;
  }

  // Sends one tap, requires its answer, and books its points transfers on `month`.
  void tap(Pipeline& pipeline, const std::string& card, std::uint32_t reader, Mode mode, std::uint32_t op,
           std::int64_t event_us, std::int64_t amount_minor, std::int32_t month, bool offline = false) {
    auto record = make_tap(reader, ++sequence, card, mode, op, event_us, 5);
    record.tap.amount_minor = amount_minor;
    record.tap.offline = offline;
    const auto told = pipeline.tap(record);
    INFO(card << " " << mode_name(mode) << " at " << event_us);
    REQUIRE(told.outcome == protocol::Outcome::approved);
    auto transfers = ledger->transfers_for(IdempotencyKey::for_tap(record.tap.id));
    REQUIRE(transfers);
    for (const auto& stored : *transfers) {
      const Transfer& t = stored.transfer;
      if (t.asset != Asset::points) continue;
      switch (t.code) {
        // The expiry posted by a new month's first tap ends the month before.
        case TransferCode::points_expired: moved[{month - 1, card}][2] += t.amount_minor; break;
        case TransferCode::points_allotment: moved[{month, card}][0] += t.amount_minor; break;
        case TransferCode::points_redeemed: moved[{month, card}][1] += t.amount_minor; break;
        case TransferCode::points_reward: moved[{month, card}][3] += t.amount_minor; break;
        default: FAIL("an unexpected points transfer " << transfer_code_name(t.code));
      }
    }
  }

  void taxi(Pipeline& pipeline, const std::string& card, std::int64_t event_us, std::int64_t amount, std::int32_t month,
            bool offline = false) {
    tap(pipeline, card, taxi_meter, Mode::entry, 401, event_us, amount, month, offline);
  }

  Scenario() {
    register_reader(*ledger, taxi_meter, 401, ReaderKind::venue_gate);
    std::vector<std::string> seniors;
    for (int i = 0; i < 12; ++i) seniors.push_back(issue(i, RiderCategory::senior));
    const std::string disabled = issue(100, RiderCategory::disability);
    const std::string general = issue(200, RiderCategory::general);
    Pipeline pipeline(*ledger, rules::RuleBook::single(report_rules()));
    const std::int64_t t = monday_8am_us;
    // Every allotted card's first tap of March is a bus ride: the month's allotment.
    for (const auto& card : seniors) tap(pipeline, card, bus_reader, Mode::bus_board, 101, t, 0, march);
    tap(pipeline, disabled, bus_reader, Mode::bus_board, 101, t, 0, march);
    // The edges, one card each: none, 50, exactly 99, exactly 100, exactly
    // 300, one below the allotment, exactly the allotment (taxi rides spend
    // at most 85 points each).
    auto rides = [&](const std::string& card, std::initializer_list<std::int64_t> amounts) {
      std::int64_t day = 1;
      for (std::int64_t amount : amounts) taxi(pipeline, card, t + day++ * day_us, amount, march);
    };
    rides(seniors[1], {50});
    rides(seniors[2], {50, 49});
    rides(seniors[3], {50, 50});
    rides(seniors[4], {85, 85, 85, 45});
    rides(seniors[5], {85, 85, 85, 85, 85, 54});
    rides(seniors[6], {85, 85, 85, 85, 85, 55, 85});  // the seventh ride finds no points left: paid from the wallet
    // Ten pool visits: points spent at each, and a reward at the tenth.
    for (int visit = 0; visit < 10; ++visit) {
      tap(pipeline, seniors[7], pool_gate, Mode::entry, 601, t + visit * day_us + 2 * hour_us, 0, march);
      tap(pipeline, general, pool_gate, Mode::entry, 601, t + visit * day_us + 3 * hour_us, 0, march);
    }
    // The seeded part: random rides for the other cards.
    std::mt19937 random(seed);
    for (const std::string& card : {seniors[8], seniors[9], seniors[10], seniors[11], disabled}) {
      const int count = static_cast<int>(random() % 9);
      for (int ride = 0; ride < count; ++ride) {
        taxi(pipeline, card, t + (1 + static_cast<std::int64_t>(random() % 27)) * day_us + ride * hour_us,
             10 + static_cast<std::int64_t>(random() % 190), march);
      }
    }
    // April 1st: the first taps of April expire March's leftovers and allot April's points.
    for (const std::string& card : {seniors[1], seniors[5], seniors[6], disabled, general}) {
      tap(pipeline, card, bus_reader, Mode::bus_board, 101, april_us + 10 * hour_us, 0, april);
    }
    taxi(pipeline, seniors[5], april_us + 11 * hour_us, 30, april);
    // An offline taxi ride of March 31st arrives now: it spends the points the card holds, April's.
    taxi(pipeline, seniors[5], april_us - 14 * hour_us, 60, april, /*offline=*/true);
  }

  // The test's own figures per (month, category) for the months from..to.
  std::map<std::pair<std::int32_t, RiderCategory>, Expected> expected(std::int32_t from, std::int32_t to) const {
    std::map<std::pair<std::int32_t, RiderCategory>, Expected> out;
    for (const auto& [key, figures] : moved) {
      const auto& [month, card] = key;
      if (month < from || month > to) continue;
      Expected& e = out[{month, category_of.at(card)}];
      e.cards[card] = figures[0] > 0;
      e.allotted += figures[0];
      e.used += figures[1];
      e.expired += figures[2];
      e.rewarded += figures[3];
      if (figures[0] > 0) ++e.buckets[bucket_of(figures[1], figures[0])];
    }
    return out;
  }

  PointsReport report(const std::string& from, const std::string& to) const {
    auto months = report_months(from, to);
    INFO(months.status().to_string());
    REQUIRE(months);
    auto read = read_points_report(*ledger->snapshot(), PointsQuery{*months, 480, 180});
    INFO(read.status().to_string());
    REQUIRE(read);
    return std::move(*read);
  }

  std::int64_t points_balance(const std::string& card) const {
    auto record = ledger->card(*CardId::parse(card));
    REQUIRE(record);
    auto account = ledger->account(record->points_account);
    REQUIRE(account);
    return account->balance_minor;
  }
};

void check_against(const PointsReport& report, const std::map<std::pair<std::int32_t, RiderCategory>, Expected>& want) {
  REQUIRE(report.rows.size() == want.size());
  for (const auto& [key, e] : want) {
    INFO(format_month(key.first) << " " << rider_category_name(key.second));
    REQUIRE(report.rows.count(key) == 1);
    const PointsFigures& got = report.rows.at(key);
    std::uint64_t allotted_cards = 0;
    for (const auto& [card, allotted] : e.cards) allotted_cards += allotted ? 1 : 0;
    CHECK(got.cards == e.cards.size());
    CHECK(got.allotted_cards == allotted_cards);
    CHECK(got.allotted == e.allotted);
    CHECK(got.used == e.used);
    CHECK(got.expired == e.expired);
    CHECK(got.rewarded == e.rewarded);
    CHECK(got.other == 0);
    CHECK(got.buckets == e.buckets);
  }
}

}  // namespace

TEST_CASE("points report: bucket edges") {
  CHECK(points_use_bucket(0, 480) == 0);
  CHECK(points_use_bucket(1, 480) == 1);
  CHECK(points_use_bucket(99, 480) == 1);
  CHECK(points_use_bucket(100, 480) == 2);
  CHECK(points_use_bucket(299, 480) == 2);
  CHECK(points_use_bucket(300, 480) == 3);
  CHECK(points_use_bucket(479, 480) == 3);
  CHECK(points_use_bucket(480, 480) == 5);
  CHECK(points_use_bucket(500, 480) == 5);  // reward points spent on top of the allotment
  CHECK(points_use_bucket(499, 800) == 3);
  CHECK(points_use_bucket(500, 800) == 4);
  CHECK(points_use_bucket(799, 800) == 4);
  CHECK(points_use_bucket(800, 800) == 5);
  CHECK(points_use_bucket(999, 1000) == 4);  // Fuxing's 1,000: 500-999 is "500+"
  CHECK(points_use_bucket(1000, 1000) == 5);
  CHECK(points_use_bucket(80, 80) == 5);  // "all" first: a small allotment used up is not "1-99"
  CHECK(points_use_bucket(0, 80) == 0);
  CHECK(points_share_permille(614, 1000) == 614);
  CHECK(points_share_permille(2, 3) == 667);  // rounded half up, in tenths of a percent
  CHECK(points_share_permille(1, 0) == 0);
}

TEST_CASE("points report: a month of taps, counted again from the transfers and against the balances") {
  Scenario s;
  INFO("seed " << s.seed);
  const PointsReport both = s.report("2026-03", "2026-04");
  check_against(both, s.expected(march, april));
  // The edge cards fall where the buckets say: seniors 0, 1..3, 4, 5 and 6 of March.
  const PointsFigures& seniors = both.rows.at({march, RiderCategory::senior});
  CHECK(seniors.allotted_cards == 12);
  CHECK(seniors.buckets[0] >= 1);
  CHECK(seniors.buckets[1] >= 2);  // 50 and exactly 99
  CHECK(seniors.buckets[2] >= 1);  // exactly 100
  CHECK(seniors.buckets[3] >= 2);  // exactly 300, and 479
  CHECK(seniors.buckets[5] >= 1);  // exactly 480
  // March's leftovers expired on April 1st count in March; the late March ride spent April's points.
  const PointsFigures& april_seniors = both.rows.at({april, RiderCategory::senior});
  CHECK(april_seniors.allotted_cards == 3);
  CHECK(april_seniors.used == 30 + 60);
  CHECK(both.rows.at({march, RiderCategory::general}).rewarded == 20);
  CHECK(both.rows.at({march, RiderCategory::general}).allotted_cards == 0);
  CHECK(both.rows.at({march, RiderCategory::general}).expired == 20);
  // Over the whole history, what the months left is what the points accounts hold.
  std::map<RiderCategory, std::int64_t> held;
  std::int64_t all_held = 0;
  for (const auto& [card, category] : s.category_of) {
    held[category] += s.points_balance(card);
    all_held += s.points_balance(card);
  }
  std::map<RiderCategory, std::int64_t> left;
  for (const auto& [key, figures] : both.rows) left[key.second] += figures.left();
  CHECK(left == held);
  CHECK(both.total.left() == all_held);
  // One month alone: the same rows of that month.
  check_against(s.report("2026-03", "2026-03"), s.expected(march, march));
  check_against(s.report("2026-04", "2026-04"), s.expected(april, april));
  CHECK(s.report("2025-04", "2026-02").rows.empty());
}

TEST_CASE("points report: the table, JSON, CSV and chart say the same") {
  Scenario s;
  INFO("seed " << s.seed);
  const PointsReport report = s.report("2026-03", "2026-04");
  const PointsFigures& seniors = report.rows.at({march, RiderCategory::senior});
  const nlohmann::json json = points_report_json(report);
  CHECK(json["from"] == "2026-03");
  CHECK(json["to"] == "2026-04");
  REQUIRE(json["rows"].size() == report.rows.size());
  const auto& first = json["rows"][0];
  CHECK(first["month"] == "2026-03");
  CHECK(first["category"] == "general");
  const auto senior_row = std::find_if(json["rows"].begin(), json["rows"].end(), [](const auto& row) {
    return row["month"] == "2026-03" && row["category"] == "senior";
  });
  REQUIRE(senior_row != json["rows"].end());
  CHECK((*senior_row)["used"] == seniors.used);
  CHECK((*senior_row)["left"] == seniors.left());
  // The council's line: the cumulative share of "1-99" is the share of cards that used under 100.
  const auto& under_100 = (*senior_row)["distribution"][1];
  CHECK(under_100["bucket"] == "1-99");
  CHECK(under_100["cards"] == seniors.buckets[1]);
  CHECK(under_100["cumulative_share_percent"] ==
        static_cast<double>(points_share_permille(seniors.buckets[0] + seniors.buckets[1], 12)) / 10);
  CHECK(json["total"]["month"] == "(all)");
  CHECK(json["total"]["used"] == report.total.used);

  const std::string csv = points_report_csv(report);
  CHECK(csv.rfind("month,category,cards,allotted_cards,allotted,used,expired,rewarded,other,left,used_0,used_1_99,"
                  "used_100_299,used_300_499,used_500_plus,used_all\r\n",
                  0) == 0);
  CHECK(csv.find(fmt::format("\r\n2026-03,senior,12,12,{},{},{},{},0,{},{},{},{},{},{},{}\r\n", seniors.allotted, seniors.used,
                             seniors.expired, seniors.rewarded, seniors.left(), seniors.buckets[0], seniors.buckets[1],
                             seniors.buckets[2], seniors.buckets[3], seniors.buckets[4], seniors.buckets[5])) !=
        std::string::npos);
  CHECK(csv.find("\r\n(all),(all),") != std::string::npos);

  const std::string table = points_report_table(report);
  CHECK(table.find(fmt::format("2026-03  senior                1-99     {:>10}", seniors.buckets[1])) != std::string::npos);

  const std::string page = points_chart_html(report, "2026-12-03T15:00:00Z");
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("data-group=\"2026-03 senior 1-99\" data-cards=\"" + std::to_string(seniors.buckets[1]) + "\"") !=
        std::string::npos);
  CHECK(page.find("data-group=\"2026-03 senior all\" data-cards=\"" + std::to_string(seniors.buckets[5]) + "\"") !=
        std::string::npos);
  CHECK(page.find("2026-03 general") == std::string::npos);  // no allotment, no distribution
}

TEST_CASE("points report: the months a report refuses") {
  CHECK(report_months("2026-3", "2026-04").status().message() == "--from 2026-3 is not a month YYYY-MM");
  CHECK(report_months("2026-03", "2026-13").status().message() == "--to 2026-13 is not a month YYYY-MM");
  CHECK(report_months("2026-03-01", "2026-04").status().message() == "--from 2026-03-01 is not a month YYYY-MM");
  CHECK(report_months("2026-05", "2026-04").status().message() == "--from 2026-05 is after --to 2026-04");
  CHECK(report_months("2025-01", "2026-01").status().message() ==
        "2025-01 to 2026-01 is 13 months; a points report covers at most 12");
  auto year = report_months("2025-02", "2026-01");
  REQUIRE(year);
  CHECK(format_month(year->from_month) == "2025-02");
  CHECK(format_month(year->to_month) == "2026-01");
}

}  // namespace citycard::engine::testing
