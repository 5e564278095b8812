// Reading TOML tables field by field while collecting every problem with its
// file, line and field path. Shared by the rule set and scenario loaders.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "rule_problem.h"

namespace citycard::rules {

class ProblemLog {
 public:
  explicit ProblemLog(std::string file) : file_(std::move(file)) {}
  void add(const toml::node* where, std::string field, std::string message);
  void add_at(std::uint32_t line, std::string field, std::string message);
  const std::vector<RuleProblem>& problems() const { return problems_; }
  std::vector<RuleProblem> take() { return std::move(problems_); }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<RuleProblem> problems_;
};

std::uint32_t line_of(const toml::node* node);

// One table: typed reads by key, then finish() reports keys nobody read.
class Fields {
 public:
  Fields(ProblemLog& log, const toml::table& table, std::string path) : log_(log), table_(table), path_(std::move(path)) {}

  std::string path(std::string_view key) const;
  const toml::table& table() const { return table_; }
  bool has(std::string_view key) const { return table_.contains(key); }
  const toml::node* node(std::string_view key);  // marks used

  std::optional<std::int64_t> integer(std::string_view key, bool required, std::int64_t min, std::int64_t max);
  std::optional<std::string> string(std::string_view key, bool required);
  std::optional<bool> boolean(std::string_view key, bool required);
  const toml::array* array(std::string_view key, bool required);
  const toml::table* subtable(std::string_view key, bool required);
  // Array of strings / integers; problems for elements of the wrong type.
  std::vector<std::pair<std::string, const toml::node*>> strings(std::string_view key, bool required);
  std::vector<std::pair<std::int64_t, const toml::node*>> integers(std::string_view key, bool required,
                                                                   std::int64_t min, std::int64_t max);

  void problem(std::string_view key, std::string message);  // at the key's node, or the table
  void finish();  // "unknown field" for every key not read

 private:
  const toml::node* find(std::string_view key, bool required, const char* expected);
  ProblemLog& log_;
  const toml::table& table_;
  std::string path_;
  std::set<std::string, std::less<>> used_;
};

std::string type_name(const toml::node& node);

}  // namespace citycard::rules
