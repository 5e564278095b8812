// The usage report (usage_report.h) as a picture: a self-contained HTML page
// with one inline SVG bar chart. No script, no style sheet or font fetched:
// it opens the same on a card-office PC without a network, years later.
//
// - A report by hour and mode (either order): taps per local hour, one bar
//   per hour that has taps, stacked by mode, with a legend of the modes.
// - Any other report: taps per group, one bar per group (two axes: labelled
//   "a / b").
// Each bar is one <g class="bar" data-group="LABEL" data-taps="N"> with a
// <title> (the browser shows it on hover); the page's title and heading
// name the range and the generation time, and the page prints the total
// taps. Axis labels: the axis below, "taps" beside.
#pragma once

#include <string>
#include <string_view>

#include "usage_report.h"

namespace citycard::engine {

// `generated` is printed as given ("2026-03-02T18:00:00Z"): the page reads no clock.
std::string usage_chart_html(const UsageReport& report, std::string_view generated);

// Whether the report is by hour and mode, the stacked chart's shape.
bool usage_chart_stacks_modes(const UsageQuery& query);

}  // namespace citycard::engine
