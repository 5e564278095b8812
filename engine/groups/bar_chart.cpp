#include "bar_chart.h"

#include <algorithm>

#include <fmt/format.h>

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

std::string bar_chart_html(const BarChart& chart) {
  std::uint64_t highest = 1;
  for (const ChartBar& bar : chart.bars) highest = std::max(highest, bar.value);
  const std::uint64_t step = tick_step(highest);
  const std::uint64_t top = step * ticks;
  const int count = static_cast<int>(chart.bars.size());
  const int width = margin_left + std::max(count, 1) * (bar_width + bar_gap) + bar_gap + margin_right;
  const int height = margin_top + plot_height + margin_bottom;
  const int base = margin_top + plot_height;
  const int plot_right = width - margin_right;
  auto y_of = [&](std::uint64_t value) { return base - static_cast<int>(value * plot_height / top); };
  const std::string title = escaped(chart.title);
  const std::string value_name = escaped(chart.value_name);

  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += fmt::format("<title>{}</title>\n</head>\n<body style=\"font-family: sans-serif\">\n", title);
  out += fmt::format("<h1 style=\"font-size: 1.2em\">{}</h1>\n", title);
  out += fmt::format("<p class=\"total\">{}</p>\n", escaped(chart.total_line));
  out += fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                     "font-size=\"12\" role=\"img\" aria-label=\"{2}\">\n",
                     width, height, title);
  // The y axis: gridlines and their numbers, then the axis name.
  for (int i = 0; i <= ticks; ++i) {
    const std::uint64_t value = step * static_cast<std::uint64_t>(i);
    const int y = y_of(value);
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#dddddd\"/>\n", margin_left, y, plot_right, y);
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", margin_left - 6, y + 4, value);
  }
  out += fmt::format("<text class=\"axis-label\" transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                     margin_top + plot_height / 2, value_name);
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#000000\"/>\n", margin_left, base, plot_right);
  // The bars.
  for (int i = 0; i < count; ++i) {
    const ChartBar& bar = chart.bars[static_cast<std::size_t>(i)];
    const int x = margin_left + bar_gap + i * (bar_width + bar_gap);
    const std::string label = escaped(bar.label);
    out += fmt::format("<g class=\"bar\" data-group=\"{}\" data-{}=\"{}\"><title>{}: {} {}</title>\n", label, value_name,
                       bar.value, label, bar.value, value_name);
    std::uint64_t below = 0;
    for (const ChartSegment& segment : bar.segments) {
      const int y_top = y_of(below + segment.value);
      out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"", x, y_top, bar_width,
                         y_of(below) - y_top, segment.colour);
      if (segment.title.empty()) {
        out += "/>\n";
      } else {
        out += fmt::format("><title>{}</title></rect>\n", escaped(segment.title));
      }
      below += segment.value;
    }
    out += fmt::format("<text transform=\"translate({} {}) rotate(45)\">{}</text>\n</g>\n", x + bar_width / 2, base + 14,
                       label);
  }
  out += fmt::format("<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                     margin_left + (plot_right - margin_left) / 2, height - 8, escaped(chart.x_name));
  const int legend_x = plot_right + 20;
  out += "<g class=\"legend\">\n";
  for (std::size_t i = 0; i < chart.legend.size(); ++i) {
    const int y = margin_top + static_cast<int>(i) * 18;
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>"
                       "<text x=\"{}\" y=\"{}\">{}</text>\n",
                       legend_x, y, chart.legend[i].colour, legend_x + 18, y + 10, escaped(chart.legend[i].label));
  }
  out += "</g>\n</svg>\n";
  if (chart.bars.empty() && !chart.empty_text.empty()) out += fmt::format("<p>{}</p>\n", escaped(chart.empty_text));
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace citycard::engine
