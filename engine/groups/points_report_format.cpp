#include "points_report_format.h"

#include <algorithm>
#include <array>
#include <vector>

#include <fmt/format.h>

#include "bar_chart.h"
#include "usage_report_format.h"

namespace citycard::engine {
namespace {

constexpr std::array<std::string_view, 8> figure_names = {"cards",   "allotted_cards", "allotted", "used",
                                                          "expired", "rewarded",       "other",    "left"};
constexpr std::array<std::string_view, points_bucket_names.size()> csv_bucket_names = {
    "used_0", "used_1_99", "used_100_299", "used_300_499", "used_500_plus", "used_all"};
// One colour per bucket, from none used (grey) to all (dark).
constexpr std::array<std::string_view, points_bucket_names.size()> bucket_colours = {
    "#bbbbbb", "#c6dbef", "#6baed6", "#3182bd", "#08519c", "#08306b"};

std::array<std::int64_t, figure_names.size()> figure_values(const PointsFigures& f) {
  return {static_cast<std::int64_t>(f.cards), static_cast<std::int64_t>(f.allotted_cards), f.allotted, f.used, f.expired,
          f.rewarded, f.other, f.left()};
}

std::string percent(std::int64_t permille) { return fmt::format("{}.{}", permille / 10, permille % 10); }

struct Labelled {
  std::string month;
  std::string category;
  const PointsFigures* figures;
};

std::vector<Labelled> labelled_rows(const PointsReport& report) {
  std::vector<Labelled> rows;
  for (const auto& [key, figures] : report.rows) {
    rows.push_back({format_month(key.first), std::string(rider_category_name(key.second)), &figures});
  }
  rows.push_back({"(all)", "(all)", &report.total});
  return rows;
}

constexpr std::array<std::string_view, 6> bonus_figure_names = {"cards", "earned", "spent", "expired", "other", "net"};

std::array<std::int64_t, bonus_figure_names.size()> bonus_values(const BonusFigures& f) {
  return {static_cast<std::int64_t>(f.cards), f.earned, f.spent, f.expired, f.other, f.net()};
}

std::string range_text(const PointsQuery& query) {
  return query.months.from_month == query.months.to_month
             ? format_month(query.months.from_month)
             : format_month(query.months.from_month) + " to " + format_month(query.months.to_month);
}

}  // namespace

std::int64_t points_share_permille(std::uint64_t cards, std::uint64_t allotted_cards) noexcept {
  if (allotted_cards == 0) return 0;
  return static_cast<std::int64_t>((cards * 2000 + allotted_cards) / (2 * allotted_cards));
}

std::string points_report_table(const PointsReport& report) {
  std::string out = fmt::format("points {} (local months): cards allotted points {} (card-months), points used {}\n",
                                range_text(report.query), report.total.allotted_cards, report.total.used);
  const auto rows = labelled_rows(report);
  out += fmt::format("{:<7}  {:<20}", "month", "category");
  for (auto name : figure_names) out += fmt::format("  {:>14}", name);
  out += "\n";
  for (const Labelled& row : rows) {
    out += fmt::format("{:<7}  {:<20}", row.month, row.category);
    for (std::int64_t value : figure_values(*row.figures)) out += fmt::format("  {:>14}", value);
    out += "\n";
  }
  if (report.rows.empty()) out += "(no points moved in this range)\n";
  out += "use per card and month, of the cards allotted points (share and cumulative share in %)\n";
  out += fmt::format("{:<7}  {:<20}  {:<7}  {:>10}  {:>6}  {:>10}\n", "month", "category", "used", "cards", "share",
                     "cumulative");
  for (const Labelled& row : rows) {
    if (row.figures->allotted_cards == 0) continue;
    std::uint64_t below = 0;
    for (std::size_t b = 0; b < points_bucket_names.size(); ++b) {
      const std::uint64_t cards = row.figures->buckets[b];
      below += cards;
      out += fmt::format("{:<7}  {:<20}  {:<7}  {:>10}  {:>6}  {:>10}\n", row.month, row.category, points_bucket_names[b],
                         cards, percent(points_share_permille(cards, row.figures->allotted_cards)),
                         percent(points_share_permille(below, row.figures->allotted_cards)));
    }
  }
  // Only when bonus points moved: a city without them keeps its report as it was.
  if (!report.bonus_rows.empty()) {
    out += "bonus points (partner shops, co-branded card cashback; not welfare points), by local month\n";
    out += fmt::format("{:<7}", "month");
    for (auto name : bonus_figure_names) out += fmt::format("  {:>14}", name);
    out += "\n";
    auto line = [&](const std::string& month, const BonusFigures& figures) {
      out += fmt::format("{:<7}", month);
      for (std::int64_t value : bonus_values(figures)) out += fmt::format("  {:>14}", value);
      out += "\n";
    };
    for (const auto& [month, figures] : report.bonus_rows) line(format_month(month), figures);
    line("(all)", report.bonus_total);
  }
  return out;
}

nlohmann::json points_report_json(const PointsReport& report) {
  auto row_json = [](const Labelled& row) {
    nlohmann::json out = nlohmann::json::object();
    out["month"] = row.month;
    out["category"] = row.category;
    const auto values = figure_values(*row.figures);
    for (std::size_t i = 0; i < values.size(); ++i) out[std::string(figure_names[i])] = values[i];
    nlohmann::json distribution = nlohmann::json::array();
    std::uint64_t below = 0;
    for (std::size_t b = 0; b < points_bucket_names.size(); ++b) {
      const std::uint64_t cards = row.figures->buckets[b];
      below += cards;
      distribution.push_back(
          {{"bucket", std::string(points_bucket_names[b])},
           {"cards", cards},
           {"share_percent", static_cast<double>(points_share_permille(cards, row.figures->allotted_cards)) / 10},
           {"cumulative_share_percent", static_cast<double>(points_share_permille(below, row.figures->allotted_cards)) / 10}});
    }
    out["distribution"] = std::move(distribution);
    return out;
  };
  auto rows = labelled_rows(report);
  nlohmann::json listed = nlohmann::json::array();
  for (std::size_t i = 0; i + 1 < rows.size(); ++i) listed.push_back(row_json(rows[i]));
  nlohmann::json out{{"from", format_month(report.query.months.from_month)},
                     {"to", format_month(report.query.months.to_month)},
                     {"rows", std::move(listed)},
                     {"total", row_json(rows.back())}};
  if (!report.bonus_rows.empty()) {
    auto bonus_json = [](const BonusFigures& figures) {
      nlohmann::json row = nlohmann::json::object();
      const auto values = bonus_values(figures);
      for (std::size_t i = 0; i < values.size(); ++i) row[std::string(bonus_figure_names[i])] = values[i];
      return row;
    };
    nlohmann::json bonus_rows = nlohmann::json::array();
    for (const auto& [month, figures] : report.bonus_rows) {
      nlohmann::json row = bonus_json(figures);
      row["month"] = format_month(month);
      bonus_rows.push_back(std::move(row));
    }
    out["bonus"] = {{"rows", std::move(bonus_rows)}, {"total", bonus_json(report.bonus_total)}};
  }
  return out;
}

std::string points_report_csv(const PointsReport& report) {
  std::string out = "month,category";
  for (auto name : figure_names) out += "," + std::string(name);
  for (auto name : csv_bucket_names) out += "," + std::string(name);
  out += "\r\n";
  for (const Labelled& row : labelled_rows(report)) {
    out += csv_field(row.month) + "," + csv_field(row.category);
    for (std::int64_t value : figure_values(*row.figures)) out += "," + std::to_string(value);
    for (std::uint64_t cards : row.figures->buckets) out += "," + std::to_string(cards);
    out += "\r\n";
  }
  return out;
}

std::string points_chart_html(const PointsReport& report, std::string_view generated) {
  BarChart chart;
  chart.title = fmt::format("Welfare points used per card and month, {} (generated {})", range_text(report.query), generated);
  chart.total_line = fmt::format("cards allotted points: {} (card-months); points used: {}", report.total.allotted_cards,
                                 report.total.used);
  chart.x_name = "month / category / points used";
  chart.value_name = "cards";
  chart.empty_text = "No card was allotted points in this range.";
  for (const auto& [key, figures] : report.rows) {
    if (figures.allotted_cards == 0) continue;
    for (std::size_t b = 0; b < points_bucket_names.size(); ++b) {
      const std::uint64_t cards = figures.buckets[b];
      const std::string label =
          fmt::format("{} {} {}", format_month(key.first), rider_category_name(key.second), points_bucket_names[b]);
      chart.bars.push_back(ChartBar{
          label, cards,
          {ChartSegment{cards, std::string(bucket_colours[b]),
                        fmt::format("{}: {} cards, {}%", label, cards,
                                    percent(points_share_permille(cards, figures.allotted_cards)))}}});
    }
  }
  for (std::size_t b = 0; b < points_bucket_names.size(); ++b) {
    chart.legend.push_back({std::string(bucket_colours[b]), "used " + std::string(points_bucket_names[b])});
  }
  return bar_chart_html(chart);
}

}  // namespace citycard::engine
