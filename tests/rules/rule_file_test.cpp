// Rule files: the shipped one loads; each kind of mistake yields its precise
// message with file, line and field, and every problem is reported.
#include <algorithm>

#include "rules_test_support.h"

using namespace citycard;
using namespace citycard::rules;
using namespace citycard::rules::testing;

namespace {

// A small valid rule set; tests append or replace lines to break it.
const std::string base = R"(version = 3
utc_offset = "+08:00"

[[operators]]
id = 101
name = "Bus"
kind = "bus"

[[operators]]
id = 201
name = "Metro"
kind = "metro"

[[networks]]
id = "bus"
kind = "bus"
operators = [101]
fare_collection = "on_board"

[[fare_products]]
id = "bus_flat"
prices = [{ amount_minor = 15 }, { category = "student", amount_minor = 12 }]

[[leg_rules]]
leg_group = "bus"
network = "bus"
fare_product = "bus_flat"
)";

std::vector<std::string> problems_of(const std::string& text) {
  RuleSetLoad load = parse_rule_set(text, "bad.toml");
  std::vector<std::string> lines;
  for (const RuleProblem& problem : load.problems) lines.push_back(problem.to_string());
  CHECK(load.ok() == lines.empty());
  return lines;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("the shipped city rule set loads") {
  RuleSetLoad load = load_rule_set_file(CITYCARD_CITY_RULES);
  INFO(problems_text(load.problems));
  REQUIRE(load.ok());
  const RuleSet& rules = *load.rule_set;
  CHECK(rules.version == 4);
  CHECK(rules.utc_offset_minutes == 480);
  CHECK(rules.business_day_start_minutes == 180);
  CHECK(rules.leg_rules.size() == 7 + 64);  // 7 written, 64 from the 8x8 metro matrix
  CHECK(rules.find_index(rules.leg_groups, "metro") != no_index);
  // Taoyuan's welfare points: 800, 1,000 in Fuxing (postal code 336).
  CHECK(rules.points.allotment(RiderCategory::senior, no_district) == 800);
  CHECK(rules.points.allotment(RiderCategory::disability, 320) == 800);
  CHECK(rules.points.allotment(RiderCategory::senior, 336) == 1000);
  CHECK(rules.points.allotment(RiderCategory::disability, 336) == 1000);
  CHECK(rules.points.allotment(RiderCategory::general, 336) == 0);
  const Venue* railway = rules.find_venue(OperatorId{151});
  REQUIRE(railway != nullptr);
  CHECK(railway->kind == ServiceKind::railway);
  CHECK(railway->points_max_per_use == 70);
  const BikeRule* youbike_2e = rules.find_bike(OperatorId{302});
  REQUIRE(youbike_2e != nullptr);
  CHECK(youbike_2e->points_categories == (category_bit(RiderCategory::senior) | category_bit(RiderCategory::disability)));
  // Bonus points at partner shops only, a balance of their own; no reward
  // points into the welfare balance (docs/rules.md).
  for (const PaymentRule& payment : rules.payments) {
    CHECK(payment.bonus_spend_per_point_minor == (payment.kind == ServiceKind::shop ? 100 : 0));
    CHECK(payment.bonus_points_pay == (payment.kind == ServiceKind::shop));
  }
  CHECK(rules.bonus.twd_minor_per_point == 1);
  CHECK(rules.bonus.cashback_bp == 100);
  CHECK(rules.bonus.expiry_months == 12);
  for (const Venue& venue : rules.venues) CHECK(venue.reward_points == 0);
}

TEST_CASE("a valid small rule set has no problems") { CHECK(problems_of(base).empty()); }

TEST_CASE("a TOML syntax error names its line") {
  auto problems = problems_of(base + "\n[[leg_rules]\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "bad.toml:29: (syntax): Error while parsing table header: expected ']', saw '\\n'");
}

TEST_CASE("a missing required field") {
  CHECK(problems_of(replaced(base, "version = 3\n", "")) ==
        std::vector<std::string>{"bad.toml:1: version: required field is missing"});
}

TEST_CASE("a field of the wrong type") {
  CHECK(problems_of(replaced(base, "version = 3", "version = \"three\"")) ==
        std::vector<std::string>{"bad.toml:1: version: expected an integer, found a string"});
}

TEST_CASE("a misspelt field is unknown, and the real one is missing") {
  CHECK(problems_of(replaced(base, "fare_collection = \"on_board\"", "fare_colection = \"on_board\"")) ==
        std::vector<std::string>{"bad.toml:14: networks[0].fare_collection: required field is missing",
                                 "bad.toml:18: networks[0].fare_colection: unknown field"});
}

TEST_CASE("an unknown enumeration value lists the choices") {
  CHECK(problems_of(replaced(base, "\"on_board\"", "\"pay_later\"")) ==
        std::vector<std::string>{"bad.toml:18: networks[0].fare_collection: unknown fare collection \"pay_later\" "
                                 "(expected on_board, board_and_alight, hold_max_refund_on_exit)"});
  CHECK(problems_of(replaced(base, "\"student\"", "\"pupil\"")) ==
        std::vector<std::string>{"bad.toml:22: fare_products[0].prices[1].category: unknown rider category \"pupil\" "
                                 "(expected general, student, senior, disability, disability_companion or employee)"});
}

TEST_CASE("a reference to something that does not exist") {
  CHECK(problems_of(replaced(base, "fare_product = \"bus_flat\"", "fare_product = \"bus_flatt\"")) ==
        std::vector<std::string>{"bad.toml:27: leg_rules[0].fare_product: no fare product \"bus_flatt\""});
  CHECK(problems_of(replaced(base, "operators = [101]", "operators = [101, 201, 7]")) ==
        std::vector<std::string>{
            "bad.toml:17: networks[0].operators: operator 201 is a metro operator, not bus",
            "bad.toml:17: networks[0].operators: no operator 7"});
}

TEST_CASE("duplicate ids name the first definition") {
  CHECK(problems_of(base + "\n[[fare_products]]\nid = \"bus_flat\"\nprices = [{ amount_minor = 1 }]\n") ==
        std::vector<std::string>{
            "bad.toml:30: fare_products[1].id: duplicate id \"bus_flat\" (first defined on line 21)"});
  CHECK(problems_of(base + "\n[[operators]]\nid = 101\nname = \"Again\"\nkind = \"bus\"\n") ==
        std::vector<std::string>{"bad.toml:30: operators[2].id: duplicate operator 101 (first defined on line 5)"});
}

TEST_CASE("numbers out of range") {
  CHECK(problems_of(base + "\n[[discounts]]\nid = \"d\"\nnetworks = [\"bus\"]\npercent_off_bp = 12000\n"
                           "rounding = \"half_up\"\n") ==
        std::vector<std::string>{"bad.toml:32: discounts[0].percent_off_bp: must be between 0 and 10000, got 12000"});
  CHECK(problems_of(replaced(base, "utc_offset = \"+08:00\"", "utc_offset = \"+8\"")) ==
        std::vector<std::string>{"bad.toml:2: utc_offset: expected \"+HH:MM\" or \"-HH:MM\", got \"+8\""});
}

TEST_CASE("bad district allotments, railway and bike tiers are refused with the field named") {
  const std::string points = "\n[points.monthly_allotment]\nsenior = 800\n";
  CHECK(problems_of(base + points + "\n[[points.districts]]\ndistrict = 3360\nmonthly_allotment = { senior = 1000 }\n") ==
        std::vector<std::string>{"bad.toml:33: points.districts[0].district: must be between 100 and 999, got 3360"});
  CHECK(problems_of(base + points + "\n[[points.districts]]\ndistrict = 336\nmonthly_allotment = { senior = 1000 }\n" +
                    "\n[[points.districts]]\ndistrict = 336\nmonthly_allotment = { senior = 900 }\n") ==
        std::vector<std::string>{"bad.toml:37: points.districts[1].district: duplicate district 336 (first on line 33)"});
  CHECK(problems_of(base + points + "\n[[points.districts]]\ndistrict = 336\n") ==
        std::vector<std::string>{"bad.toml:32: points.districts[0].monthly_allotment: required field is missing"});
  CHECK(problems_of(base + points + "\n[[points.districts]]\ndistrict = 336\nmonthly_allotment = {}\n") ==
        std::vector<std::string>{"bad.toml:34: points.districts[0].monthly_allotment: names no category (senior = N, ...)"});
  CHECK(problems_of(base + points + "\n[[points.districts]]\ndistrict = 336\nmonthly_allotment = { senoir = 1000 }\n") ==
        std::vector<std::string>{"bad.toml:34: points.districts[0].monthly_allotment.senoir: unknown field"});
  CHECK(problems_of(base + points + "\n[[points.districts]]\ndistrict = 336\nmonthly_allotment = { senior = -1 }\n") ==
        std::vector<std::string>{"bad.toml:34: points.districts[0].monthly_allotment.senior: must be between 0 and " +
                                 std::to_string(limits::transfer_amount_minor_max) + ", got -1"});

  const std::string railway = "\n[[operators]]\nid = 151\nname = \"Rail\"\nkind = \"railway\"\n"
                              "\n[[venues]]\nid = \"rail\"\nkind = \"railway\"\noperators = [151]\n"
                              "amount_max_minor = 2000\n";
  CHECK(problems_of(base + railway + "points_accepted = true\npoints_max_per_use = 70\n").empty());
  CHECK(problems_of(base + railway + "points_max_per_use = 70\n") ==
        std::vector<std::string>{"bad.toml:39: venues[0].points_max_per_use: needs points_accepted = true"});
  CHECK(problems_of(base + railway + "points_accepted = true\npoints_max_per_use = 0\n") ==
        std::vector<std::string>{"bad.toml:40: venues[0].points_max_per_use: must be between 1 and " +
                                 std::to_string(limits::transfer_amount_minor_max) + ", got 0"});
  CHECK(problems_of(base + railway + "reward_every_visits = 10\nreward_points = 20\n") ==
        std::vector<std::string>{"bad.toml:39: venues[0].reward_every_visits: a railway counts no visits"});
  CHECK(problems_of(replaced(base + railway, "operators = [151]", "operators = [101]")) ==
        std::vector<std::string>{"bad.toml:37: venues[0].operators: operator 101 is a bus operator, not railway"});

  const std::string bike = "\n[[operators]]\nid = 302\nname = \"Bike\"\nkind = \"bike\"\n"
                           "\n[[bikes]]\nid = \"e\"\noperators = [302]\nperiod_minutes = 30\nfare_per_period_minor = 20\n";
  CHECK(problems_of(base + bike + "tier_after_minutes = 120\nfare_per_period_after_tier_minor = 40\n"
                                  "points_categories = [\"senior\"]\n").empty());
  CHECK(problems_of(base + bike + "tier_after_minutes = 120\n") ==
        std::vector<std::string>{
            "bad.toml:39: bikes[0].tier_after_minutes: tier_after_minutes and fare_per_period_after_tier_minor go together"});
  CHECK(problems_of(base + bike + "tier_after_minutes = 100\nfare_per_period_after_tier_minor = 40\n") ==
        std::vector<std::string>{
            "bad.toml:39: bikes[0].tier_after_minutes: must be free_minutes plus a whole number of periods (0 + N * 30)"});
  CHECK(problems_of(base + bike + "free_minutes = 30\ntier_after_minutes = 30\nfare_per_period_after_tier_minor = 40\n") ==
        std::vector<std::string>{
            "bad.toml:40: bikes[0].tier_after_minutes: must be free_minutes plus a whole number of periods (30 + N * 30)"});
  CHECK(problems_of(base + bike + "points_categories = [\"elder\"]\n") ==
        std::vector<std::string>{"bad.toml:39: bikes[0].points_categories: unknown rider category \"elder\" "
                                 "(expected general, student, senior, disability, disability_companion or employee)"});
}

TEST_CASE("bad bonus point rules are refused with the field named") {
  auto payment = [](const std::string& kind) {
    return "\n[[operators]]\nid = 901\nname = \"Pay\"\nkind = \"" + kind + "\"\n" +
           "\n[[payments]]\nid = \"p\"\nkind = \"" + kind + "\"\noperators = [901]\npayment_max_minor = 3000\n";
  };
  CHECK(problems_of(base + payment("shop") + "bonus_spend_per_point_minor = 100\nbonus_points_pay = true\n" +
                    "\n[bonus]\ntwd_minor_per_point = 1\ncashback_bp = 100\nexpiry_months = 12\n")
            .empty());
  CHECK(problems_of(base + payment("shop") + "bonus_spend_per_point_minor = -5\n") ==
        std::vector<std::string>{"bad.toml:39: payments[0].bonus_spend_per_point_minor: must be between 1 and " +
                                 std::to_string(limits::transfer_amount_minor_max) + ", got -5"});
  CHECK(problems_of(base + payment("parking") + "bonus_points_pay = true\n") ==
        std::vector<std::string>{
            "bad.toml:39: payments[0].bonus_points_pay: only a partner shop (kind = \"shop\") takes bonus points"});
  CHECK(problems_of(base + payment("government") + "bonus_spend_per_point_minor = 100\n") ==
        std::vector<std::string>{
            "bad.toml:39: payments[0].bonus_spend_per_point_minor: only a partner shop (kind = \"shop\") gives bonus points"});
  CHECK(problems_of(base + payment("shop") + "bonus_points_pay = \"yes\"\n") ==
        std::vector<std::string>{"bad.toml:39: payments[0].bonus_points_pay: expected a boolean, found a string"});
  CHECK(problems_of(base + "\n[bonus]\ncashback_bp = -1\n") ==
        std::vector<std::string>{"bad.toml:30: bonus.cashback_bp: must be between 0 and 10000, got -1"});
  CHECK(problems_of(base + "\n[bonus]\ntwd_minor_per_point = 0\n") ==
        std::vector<std::string>{"bad.toml:30: bonus.twd_minor_per_point: must be between 1 and 1000000, got 0"});
  CHECK(problems_of(base + "\n[bonus]\nexpiry_months = -12\n") ==
        std::vector<std::string>{"bad.toml:30: bonus.expiry_months: must be between 0 and 120, got -12"});
  CHECK(problems_of(base + "\n[bonus]\nexpiry_month = 12\n") ==
        std::vector<std::string>{"bad.toml:30: bonus.expiry_month: unknown field"});
}

TEST_CASE("GTFS constraints on transfer rules") {
  CHECK(problems_of(base + "\n[[transfer_rules]]\nfrom_leg_group = \"bus\"\nto_leg_group = \"bus\"\n"
                           "fare_transfer_type = 1\nduration_limit_type = 1\n") ==
        std::vector<std::string>{
            "bad.toml:29: transfer_rules[0].transfer_count: required when from_leg_group equals to_leg_group (GTFS)",
            "bad.toml:33: transfer_rules[0].duration_limit_type: only allowed with duration_limit (GTFS)"});
  CHECK(problems_of(base + "\n[[transfer_rules]]\nfrom_leg_group = \"bus\"\nto_leg_group = \"tram\"\n"
                           "fare_transfer_type = 3\n") ==
        std::vector<std::string>{
            "bad.toml:31: transfer_rules[0].to_leg_group: no leg group \"tram\" in any leg rule or fare matrix",
            "bad.toml:32: transfer_rules[0].fare_transfer_type: must be between 0 and 2, got 3"});
}

TEST_CASE("a metro fare table must be square and below the held maximum") {
  const std::string metro = base + R"(
[[networks]]
id = "metro"
kind = "metro"
operators = [201]
fare_collection = "hold_max_refund_on_exit"
max_fare_product = "metro_max"
trip_time_limit_minutes = 120

[[fare_products]]
id = "metro_max"
prices = [{ amount_minor = 30 }]

[[areas]]
id = "A"
network = "metro"
stops = [1]

[[areas]]
id = "B"
network = "metro"
stops = [2]

[[fare_matrices]]
leg_group = "metro"
network = "metro"
product_prefix = "metro"
areas = ["A", "B"]
amounts_minor = [[20, 35], [35, 20]]
)";
  CHECK(problems_of(metro) == std::vector<std::string>{"bad.toml:29: networks[1].max_fare_product: fare product "
                                                       "\"metro_max\" (30) is below the fare 35 of the leg rule on line 56"});
  CHECK(problems_of(replaced(metro, "[[20, 35], [35, 20]]", "[[20, 25]]")) ==
        std::vector<std::string>{"bad.toml:56: fare_matrices[0].amounts_minor: has 1 rows for 2 areas; the table must be square"});
  CHECK(problems_of(replaced(replaced(metro, "stops = [2]", "stops = [1]"), "amounts_minor = [[20, 35], [35, 20]]",
                             "amounts_minor = [[20, 25], [25, 20]]")) ==
        std::vector<std::string>{"bad.toml:49: areas[1].stops: stop 1 is already in area \"A\""});
}

TEST_CASE("every problem is reported, not only the first") {
  std::string broken = replaced(base, "version = 3", "version = 0");
  broken = replaced(broken, "kind = \"bus\"\noperators", "kind = \"tram\"\noperators");
  broken = replaced(broken, "fare_product = \"bus_flat\"", "fare_product = \"nothing\"\ncolour = \"red\"");
  auto problems = problems_of(broken);
  CHECK(problems.size() == 4);
  CHECK(std::count_if(problems.begin(), problems.end(),
                      [](const std::string& line) { return line.find("unknown field") != std::string::npos; }) == 1);
}

TEST_CASE("a missing rule file is one clear problem") {
  RuleSetLoad load = load_rule_set_file("/nonexistent/city.toml");
  REQUIRE(load.problems.size() == 1);
  CHECK(load.problems[0].to_string() == "/nonexistent/city.toml:0: (file): cannot open the file");
  auto result = load_rule_set("/nonexistent/city.toml");
  CHECK(result.status().code() == StatusCode::invalid_argument);
}

// Found by tests/fuzz/rule_set_fuzzer.cpp: an area whose network is unknown
// (misspelt key), named by a leg rule of a known network, made the loader
// read the name of network no_index, far past the table (ASan: SEGV).
TEST_CASE("a leg rule naming an area of an unknown network reports the area once") {
  const std::string text = base + R"(
[[areas]]
id = "A"
fetwork = "bus"
stops = [1]

[[leg_rules]]
leg_group = "bus"
network = "bus"
from_area = "A"
fare_product = "bus_flat"
)";
  auto problems = problems_of(text);
  CHECK(problems == std::vector<std::string>{"bad.toml:29: areas[0].network: required field is missing",
                                             "bad.toml:31: areas[0].fetwork: unknown field"});
}

// Found by tests/fuzz/rule_set_fuzzer.cpp in a CI smoke run: a leg rule of a
// network that holds its maximum fare, with a fare product that does not
// exist, made the held-maximum check read product no_index (ASan: SEGV in
// product_price).
TEST_CASE("a leg rule without a fare product on a network holding its maximum reports only the product") {
  const std::string metro = base + R"(
[[networks]]
id = "metro"
kind = "metro"
operators = [201]
fare_collection = "hold_max_refund_on_exit"
max_fare_product = "metro_max"
trip_time_limit_minutes = 120

[[fare_products]]
id = "metro_max"
prices = [{ amount_minor = 30 }]

[[leg_rules]]
leg_group = "metro"
network = "metro"
fare_product = "metro_flat"
)";
  CHECK(problems_of(metro) == std::vector<std::string>{"bad.toml:44: leg_rules[1].fare_product: no fare product \"metro_flat\""});
}
