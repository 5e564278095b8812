// A self-contained HTML page with one inline SVG bar chart: the page code of
// every report's picture (usage_chart.h, points_chart.h). No script, no style
// sheet or font fetched: it opens the same on a card-office PC without a
// network, years later.
//
// Each bar is one <g class="bar" data-group="LABEL" data-VALUE_NAME="N"> with
// a <title> ("LABEL: N VALUE_NAME", shown on hover); a stacked bar's segments
// carry their own <title>. The page's <title> and heading are `title`, a
// paragraph <p class="total"> prints `total_line`, the axes are labelled
// (`x_name` below, `value_name` beside), and the legend lists `legend`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace citycard::engine {

struct ChartSegment {
  std::uint64_t value = 0;
  std::string colour;  // "#1f77b4"
  std::string title;   // the segment's hover text; empty: none (a bar of one segment)
};

struct ChartBar {
  std::string label;
  std::uint64_t value = 0;             // the sum of the segments
  std::vector<ChartSegment> segments;  // bottom to top
};

struct ChartLegendEntry {
  std::string colour;
  std::string label;
};

struct BarChart {
  std::string title;       // page title and heading, as given (escaped here)
  std::string total_line;  // "total taps: 12"
  std::string x_name;      // the axis below
  std::string value_name;  // the axis beside, and the bars' data attribute: "taps", "cards"
  std::vector<ChartBar> bars;
  std::vector<ChartLegendEntry> legend;
  std::string empty_text;  // printed under the chart when there are no bars
};

// The default colour of a bar that is one series.
inline constexpr const char* chart_plain_colour = "#1f77b4";

std::string bar_chart_html(const BarChart& chart);

}  // namespace citycard::engine
