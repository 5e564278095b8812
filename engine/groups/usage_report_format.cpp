#include "usage_report_format.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "rule_set_loader.h"

namespace citycard::engine {
namespace {

// The figures as integers, in usage_figure_names order.
std::array<std::int64_t, usage_figure_names.size()> figure_values(const UsageFigures& figures) {
  return {static_cast<std::int64_t>(figures.taps),
          static_cast<std::int64_t>(figures.approved),
          static_cast<std::int64_t>(figures.refused),
          static_cast<std::int64_t>(figures.identity),
          static_cast<std::int64_t>(figures.given_offline),
          static_cast<std::int64_t>(figures.riders.size()),
          figures.fare_minor,
          figures.subsidy_minor,
          figures.points_redeemed};
}

std::vector<std::string> group_labels(const UsageReport& report, const UsageGroupKey& key) {
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < report.query.axes.size(); ++i) labels.push_back(usage_axis_label(report.query.axes[i], key[i]));
  return labels;
}

std::string range_text(const UsageQuery& query) {
  return query.from_day == query.to_day
             ? rules::format_date_days(query.from_day)
             : rules::format_date_days(query.from_day) + " to " + rules::format_date_days(query.to_day);
}

}  // namespace

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

nlohmann::json usage_report_json(const UsageReport& report) {
  auto figures_json = [](nlohmann::json& into, const UsageFigures& figures) {
    const auto values = figure_values(figures);
    for (std::size_t i = 0; i < values.size(); ++i) into[std::string(usage_figure_names[i])] = values[i];
  };
  nlohmann::json by = nlohmann::json::array();
  for (UsageAxis axis : report.query.axes) by.push_back(std::string(usage_axis_name(axis)));
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& [key, figures] : report.groups) {
    nlohmann::json group = nlohmann::json::object();
    const auto labels = group_labels(report, key);
    for (std::size_t i = 0; i < labels.size(); ++i) group[std::string(usage_axis_name(report.query.axes[i]))] = labels[i];
    figures_json(group, figures);
    groups.push_back(std::move(group));
  }
  nlohmann::json total = nlohmann::json::object();
  figures_json(total, report.total);
  return nlohmann::json{{"from", rules::format_date_days(report.query.from_day)},
                        {"to", rules::format_date_days(report.query.to_day)},
                        {"by", std::move(by)},
                        {"groups", std::move(groups)},
                        {"total", std::move(total)}};
}

std::string usage_report_csv(const UsageReport& report) {
  std::string out;
  auto row = [&out](const std::vector<std::string>& labels, const UsageFigures& figures) {
    for (const auto& label : labels) out += csv_field(label) + ",";
    const auto values = figure_values(figures);
    for (std::size_t i = 0; i < values.size(); ++i) out += (i == 0 ? "" : ",") + std::to_string(values[i]);
    out += "\r\n";
  };
  for (UsageAxis axis : report.query.axes) out += csv_field(usage_axis_name(axis)) + ",";
  for (std::size_t i = 0; i < usage_figure_names.size(); ++i) out += (i == 0 ? "" : ",") + std::string(usage_figure_names[i]);
  out += "\r\n";
  for (const auto& [key, figures] : report.groups) row(group_labels(report, key), figures);
  row(std::vector<std::string>(report.query.axes.size(), "(all)"), report.total);
  return out;
}

std::string usage_report_table(const UsageReport& report) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  for (UsageAxis axis : report.query.axes) header.emplace_back(usage_axis_name(axis));
  for (auto name : usage_figure_names) header.emplace_back(name);
  rows.push_back(header);
  auto add = [&rows](std::vector<std::string> cells, const UsageFigures& figures) {
    for (std::int64_t value : figure_values(figures)) cells.push_back(std::to_string(value));
    rows.push_back(std::move(cells));
  };
  for (const auto& [key, figures] : report.groups) add(group_labels(report, key), figures);
  add(std::vector<std::string>(report.query.axes.size(), "(all)"), report.total);

  std::vector<std::size_t> widths(header.size(), 0);
  for (const auto& cells : rows) {
    for (std::size_t i = 0; i < cells.size(); ++i) widths[i] = std::max(widths[i], cells[i].size());
  }
  const std::size_t axes = report.query.axes.size();
  std::string out = fmt::format("usage {} by {}: {} taps; money in minor units\n", range_text(report.query),
                                fmt::join(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(axes), " and "),
                                report.total.taps);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (std::size_t i = 0; i < rows[r].size(); ++i) {
      // Axis columns left, figures right: numbers line up by their units.
      line += i < axes ? fmt::format("{:<{}}  ", rows[r][i], widths[i]) : fmt::format("{:>{}}  ", rows[r][i], widths[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  if (report.groups.empty()) out += "(no tap records in this range)\n";
  return out;
}

}  // namespace citycard::engine
