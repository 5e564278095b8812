// The explanation of a recorded tap as JSON and as lines for a clerk
// (tap_explanation.h).
#include <fmt/format.h>

#include "rule_set_loader.h"
#include "tap_explanation.h"

namespace citycard::engine {
namespace {

std::string twd(std::int64_t minor) { return fmt::format("{} TWD", minor); }

std::string group_name(const RecordedTap& record) {
  return (record.origin == Origin::service_given ? IdempotencyKey::for_service_given(record.tap.id)
                                                 : IdempotencyKey::for_tap(record.tap.id))
      .to_string();
}

}  // namespace

nlohmann::json tap_explanation_json(const TapExplanation& e) {
  const RecordedTap& r = e.record;
  nlohmann::json out = {{"tap", group_name(r)},
                        {"origin", r.origin == Origin::service_given ? "service_given" : "tap"},
                        {"card", r.tap.card.to_string()},
                        {"business_day", rules::format_date_days(r.business_day)},
                        {"time", e.local_time},
                        {"description", e.tap_text},
                        {"outcome", e.refused ? "refused" : "approved"},
                        {"steps", e.steps},
                        {"agrees", e.agrees},
                        {"remarks", e.remarks}};
  if (e.refused) {
    out["refusal"] = e.refusal;
    return out;
  }
  out["arrived_after_close"] = e.arrived_after_close;
  nlohmann::json replay = {{"order", e.order == ReplayOrder::event ? "event" : "arrival"},
                           {"day_closed", e.day_closed},
                           {"opened_on", rules::format_date_days(e.opened_on_day)},
                           {"opened_fresh", e.opened_fresh},
                           {"taps_before", e.taps_before},
                           {"taps_after_close", e.taps_after_close},
                           {"rule_set_version", e.rule_set_version},
                           {"approved", e.replay_approved},
                           {"fare_minor", e.replay_fare_minor},
                           {"subsidy_minor", e.replay_subsidy_minor},
                           {"points", e.replay_points}};
  if (!e.replay_approved) replay["refusal"] = e.replay_refusal;
  out["replay"] = e.arrived_after_close ? nlohmann::json(nullptr) : std::move(replay);
  out["ledger"] = {{"charged_fare_minor", e.charged_fare_minor},
                   {"charged_subsidy_minor", e.charged_subsidy_minor},
                   {"charged_points", e.charged_points},
                   {"correction", e.correction_key.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.correction_key)},
                   {"correction_fare_minor", e.correction_fare_minor},
                   {"correction_points", e.correction_points},
                   {"fare_minor", e.ledger_fare_minor}};
  return out;
}

std::vector<std::string> tap_explanation_lines(const TapExplanation& e) {
  const RecordedTap& r = e.record;
  std::vector<std::string> lines;
  lines.push_back(fmt::format("{} card {}: {}{}", group_name(r), r.tap.card.to_string(), e.tap_text,
                              r.origin == Origin::service_given ? " (service given after an online refusal)" : ""));
  if (e.refused || e.arrived_after_close) {
    lines.push_back("  - " + e.steps.front());
  } else {
    lines.push_back(fmt::format("replayed in {} order with rule set version {}, from the {} state at the start of {}{}",
                                e.order == ReplayOrder::event ? "event" : "arrival", e.rule_set_version,
                                e.opened_fresh ? "fresh card's" : "account's", rules::format_date_days(e.opened_on_day),
                                e.taps_before == 0 ? std::string(", first tap")
                                                   : fmt::format(", after {} earlier tap{}", e.taps_before,
                                                                 e.taps_before == 1 ? "" : "s")));
    for (const std::string& step : e.steps) lines.push_back("  - " + step);
    if (e.replay_approved) {
      lines.push_back(fmt::format("  = {} from the wallet, {} points; the city pays operators {}", twd(e.replay_fare_minor),
                                  e.replay_points, twd(e.replay_subsidy_minor)));
    } else {
      lines.push_back("  = the replay refuses it: " + e.replay_refusal);
    }
  }
  for (const std::string& remark : e.remarks) lines.push_back(remark);
  if (e.arrived_after_close) {
    lines.push_back(fmt::format("the ledger holds {}, charged on arrival (not replayed)", twd(e.ledger_fare_minor)));
  } else if (!e.refused) {
    lines.push_back(e.agrees ? fmt::format("the ledger agrees: {}", twd(e.ledger_fare_minor))
                             : fmt::format("the ledger holds {}: the replay does NOT agree", twd(e.ledger_fare_minor)));
  }
  return lines;
}

}  // namespace citycard::engine
