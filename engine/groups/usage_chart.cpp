#include "usage_chart.h"

#include <algorithm>
#include <array>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "bar_chart.h"
#include "citycard/check.h"
#include "rule_set_loader.h"

namespace citycard::engine {
namespace {

// One colour per mode (1..10), told apart in print and by most colour-blind readers.
constexpr std::array<std::string_view, mode_count + 1> mode_colours = {
    "#777777", "#1f77b4", "#aec7e8", "#d62728", "#ff9896", "#2ca02c",
    "#98df8a", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"};

std::string mode_colour(std::int64_t mode) {
  return std::string(mode_colours[static_cast<std::size_t>(std::clamp<std::int64_t>(mode, 0, mode_count))]);
}

std::vector<ChartBar> bars_of(const UsageReport& report, bool stacked) {
  std::vector<ChartBar> bars;
  if (!stacked) {
    for (const auto& [key, figures] : report.groups) {
      std::string label = usage_axis_label(report.query.axes[0], key[0]);
      if (report.query.axes.size() == 2) label += " / " + usage_axis_label(report.query.axes[1], key[1]);
      bars.push_back(ChartBar{label, figures.taps, {ChartSegment{figures.taps, chart_plain_colour, ""}}});
    }
    return bars;
  }
  const std::size_t hour_at = report.query.axes[0] == UsageAxis::hour ? 0 : 1;
  // Per hour, its modes in mode order (bottom to top).
  std::map<std::int64_t, std::map<std::int64_t, std::uint64_t>> by_hour;
  for (const auto& [key, figures] : report.groups) by_hour[key[hour_at]][key[1 - hour_at]] += figures.taps;
  for (const auto& [hour, modes] : by_hour) {
    ChartBar bar;
    bar.label = usage_axis_label(UsageAxis::hour, hour);
    for (const auto& [mode, taps] : modes) {
      bar.value += taps;
      bar.segments.push_back(ChartSegment{
          taps, mode_colour(mode), fmt::format("{} {}: {} taps", bar.label, usage_axis_label(UsageAxis::mode, mode), taps)});
    }
    bars.push_back(std::move(bar));
  }
  return bars;
}

}  // namespace

bool usage_chart_stacks_modes(const UsageQuery& query) {
  return query.axes.size() == 2 &&
         ((query.axes[0] == UsageAxis::hour && query.axes[1] == UsageAxis::mode) ||
          (query.axes[0] == UsageAxis::mode && query.axes[1] == UsageAxis::hour));
}

std::string usage_chart_html(const UsageReport& report, std::string_view generated) {
  CITYCARD_CHECK(!report.query.axes.empty());
  const bool stacked = usage_chart_stacks_modes(report.query);
  BarChart chart;
  chart.bars = bars_of(report, stacked);
  const std::string range = report.query.from_day == report.query.to_day
                                ? rules::format_date_days(report.query.from_day)
                                : rules::format_date_days(report.query.from_day) + " to " +
                                      rules::format_date_days(report.query.to_day);
  std::string what;
  if (stacked) {
    what = "Taps per hour by mode";
  } else {
    what = "Taps by " + std::string(usage_axis_name(report.query.axes[0]));
    if (report.query.axes.size() == 2) what += " and " + std::string(usage_axis_name(report.query.axes[1]));
  }
  chart.title = fmt::format("{}, {} (generated {})", what, range, generated);
  chart.total_line = fmt::format("total taps: {}", report.total.taps);
  chart.x_name = stacked ? "local hour"
                         : std::string(usage_axis_name(report.query.axes[0])) +
                               (report.query.axes.size() == 2 ? " / " + std::string(usage_axis_name(report.query.axes[1])) : "");
  chart.value_name = "taps";
  chart.empty_text = "No tap records in this range.";
  // The legend: the modes stacked, or the one series.
  if (stacked) {
    std::vector<std::int64_t> modes;
    for (const auto& [key, figures] : report.groups) modes.push_back(key[report.query.axes[0] == UsageAxis::mode ? 0 : 1]);
    std::sort(modes.begin(), modes.end());
    modes.erase(std::unique(modes.begin(), modes.end()), modes.end());
    for (std::int64_t mode : modes) chart.legend.push_back({mode_colour(mode), usage_axis_label(UsageAxis::mode, mode)});
  } else {
    chart.legend.push_back({chart_plain_colour, "taps"});
  }
  return bar_chart_html(chart);
}

}  // namespace citycard::engine
