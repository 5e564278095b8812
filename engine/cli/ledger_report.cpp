#include "ledger_report.h"

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "debt_report.h"
#include "engine/groups/rule_store.h"
#include "files/durable_file.h"
#include "ledger_clerk.h"
#include "ledger_support.h"
#include "points_report.h"
#include "points_report_format.h"
#include "programme_report.h"
#include "usage_chart.h"
#include "usage_report.h"
#include "usage_report_format.h"

namespace citycard::cli {
namespace {

struct UsageOptions {
  std::string from;
  std::string to;
  std::string by = "mode";
  bool json = false;
  bool csv = false;
  std::string chart;
};

// The reports' calendar is the rule set's: the newest installed version's UTC
// offset and business-day start (a city does not move; a ledger without
// versions has no rated taps, and reads as UTC from midnight).
struct RuleCalendar {
  std::int32_t utc_offset_minutes = 0;
  std::int32_t business_day_start_minutes = 0;
};

RuleCalendar rule_calendar(const ledger::Ledger& ledger) {
  auto installed = engine::installed_rules(ledger);
  if (!installed) fail(installed.status().message());
  if (installed->empty()) return {};
  const auto& rules = *installed->back().installed.rules;
  return {rules.utc_offset_minutes, rules.business_day_start_minutes};
}

// Whether a report prints JSON (its --json or the global one); exit 2 for --json with --csv.
bool wants_json(const CliContext& context, bool json, bool csv) {
  if ((json || context.json) && csv) fail("--json and --csv: choose one", 2);
  return json || context.json;
}

// A chart is an HTML page: FILE.html (exit 2 before anything is opened).
void check_chart_name(const std::string& chart) {
  if (!chart.empty() && !chart.ends_with(".html")) {
    fail("--chart " + chart + ": the chart is an HTML page; name it FILE.html", 2);
  }
}

// Durably (a temporary file, fsync, rename): a reader of the old chart never sees half a new one.
void write_chart(const std::string& path, const std::string& page) {
  if (Status written = files::write_file_durably(path, page); !written) fail(written.message());
}

engine::UsageReport read_or_fail(const ledger::Snapshot& snapshot, const engine::UsageQuery& query) {
  auto report = engine::read_usage_report(snapshot, query);
  if (!report) fail(report.status().message());
  return std::move(*report);
}

void run_usage(const CliContext& context, const UsageOptions& options) {
  // The request is checked before anything is opened: bad input names its problem and touches nothing.
  auto query = engine::usage_query(options.from, options.to, options.by, 0);
  if (!query) fail(query.status().message(), 2);
  const bool json = wants_json(context, options.json, options.csv);
  check_chart_name(options.chart);
  require_clerk(context, ClerkAction::look_up);
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  query->utc_offset_minutes = rule_calendar(*ledger).utc_offset_minutes;
  const auto snapshot = ledger->snapshot();
  const engine::UsageReport report = read_or_fail(*snapshot, *query);

  if (!options.chart.empty()) {
    // By hour alone, the picture is still taps per hour by mode: one more pass over the same snapshot.
    engine::UsageReport stacked;
    const engine::UsageReport* drawn = &report;
    if (query->axes.size() == 1 && query->axes[0] == engine::UsageAxis::hour) {
      engine::UsageQuery by_mode = *query;
      by_mode.axes = {engine::UsageAxis::hour, engine::UsageAxis::mode};
      stacked = read_or_fail(*snapshot, by_mode);
      drawn = &stacked;
    }
    write_chart(options.chart, engine::usage_chart_html(*drawn, format_utc(now())));
  }
  if (json) {
    std::cout << engine::usage_report_json(report).dump() << "\n";
  } else if (options.csv) {
    std::cout << engine::usage_report_csv(report);
  } else {
    std::cout << engine::usage_report_table(report);
    if (!options.chart.empty()) std::cout << "chart: " << options.chart << "\n";
  }
}

struct ProgrammeOptions {
  std::string from;
  std::string to;
  bool json = false;
  bool csv = false;
};

void run_programmes(const CliContext& context, const ProgrammeOptions& options) {
  // Checked before anything is opened: bad input names its problem and touches nothing.
  auto days = engine::report_days(options.from, options.to);
  if (!days) fail(days.status().message(), 2);
  const bool json = wants_json(context, options.json, options.csv);
  require_clerk(context, ClerkAction::look_up);
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  const RuleCalendar calendar = rule_calendar(*ledger);
  const engine::ProgrammeQuery query{*days, calendar.utc_offset_minutes, calendar.business_day_start_minutes};
  const auto snapshot = ledger->snapshot();
  auto report = engine::read_programme_report(*snapshot, query);
  if (!report) fail(report.status().message());
  if (json) std::cout << engine::programme_report_json(*report) << "\n";
  else if (options.csv) std::cout << engine::programme_report_csv(*report);
  else std::cout << engine::programme_report_table(*report);
}

struct PointsOptions {
  std::string from;
  std::string to;
  bool json = false;
  bool csv = false;
  std::string chart;
};

void run_points(const CliContext& context, const PointsOptions& options) {
  // Checked before anything is opened: bad input names its problem and touches nothing.
  auto months = engine::report_months(options.from, options.to);
  if (!months) fail(months.status().message(), 2);
  const bool json = wants_json(context, options.json, options.csv);
  check_chart_name(options.chart);
  require_clerk(context, ClerkAction::look_up);
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  const RuleCalendar calendar = rule_calendar(*ledger);
  const engine::PointsQuery query{*months, calendar.utc_offset_minutes, calendar.business_day_start_minutes};
  const auto snapshot = ledger->snapshot();
  auto report = engine::read_points_report(*snapshot, query);
  if (!report) fail(report.status().message());
  if (!options.chart.empty()) write_chart(options.chart, engine::points_chart_html(*report, format_utc(now())));
  if (json) std::cout << engine::points_report_json(*report).dump() << "\n";
  else if (options.csv) std::cout << engine::points_report_csv(*report);
  else {
    std::cout << engine::points_report_table(*report);
    if (!options.chart.empty()) std::cout << "chart: " << options.chart << "\n";
  }
}

struct DebtOptions {
  bool json = false;
  bool csv = false;
};

void run_debt(const CliContext& context, const DebtOptions& options) {
  const bool json = wants_json(context, options.json, options.csv);
  require_clerk(context, ClerkAction::look_up);
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  auto debts = engine::read_debt_report(*ledger);
  if (!debts) fail(debts.status().message());
  const EventTime today = now();
  auto days_since = [&](const engine::DebtEntry& debt) { return (today.unix_us - debt.since.unix_us) / us_per_day; };
  if (json) {
    nlohmann::json cards = nlohmann::json::array();
    for (const auto& debt : *debts) {
      cards.push_back({{"card", debt.card.to_string()}, {"category", std::string(rider_category_name(debt.category))},
                       {"balance_minor", debt.balance_minor}, {"since_us", debt.since.unix_us},
                       {"since", format_utc(debt.since)}, {"days", days_since(debt)}, {"since_sequence", debt.since_sequence}});
    }
    std::cout << nlohmann::json{{"cards", std::move(cards)}}.dump() << "\n";
    return;
  }
  if (options.csv) {
    std::cout << "card,category,balance_minor,since,days\r\n";
    for (const auto& debt : *debts) {
      std::cout << fmt::format("{},{},{},{},{}\r\n", debt.card.to_string(), rider_category_name(debt.category),
                               debt.balance_minor, format_utc(debt.since), days_since(debt));
    }
    return;
  }
  std::int64_t owed = 0;
  for (const auto& debt : *debts) owed += debt.balance_minor;
  std::cout << fmt::format("{} card{} in debt, {} in all (minor units); most in debt first\n", debts->size(),
                           debts->size() == 1 ? "" : "s", owed);
  std::cout << fmt::format("{:<32}  {:<20}  {:>12}  {:<20}  {:>5}\n", "card", "category", "balance", "since (UTC)", "days");
  for (const auto& debt : *debts) {
    std::cout << fmt::format("{:<32}  {:<20}  {:>12}  {:<20}  {:>5}\n", debt.card.to_string(),
                             rider_category_name(debt.category), debt.balance_minor, format_utc(debt.since), days_since(debt));
  }
}

// --json and --csv, every report's two other forms.
void add_format_flags(CLI::App* command, bool& json, bool& csv) {
  command->add_flag("--json", json, "JSON instead of a table");
  command->add_flag("--csv", csv, "CSV (RFC 4180, header row) instead of a table");
}

}  // namespace

void add_report_commands(CLI::App& app, CliContext& context) {
  auto* report = app.add_subcommand("report", "the city's figures from the tap records (docs/reports.md)");
  report->require_subcommand(1);
  auto options = std::make_shared<UsageOptions>();
  auto* usage = report->add_subcommand(
      "usage", "taps, riders and money per mode, operator, location, hour or category over business days");
  usage->add_option("--from", options->from, "first business day YYYY-MM-DD")->required();
  usage->add_option("--to", options->to, "last business day YYYY-MM-DD (at most 92 days in all)")->required();
  usage->add_option("--by", options->by, "mode (default), operator, location, hour or category; or two: mode,hour");
  add_format_flags(usage, options->json, options->csv);
  usage->add_option("--chart", options->chart, "also write a self-contained HTML page with an SVG bar chart");
  usage->callback([&context, options] { run_usage(context, *options); });

  auto programme_options = std::make_shared<ProgrammeOptions>();
  auto* programmes = report->add_subcommand(
      "programmes", "what each city programme paid each operator per business day, from the ledger's transfers");
  programmes->add_option("--from", programme_options->from, "first business day YYYY-MM-DD")->required();
  programmes->add_option("--to", programme_options->to, "last business day YYYY-MM-DD (at most 92 days in all)")->required();
  add_format_flags(programmes, programme_options->json, programme_options->csv);
  programmes->callback([&context, programme_options] { run_programmes(context, *programme_options); });

  auto points_options = std::make_shared<PointsOptions>();
  auto* points = report->add_subcommand(
      "points", "welfare points allotted, used, expired and rewarded per month and category, and use per card");
  points->add_option("--from", points_options->from, "first local month YYYY-MM")->required();
  points->add_option("--to", points_options->to, "last local month YYYY-MM (at most 12 months in all)")->required();
  add_format_flags(points, points_options->json, points_options->csv);
  points->add_option("--chart", points_options->chart, "also write a self-contained HTML page: a histogram of use per card");
  points->callback([&context, points_options] { run_points(context, *points_options); });

  auto debt_options = std::make_shared<DebtOptions>();
  auto* debt = report->add_subcommand("debt", "cards whose wallet is below zero, how much, and since when");
  add_format_flags(debt, debt_options->json, debt_options->csv);
  debt->callback([&context, debt_options] { run_debt(context, *debt_options); });
}

}  // namespace citycard::cli
