// The rule set loader (engine/rules/rule_set_loader.h): the city's TOML rule
// file, read at every start and by `citycard rules check|load`.
//
// input := TOML text     given to parse_rule_set.
// Checks: a load either has a rule set and no problems, or problems (each
// naming its file and field) and no rule set. A rule set the loader accepts
// must be safe to rate with: a few taps of every operator it names, online
// and offline, are rated against a card with money on it, and each rating
// keeps rate()'s contract (engine/rules/rating.h): a refusal posts nothing
// and leaves the state; every posting moves a positive amount; the wallet
// changes by exactly what the postings move.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citycard/check.h"
#include "rating.h"
#include "rule_set_loader.h"

namespace {

using namespace citycard;
using namespace citycard::rules;

constexpr std::size_t operators_rated_max = 8;
constexpr Mode modes[] = {Mode::bus_board, Mode::bus_alight, Mode::metro_in, Mode::metro_out, Mode::bike_rent,
                          Mode::bike_return, Mode::entry, Mode::pay, Mode::identify, Mode::top_up};

void check_rating(const RuleSet& rules, const CardState& before, const Tap& tap, const Rating& rating) {
  CITYCARD_CHECK(rating.rule_set_version == rules.version);
  if (!rating.approved()) {
    CITYCARD_CHECK(rating.posting_count == 0);
    CITYCARD_CHECK(rating.state == before);
    return;
  }
  for (const Posting& posting : rating.posting_list()) CITYCARD_CHECK(posting.amount_minor > 0);
  CITYCARD_CHECK(rating.state.wallet_minor - before.wallet_minor ==
                 net_for_role(rating, AccountRole::card_wallet, Asset::twd));
  CITYCARD_CHECK(rating.state.points - before.points == net_for_role(rating, AccountRole::card_points, Asset::points));
  (void)tap;
}

// Taps of each operator in each mode, a card carried through them.
void rate_some_taps(const RuleSet& rules) {
  const std::int64_t start_us = 1'795'651'200'000'000;  // 2026-11-26 08:00 +08:00
  for (bool offline : {false, true}) {
    CardState state;
    state.wallet_minor = 1'000;
    state.points = 100;
    std::uint64_t sequence = 0;
    for (std::size_t o = 0; o < rules.operators.size() && o < operators_rated_max; ++o) {
      for (Mode mode : modes) {
        Tap tap;
        tap.id = TapId{ReaderId{1}, ++sequence};
        tap.card = *CardId::parse("04A1B2C3D4E5F6");
        tap.event_time = EventTime{start_us + static_cast<std::int64_t>(sequence) * 5 * us_per_minute};
        tap.mode = mode;
        tap.operator_id = rules.operators[o].id;
        tap.route = rules.networks.empty() || rules.networks[0].routes.empty() ? 0 : rules.networks[0].routes[0];
        tap.location = rules.areas.empty() || rules.areas[0].stops.empty() ? 0 : rules.areas[0].stops[0];
        tap.amount_minor = mode == Mode::pay || mode == Mode::top_up ? 100 : 0;
        tap.offline = offline;
        const Rating rating = rate(rules, state, tap);
        check_rating(rules, state, tap, rating);
        state = rating.state;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  RuleSetLoad load = parse_rule_set(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.toml");
  CITYCARD_CHECK(load.ok() == load.problems.empty());
  for (const RuleProblem& problem : load.problems) {
    CITYCARD_CHECK(problem.file == "fuzz.toml");
    CITYCARD_CHECK(!problem.field.empty() && !problem.message.empty());
  }
  if (load.ok()) rate_some_taps(*load.rule_set);
  return 0;
}
