// CSV lines as RFC 4180 has them, restricted to one physical line per record:
//
//   line   := field ("," field)*
//   field  := bare | quoted
//   bare   := any characters except , " CR LF
//   quoted := '"' (any character except " | '""')* '"'     (no CR or LF inside)
//
// Settlement files and acknowledgements are read line by line, so a record may
// never contain a line break; the writer replaces one with a space.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "citycard/status.h"

namespace citycard::settlement::csv {

// Appends `field` to `line`, preceded by "," unless `first`; quotes it when it
// holds a comma or a quote.
void append_field(std::string& line, std::string_view field, bool first = false);

// Splits one line (without its line break) into fields; invalid_argument for a
// stray quote or an unterminated quoted field.
Result<std::vector<std::string>> parse_line(std::string_view line);

}  // namespace citycard::settlement::csv
