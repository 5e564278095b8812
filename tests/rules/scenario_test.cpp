// Scenario files and the clerk's explanation of each tap.
#include "explain.h"
#include "rules_test_support.h"
#include "scenario.h"

using namespace citycard;
using namespace citycard::rules;
using namespace citycard::rules::testing;

TEST_CASE("the shipped student scenario explains each charge") {
  auto scenario = load_scenario_file(std::string(CITYCARD_SCENARIOS) + "/student_commute.toml", city_rules());
  REQUIRE(scenario);
  REQUIRE(scenario->taps.size() == 6);
  CHECK(scenario->card.category == RiderCategory::student);
  CHECK(scenario->taps[0].event_time == taipei(2025, 3, 4, 7, 40));
  CardState state = scenario->card;
  std::vector<std::string> lines;
  for (const Tap& tap : scenario->taps) {
    Rating rating = rate(city_rules(), state, tap);
    for (auto& line : explain_notes(city_rules(), state, rating)) lines.push_back(line);
    lines.push_back(summarize_rating(rating));
    state = rating.state;
  }
  auto has = [&](const std::string& text) { return std::find(lines.begin(), lines.end(), text) != lines.end(); };
  CHECK(has("leg rule (network \"city_bus\", leg group \"city_bus\"): fare product \"bus_flat\" is 15 TWD general, "
            "12 TWD for a student rider"));
  CHECK(has("discount \"metro_citizen\": 20% off 65 TWD, rounded half up = 52 TWD (the city pays the difference)"));
  CHECK(has("transfer from leg group \"city_bus\" to \"metro\" within 60 min (fare_transfer_type 1: A + AB + B): "
            "52 TWD becomes 46 TWD"));
  CHECK(has("trip fare 22 TWD, 46 TWD already taken: 24 TWD refunded"));
  CHECK(has("approved: 6 TWD from the wallet; balance 132 TWD, 0 points"));
}

TEST_CASE("scenario and inline problems are reported with file, line and field") {
  auto bad = parse_scenario("[card]\ncategory = \"pupil\"\n[[taps]]\nmode = \"bus_board\"\noperator = 101\n", "s.toml",
                            city_rules());
  REQUIRE_FALSE(bad);
  CHECK(bad.status().message() ==
        "s.toml:2: card.category: unknown rider category \"pupil\"\ns.toml:3: taps[0].time: required field is missing");
  auto tap = parse_tap_inline("time = 2025-03-04T07:40:00, mode = \"metro_in\", operator = 201, location = 1001",
                              city_rules(), 1);
  REQUIRE(tap);
  CHECK(tap->event_time == taipei(2025, 3, 4, 7, 40));  // local time without an offset
  auto state = parse_card_state_inline("category = \"senior\", wallet_minor = 80, points = 12");
  REQUIRE(state);
  CHECK(state->points == 12);
  CHECK_FALSE(parse_card_state_inline("wallet = 80"));
}
