// A problem found while loading a rule set or scenario: where and what.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace citycard::rules {

struct RuleProblem {
  std::string file;
  std::uint32_t line = 0;   // 1-based; 0 when unknown
  std::string field;        // "networks[2].fare_collection"; "(syntax)" for parse errors
  std::string message;
  // "city.toml:41: networks[2].fare_collection: unknown fare collection \"pay_later\" ..."
  std::string to_string() const {
    return file + ":" + std::to_string(line) + ": " + field + ": " + message;
  }
};

// All problems, one per line.
inline std::string problems_text(const std::vector<RuleProblem>& problems) {
  std::string text;
  for (const RuleProblem& problem : problems) {
    if (!text.empty()) text += "\n";
    text += problem.to_string();
  }
  return text;
}

}  // namespace citycard::rules
