// TOML field reading with problems collected, not thrown.
#include "toml_fields.h"

namespace citycard::rules {

void ProblemLog::add(const toml::node* where, std::string field, std::string message) {
  add_at(line_of(where), std::move(field), std::move(message));
}

void ProblemLog::add_at(std::uint32_t line, std::string field, std::string message) {
  problems_.push_back(RuleProblem{file_, line, std::move(field), std::move(message)});
}

std::uint32_t line_of(const toml::node* node) {
  if (node == nullptr) return 0;
  return static_cast<std::uint32_t>(node->source().begin.line);
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

std::string Fields::path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const toml::node* Fields::node(std::string_view key) {
  used_.insert(std::string(key));
  return table_.get(key);
}

const toml::node* Fields::find(std::string_view key, bool required, const char* expected) {
  const toml::node* found = node(key);
  if (found == nullptr && required) log_.add(&table_, path(key), "required field is missing");
  (void)expected;
  return found;
}

void Fields::problem(std::string_view key, std::string message) {
  const toml::node* where = table_.get(key);
  log_.add(where != nullptr ? where : &table_, path(key), std::move(message));
}

std::optional<std::int64_t> Fields::integer(std::string_view key, bool required, std::int64_t min, std::int64_t max) {
  const toml::node* found = find(key, required, "an integer");
  if (found == nullptr) return std::nullopt;
  auto value = found->value_exact<std::int64_t>();
  if (!value) {
    log_.add(found, path(key), "expected an integer, found " + type_name(*found));
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    log_.add(found, path(key),
             "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + std::to_string(*value));
    return std::nullopt;
  }
  return *value;
}

std::optional<std::string> Fields::string(std::string_view key, bool required) {
  const toml::node* found = find(key, required, "a string");
  if (found == nullptr) return std::nullopt;
  auto value = found->value_exact<std::string>();
  if (!value) {
    log_.add(found, path(key), "expected a string, found " + type_name(*found));
    return std::nullopt;
  }
  if (value->empty()) {
    log_.add(found, path(key), "must not be empty");
    return std::nullopt;
  }
  return *value;
}

std::optional<bool> Fields::boolean(std::string_view key, bool required) {
  const toml::node* found = find(key, required, "a boolean");
  if (found == nullptr) return std::nullopt;
  auto value = found->value_exact<bool>();
  if (!value) {
    log_.add(found, path(key), "expected a boolean, found " + type_name(*found));
    return std::nullopt;
  }
  return *value;
}

const toml::array* Fields::array(std::string_view key, bool required) {
  const toml::node* found = find(key, required, "an array");
  if (found == nullptr) return nullptr;
  if (!found->is_array()) {
    log_.add(found, path(key), "expected an array, found " + type_name(*found));
    return nullptr;
  }
  return found->as_array();
}

const toml::table* Fields::subtable(std::string_view key, bool required) {
  const toml::node* found = find(key, required, "a table");
  if (found == nullptr) return nullptr;
  if (!found->is_table()) {
    log_.add(found, path(key), "expected a table, found " + type_name(*found));
    return nullptr;
  }
  return found->as_table();
}

std::vector<std::pair<std::string, const toml::node*>> Fields::strings(std::string_view key, bool required) {
  std::vector<std::pair<std::string, const toml::node*>> out;
  const toml::array* list = array(key, required);
  if (list == nullptr) return out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const toml::node& element = *list->get(i);
    auto value = element.value_exact<std::string>();
    if (!value) {
      log_.add(&element, path(key) + "[" + std::to_string(i) + "]", "expected a string, found " + type_name(element));
      continue;
    }
    out.emplace_back(*value, &element);
  }
  return out;
}

std::vector<std::pair<std::int64_t, const toml::node*>> Fields::integers(std::string_view key, bool required,
                                                                         std::int64_t min, std::int64_t max) {
  std::vector<std::pair<std::int64_t, const toml::node*>> out;
  const toml::array* list = array(key, required);
  if (list == nullptr) return out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const toml::node& element = *list->get(i);
    auto value = element.value_exact<std::int64_t>();
    std::string where = path(key) + "[" + std::to_string(i) + "]";
    if (!value) {
      log_.add(&element, where, "expected an integer, found " + type_name(element));
      continue;
    }
    if (*value < min || *value > max) {
      log_.add(&element, where,
               "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + std::to_string(*value));
      continue;
    }
    out.emplace_back(*value, &element);
  }
  return out;
}

void Fields::finish() {
  for (const auto& [key, value] : table_) {
    if (used_.count(key.str()) == 0) log_.add(&value, path(key.str()), "unknown field");
  }
}

}  // namespace citycard::rules
