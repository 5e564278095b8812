// Scenario files: [card] and [[taps]] tables.
#include "scenario.h"

#include <fstream>
#include <sstream>

#include "calendar.h"
#include "toml_fields.h"

namespace citycard::rules {
namespace {

constexpr std::int64_t amount_max = limits::transfer_amount_minor_max;

void read_card(Fields& row, CardState& card) {
  if (auto text = row.string("category", false)) {
    if (auto category = parse_rider_category(*text)) card.category = *category;
    else row.problem("category", "unknown rider category \"" + *text + "\"");
  }
  if (auto text = row.string("media", false)) {
    if (auto media = parse_media(*text)) card.media = *media;
    else row.problem("media", "unknown media \"" + *text + "\" (expected card, mobile or co_branded_credit)");
  }
  if (auto text = row.string("status", false)) {
    if (auto status = parse_card_status(*text)) card.status = *status;
    else row.problem("status", "unknown card status \"" + *text + "\"");
  }
  if (auto value = row.integer("wallet_minor", false, -amount_max, amount_max)) card.wallet_minor = *value;
  if (auto value = row.integer("points", false, 0, amount_max)) card.points = *value;
  if (auto value = row.boolean("auto_top_up", false)) card.auto_top_up_enabled = *value;
  if (auto value = row.integer("auto_top_up_amount_minor", false, 0, amount_max)) card.auto_top_up_amount_minor = *value;
  if (auto value = row.integer("auto_top_up_threshold_minor", false, 0, amount_max)) card.auto_top_up_threshold_minor = *value;
  if (auto value = row.integer("auto_top_up_daily_max_minor", false, 0, amount_max)) card.auto_top_up_daily_max_minor = *value;
  // A points month given as "2025-03" means this month's allotment has been made.
  if (auto text = row.string("points_month", false)) {
    int year = 0, month = 0;
    if (std::sscanf(text->c_str(), "%4d-%2d", &year, &month) == 2 && month >= 1 && month <= 12)
      card.points_month = year * 12 + month - 1;
    else row.problem("points_month", "expected \"YYYY-MM\"");
  }
  row.finish();
}

void read_tap(Fields& row, Tap& tap, const RuleSet& rules) {
  const toml::node* time = row.node("time");
  if (time == nullptr) {
    row.problem("time", "required field is missing");
  } else if (auto value = time->value_exact<toml::date_time>()) {
    const auto& date = value->date;
    const auto& clock = value->time;
    std::int64_t days = days_from_civil(date.year, date.month, date.day);
    std::int64_t seconds = days * 86'400 + clock.hour * 3600 + clock.minute * 60 + clock.second;
    std::int64_t offset_minutes = value->offset ? value->offset->minutes : rules.utc_offset_minutes;
    tap.event_time = EventTime{(seconds - offset_minutes * 60) * us_per_second};
  } else {
    row.problem("time", "expected a date-time such as 2025-03-03T07:45:00+08:00, found " + type_name(*time));
  }
  if (auto text = row.string("mode", true)) {
    if (auto mode = parse_mode(*text)) tap.mode = *mode;
    else row.problem("mode", "unknown mode \"" + *text + "\"");
  }
  if (auto value = row.integer("operator", true, 1, 0xFFFF'FFFF)) tap.operator_id = OperatorId{static_cast<std::uint32_t>(*value)};
  if (auto value = row.integer("route", false, 0, 0xFFFF'FFFF)) tap.route = static_cast<std::uint32_t>(*value);
  if (auto value = row.integer("location", false, 0, 0xFFFF'FFFF)) tap.location = static_cast<std::uint32_t>(*value);
  if (auto value = row.integer("amount_minor", false, -amount_max, amount_max)) tap.amount_minor = *value;
  if (auto value = row.boolean("offline", false)) tap.offline = *value;
  if (auto value = row.integer("reader", false, 0, 0xFFFF'FFFF)) tap.id.reader = ReaderId{static_cast<std::uint32_t>(*value)};
  if (auto value = row.integer("sequence", false, 0, INT64_MAX)) tap.id.sequence = static_cast<std::uint64_t>(*value);
  if (auto text = row.string("media", false)) {
    if (auto media = parse_media(*text)) tap.media = *media;
    else row.problem("media", "unknown media \"" + *text + "\"");
  }
  row.finish();
}

Result<toml::table> parse_toml(std::string_view text, const std::string& file_name) {
  try {
    return toml::parse(text, file_name);
  } catch (const toml::parse_error& error) {
    return Status::invalid_argument(file_name + ":" + std::to_string(error.source().begin.line) +
                                    ": (syntax): " + std::string(error.description()));
  }
}

}  // namespace

Result<Scenario> parse_scenario(std::string_view text, const std::string& file_name, const RuleSet& rules) {
  auto root = parse_toml(text, file_name);
  if (!root) return root.status();
  ProblemLog log(file_name);
  Fields fields(log, *root, "");
  Scenario scenario;
  if (const toml::table* card = fields.subtable("card", true)) {
    Fields row(log, *card, "card");
    read_card(row, scenario.card);
  }
  if (const toml::array* taps = fields.array("taps", true)) {
    for (std::size_t i = 0; i < taps->size(); ++i) {
      const toml::node& element = *taps->get(i);
      std::string path = "taps[" + std::to_string(i) + "]";
      if (!element.is_table()) {
        log.add(&element, path, "expected a table, found " + type_name(element));
        continue;
      }
      Tap tap;
      tap.media = scenario.card.media;
      tap.id = TapId{ReaderId{1}, i + 1};
      Fields row(log, *element.as_table(), path);
      read_tap(row, tap, rules);
      scenario.taps.push_back(tap);
    }
  }
  fields.finish();
  if (!log.problems().empty()) return Status::invalid_argument(problems_text(log.problems()));
  return scenario;
}

Result<Scenario> load_scenario_file(const std::string& path, const RuleSet& rules) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::not_found(path + ": cannot open the scenario file");
  std::stringstream text;
  text << file.rdbuf();
  return parse_scenario(text.str(), path, rules);
}

Result<CardState> parse_card_state_inline(std::string_view text) {
  auto root = parse_toml("card = { " + std::string(text) + " }", "--card-state");
  if (!root) return root.status();
  ProblemLog log("--card-state");
  const toml::table* card = root->get_as<toml::table>("card");
  CardState state;
  Fields row(log, *card, "card");
  read_card(row, state);
  if (!log.problems().empty()) return Status::invalid_argument(problems_text(log.problems()));
  return state;
}

Result<Tap> parse_tap_inline(std::string_view text, const RuleSet& rules, std::uint64_t sequence) {
  auto root = parse_toml("tap = { " + std::string(text) + " }", "--tap");
  if (!root) return root.status();
  ProblemLog log("--tap");
  const toml::table* table = root->get_as<toml::table>("tap");
  Tap tap;
  tap.id = TapId{ReaderId{1}, sequence};
  Fields row(log, *table, "tap");
  read_tap(row, tap, rules);
  if (!log.problems().empty()) return Status::invalid_argument(problems_text(log.problems()));
  return tap;
}

}  // namespace citycard::rules
