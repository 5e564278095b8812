#include "usage_chart.h"

#include <algorithm>
#include <array>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "citycard/check.h"
#include "rule_set_loader.h"

namespace citycard::engine {
namespace {

// Layout, in SVG user units (pixels at 100%).
constexpr int bar_width = 28;
constexpr int bar_gap = 10;
constexpr int plot_height = 320;
constexpr int margin_left = 70;
constexpr int margin_right = 180;  // the legend
constexpr int margin_top = 20;
constexpr int margin_bottom = 90;  // labels turned 45 degrees, and the axis name
constexpr int ticks = 5;

// One colour per mode (1..10), told apart in print and by most colour-blind readers.
constexpr std::array<std::string_view, mode_count + 1> mode_colours = {
    "#777777", "#1f77b4", "#aec7e8", "#d62728", "#ff9896", "#2ca02c",
    "#98df8a", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"};
constexpr std::string_view plain_colour = "#1f77b4";

std::string escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

struct Segment {
  std::int64_t mode = 0;  // 0: not stacked
  std::uint64_t taps = 0;
};

struct Bar {
  std::string label;
  std::uint64_t taps = 0;
  std::vector<Segment> segments;  // bottom to top
};

std::vector<Bar> bars_of(const UsageReport& report, bool stacked) {
  std::vector<Bar> bars;
  if (!stacked) {
    for (const auto& [key, figures] : report.groups) {
      std::string label = usage_axis_label(report.query.axes[0], key[0]);
      if (report.query.axes.size() == 2) label += " / " + usage_axis_label(report.query.axes[1], key[1]);
      bars.push_back(Bar{label, figures.taps, {Segment{0, figures.taps}}});
    }
    return bars;
  }
  const std::size_t hour_at = report.query.axes[0] == UsageAxis::hour ? 0 : 1;
  std::map<std::int64_t, Bar> by_hour;
  for (const auto& [key, figures] : report.groups) {
    Bar& bar = by_hour[key[hour_at]];
    bar.label = usage_axis_label(UsageAxis::hour, key[hour_at]);
    bar.taps += figures.taps;
    bar.segments.push_back(Segment{key[1 - hour_at], figures.taps});
  }
  for (auto& [hour, bar] : by_hour) {
    std::sort(bar.segments.begin(), bar.segments.end(), [](const Segment& a, const Segment& b) { return a.mode < b.mode; });
    bars.push_back(std::move(bar));
  }
  return bars;
}

// A round step for the y axis: 1, 2 or 5 times a power of ten.
std::uint64_t tick_step(std::uint64_t highest) {
  std::uint64_t step = 1;
  while (true) {
    for (std::uint64_t factor : {1u, 2u, 5u}) {
      if (step * factor * ticks >= highest) return step * factor;
    }
    step *= 10;
  }
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
  const std::vector<Bar> bars = bars_of(report, stacked);
  std::uint64_t highest = 1;
  for (const Bar& bar : bars) highest = std::max(highest, bar.taps);
  const std::uint64_t step = tick_step(highest);
  const std::uint64_t top = step * ticks;
  const int count = static_cast<int>(bars.size());
  const int width = margin_left + std::max(count, 1) * (bar_width + bar_gap) + bar_gap + margin_right;
  const int height = margin_top + plot_height + margin_bottom;
  const int base = margin_top + plot_height;
  const int plot_right = width - margin_right;
  auto y_of = [&](std::uint64_t taps) { return base - static_cast<int>(taps * plot_height / top); };

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
  const std::string title = fmt::format("{}, {} (generated {})", what, range, generated);
  const std::string x_name = stacked ? "local hour" : std::string(usage_axis_name(report.query.axes[0])) +
                                                          (report.query.axes.size() == 2
                                                               ? " / " + std::string(usage_axis_name(report.query.axes[1]))
                                                               : "");

  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += fmt::format("<title>{}</title>\n</head>\n<body style=\"font-family: sans-serif\">\n", escaped(title));
  out += fmt::format("<h1 style=\"font-size: 1.2em\">{}</h1>\n", escaped(title));
  out += fmt::format("<p class=\"total\">total taps: {}</p>\n", report.total.taps);
  out += fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                     "font-size=\"12\" role=\"img\" aria-label=\"{2}\">\n",
                     width, height, escaped(title));
  // The y axis: gridlines and their numbers, then the axis name.
  for (int i = 0; i <= ticks; ++i) {
    const std::uint64_t value = step * static_cast<std::uint64_t>(i);
    const int y = y_of(value);
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#dddddd\"/>\n", margin_left, y, plot_right, y);
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", margin_left - 6, y + 4, value);
  }
  out += fmt::format("<text class=\"axis-label\" transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\">taps</text>\n",
                     margin_top + plot_height / 2);
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#000000\"/>\n", margin_left, base, plot_right);
  // The bars.
  for (int i = 0; i < count; ++i) {
    const Bar& bar = bars[static_cast<std::size_t>(i)];
    const int x = margin_left + bar_gap + i * (bar_width + bar_gap);
    out += fmt::format("<g class=\"bar\" data-group=\"{}\" data-taps=\"{}\"><title>{}: {} taps</title>\n", escaped(bar.label),
                       bar.taps, escaped(bar.label), bar.taps);
    std::uint64_t below = 0;
    for (const Segment& segment : bar.segments) {
      const int y_top = y_of(below + segment.taps);
      const std::string_view colour =
          stacked ? mode_colours[static_cast<std::size_t>(std::clamp<std::int64_t>(segment.mode, 0, mode_count))] : plain_colour;
      out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"", x, y_top, bar_width,
                         y_of(below) - y_top, colour);
      if (stacked) {
        out += fmt::format("><title>{} {}: {} taps</title></rect>\n", escaped(bar.label),
                           usage_axis_label(UsageAxis::mode, segment.mode), segment.taps);
      } else {
        out += "/>\n";
      }
      below += segment.taps;
    }
    out += fmt::format("<text transform=\"translate({} {}) rotate(45)\">{}</text>\n</g>\n", x + bar_width / 2, base + 14,
                       escaped(bar.label));
  }
  out += fmt::format("<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                     margin_left + (plot_right - margin_left) / 2, height - 8, escaped(x_name));
  // The legend: the modes stacked, or the one series.
  const int legend_x = plot_right + 20;
  out += "<g class=\"legend\">\n";
  if (stacked) {
    std::vector<std::int64_t> modes;
    for (const auto& [key, figures] : report.groups) {
      modes.push_back(key[report.query.axes[0] == UsageAxis::mode ? 0 : 1]);
    }
    std::sort(modes.begin(), modes.end());
    modes.erase(std::unique(modes.begin(), modes.end()), modes.end());
    for (std::size_t i = 0; i < modes.size(); ++i) {
      const int y = margin_top + static_cast<int>(i) * 18;
      out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>"
                         "<text x=\"{}\" y=\"{}\">{}</text>\n",
                         legend_x, y, mode_colours[static_cast<std::size_t>(std::clamp<std::int64_t>(modes[i], 0, mode_count))],
                         legend_x + 18, y + 10, usage_axis_label(UsageAxis::mode, modes[i]));
    }
  } else {
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">taps</text>\n",
                       legend_x, margin_top, plain_colour, legend_x + 18, margin_top + 10);
  }
  out += "</g>\n</svg>\n";
  if (bars.empty()) out += "<p>No tap records in this range.</p>\n";
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace citycard::engine
