#include "csv.h"

namespace citycard::settlement::csv {

void append_field(std::string& line, std::string_view field, bool first) {
  if (!first) line.push_back(',');
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    line.append(field);  // the common case: nothing to quote or replace
    return;
  }
  const bool needs_quotes = field.find_first_of(",\"") != std::string_view::npos;
  if (needs_quotes) line.push_back('"');
  for (char c : field) {
    if (c == '\r' || c == '\n') c = ' ';
    if (c == '"') line.push_back('"');
    line.push_back(c);
  }
  if (needs_quotes) line.push_back('"');
}

Result<std::vector<std::string>> parse_line(std::string_view line) {
  std::vector<std::string> fields;
  std::string field;
  std::size_t at = 0;
  while (true) {
    field.clear();
    if (at < line.size() && line[at] == '"') {
      ++at;
      while (true) {
        if (at >= line.size()) return Status::invalid_argument("unterminated quoted field");
        char c = line[at++];
        if (c == '\r' || c == '\n') return Status::invalid_argument("line break in a quoted field");
        if (c == '"') {
          if (at < line.size() && line[at] == '"') {
            field.push_back('"');
            ++at;
            continue;
          }
          break;
        }
        field.push_back(c);
      }
      if (at < line.size() && line[at] != ',') return Status::invalid_argument("text after a closing quote");
    } else {
      while (at < line.size() && line[at] != ',') {
        char c = line[at++];
        if (c == '"' || c == '\r' || c == '\n') return Status::invalid_argument("quote or line break in a bare field");
        field.push_back(c);
      }
    }
    fields.push_back(field);
    if (at >= line.size()) break;
    ++at;  // the comma
  }
  return fields;
}

}  // namespace citycard::settlement::csv
