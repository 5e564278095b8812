#include "eligibility.h"

#include <fmt/format.h>

#include <unordered_set>

#include "calendar.h"
#include "hashing.h"
#include "rule_set_loader.h"

namespace citycard::engine {
namespace {

std::string date_text(std::int32_t day) {
  if (day == no_category_day) return {};
  const auto date = rules::civil_from_days(day);
  return fmt::format("{:04}-{:02}-{:02}", date.year, date.month, date.day);
}
std::string day_text(std::int32_t day) { return day == no_category_day ? "open" : date_text(day); }

// An empty field is open; otherwise a date.
Result<std::int32_t> parse_day_field(const std::string& text, std::string_view name) {
  if (text.empty()) return no_category_day;
  auto day = rules::parse_date_days(text);
  if (!day || *day == no_category_day) return Status::invalid_argument(fmt::format("{} '{}' is not a date (YYYY-MM-DD)", name, text));
  return *day;
}

// A postal code (district_min..district_max), or 0 for none.
Result<std::uint16_t> parse_district_field(const std::string& text) {
  std::uint32_t value = 0;
  bool digits = !text.empty() && text.size() <= 3;
  for (char c : text) {
    if (c < '0' || c > '9') digits = false;
    else value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (!digits || (value != no_district && (value < district_min || value > district_max)))
    return Status::invalid_argument(fmt::format("district '{}' is not a 3-digit postal code (or 0 for none)", text));
  return static_cast<std::uint16_t>(value);
}

Status problems_status(const std::vector<std::string>& problems) {
  std::string text = fmt::format("{} bad line{}, nothing changed:", problems.size(), problems.size() == 1 ? "" : "s");
  for (std::size_t i = 0; i < problems.size() && i < eligibility_problems_listed_max; ++i) text += "\n  " + problems[i];
  if (problems.size() > eligibility_problems_listed_max)
    text += fmt::format("\n  ... and {} more", problems.size() - eligibility_problems_listed_max);
  return Status::invalid_argument(text);
}

}  // namespace

Result<EligibilityRow> parse_eligibility_row(const std::vector<std::string>& fields, std::size_t line) {
  if (fields.size() != 4 && fields.size() != 5)
    return Status::invalid_argument(fmt::format("expected card,category,from,until[,district] ({} fields)", fields.size()));
  EligibilityRow row;
  row.line = line;
  auto card = CardId::parse(fields[0]);
  if (!card) return Status::invalid_argument("'" + fields[0] + "' is not a card id (2..32 hex digits)");
  row.card = *card;
  auto category = parse_rider_category(fields[1]);
  if (!category) {
    return Status::invalid_argument("unknown rider category '" + fields[1] +
                                    "' (general, student, senior, disability, disability_companion, employee)");
  }
  row.category = *category;
  auto from = parse_day_field(fields[2], "from");
  if (!from) return from.status();
  auto until = parse_day_field(fields[3], "until");
  if (!until) return until.status();
  row.from_day = *from;
  row.until_day = *until;
  if (row.until_day != no_category_day && row.until_day < row.from_day)
    return Status::invalid_argument(fmt::format("until {} is before from {}", fields[3], fields[2]));
  if (row.category == RiderCategory::general && (row.from_day != no_category_day || row.until_day != no_category_day))
    return Status::invalid_argument("general has no eligibility period: leave from and until empty");
  if (fields.size() == 5 && !fields[4].empty()) {
    auto district = parse_district_field(fields[4]);
    if (!district) return district.status();
    row.district = *district;
  }
  return row;
}

Status check_eligibility_cards(const ledger::Ledger& ledger, const std::vector<EligibilityRow>& rows) {
  std::vector<std::string> problems;
  for (const EligibilityRow& row : rows) {
    auto card = ledger.card(row.card);
    if (!card && card.status().code() == StatusCode::not_found) {
      problems.push_back(fmt::format("line {}: card {} is not issued", row.line, row.card.to_string()));
    } else if (!card) {
      return card.status();
    } else if (card->status == CardStatus::replaced) {
      problems.push_back(fmt::format("line {}: card {} was replaced by {}; list the new card", row.line,
                                     row.card.to_string(), card->replaced_by.to_string()));
    }
  }
  if (!problems.empty()) return problems_status(problems);
  return Status::ok();
}

nlohmann::json eligibility_rows_json(const std::vector<EligibilityRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const EligibilityRow& row : rows) {
    nlohmann::json fields = {row.card.to_string(), std::string(rider_category_name(row.category)), date_text(row.from_day),
                             date_text(row.until_day)};
    if (row.district) fields.push_back(std::to_string(*row.district));
    out.push_back({{"line", row.line}, {"fields", std::move(fields)}});
  }
  return out;
}

Result<std::vector<EligibilityRow>> eligibility_rows_from_json(const nlohmann::json& rows) {
  if (!rows.is_array() || rows.empty() || rows.size() > eligibility_rows_max)
    return Status::invalid_argument(fmt::format("'rows' must be an array of 1..{} rows", eligibility_rows_max));
  std::vector<EligibilityRow> out;
  std::vector<std::string> problems;
  std::unordered_set<CardId, CardIdHash> seen;
  for (const nlohmann::json& item : rows) {
    const auto line = item.is_object() ? item.value("line", std::size_t{0}) : std::size_t{0};
    const auto fields_json = item.is_object() ? item.value("fields", nlohmann::json()) : nlohmann::json();
    std::vector<std::string> fields;
    bool strings = fields_json.is_array();
    for (const auto& field : fields_json) {
      if (!field.is_string()) strings = false;
      else fields.push_back(field.get<std::string>());
    }
    if (line == 0 || !strings) {
      problems.push_back("a row must be {\"line\": N, \"fields\": [card, category, from, until]}");
      continue;
    }
    auto row = parse_eligibility_row(fields, line);
    if (!row) {
      problems.push_back(fmt::format("line {}: {}", line, row.status().message()));
    } else if (!seen.insert(row->card).second) {
      problems.push_back(fmt::format("line {}: card {} is listed twice", line, row->card.to_string()));
    } else {
      out.push_back(std::move(*row));
    }
  }
  if (!problems.empty()) return problems_status(problems);
  return out;
}

AdminCommand eligibility_command(const EligibilityRow& row) {
  AdminCommand command;
  command.action = AdminAction::set_category;
  command.card = row.card;
  command.category = row.category;
  command.category_from_day = row.from_day;
  command.category_until_day = row.until_day;
  command.district = row.district;
  return command;
}

std::string describe_eligibility(RiderCategory category, std::int32_t from_day, std::int32_t until_day) {
  if (from_day == no_category_day && until_day == no_category_day) return std::string(rider_category_name(category));
  return fmt::format("{} from {} until {}", rider_category_name(category), day_text(from_day), day_text(until_day));
}

}  // namespace citycard::engine
