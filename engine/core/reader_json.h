// A reader registration as JSON: how the admin API answers and how
// `citycard reader ... --json` prints, with or without a running engine;
// and as a row of `citycard reader import`.
// Header-only so the CLI shares it without linking the engine.
//
//   {"id": 17, "operator": 101, "kind": "bus_validator", "modes": ["bus_board", "bus_alight"],
//    "route": 0, "location": 0, "amount_max_minor": 0, "offline_max_minor": 2000, "status": "active"}
#pragma once

#include <charconv>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admission.h"
#include "citycard/reader.h"
#include "citycard/status.h"

namespace citycard::engine {

inline nlohmann::json modes_json(ModeSet modes) {
  nlohmann::json names = nlohmann::json::array();
  for (int i = 1; i <= mode_count; ++i) {
    if (modes & mode_bit(static_cast<Mode>(i))) names.push_back(std::string(mode_name(static_cast<Mode>(i))));
  }
  return names;
}

// "bus_board,bus_alight" -> the set; invalid_argument naming an unknown mode.
inline Result<ModeSet> parse_modes(const std::string& list) {
  ModeSet modes = 0;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string name = list.substr(start, end - start);
    auto mode = parse_mode(name);
    if (!mode) return Status::invalid_argument("modes: '" + name + "' is not a mode (bus_board, bus_alight, metro_in, metro_out, bike_rent, bike_return, entry, pay, identify, top_up)");
    modes |= mode_bit(*mode);
    start = end + 1;
  }
  return modes;
}

inline nlohmann::json reader_json(const ReaderRecord& reader) {
  return nlohmann::json{{"id", reader.id.value},
                        {"operator", reader.operator_id.value},
                        {"kind", std::string(reader_kind_name(reader.kind))},
                        {"modes", modes_json(reader.modes)},
                        {"route", reader.route},
                        {"location", reader.location},
                        {"amount_max_minor", reader.amount_max_minor},
                        {"offline_max_minor", reader.offline_max_minor},
                        {"status", std::string(reader_status_name(reader.status))}};
}

// The inverse of reader_json (what an engine's reply holds); invalid_argument
// naming the field that is missing or wrong.
inline Result<ReaderRecord> reader_from_json(const nlohmann::json& in) {
  auto number = [&](const char* key, std::uint64_t max, bool required) -> Result<std::uint64_t> {
    auto found = in.find(key);
    if (found == in.end()) {
      if (required) return Status::invalid_argument(std::string("'") + key + "' is required");
      return std::uint64_t{0};
    }
    if (!found->is_number_unsigned() || found->get<std::uint64_t>() > max) {
      return Status::invalid_argument(std::string("'") + key + "' must be an integer 0.." + std::to_string(max));
    }
    return found->get<std::uint64_t>();
  };
  ReaderRecord reader;
  auto id = number("id", UINT32_MAX, true);
  if (!id) return id.status();
  reader.id = ReaderId{static_cast<std::uint32_t>(*id)};
  auto operator_id = number("operator", UINT32_MAX, false);
  if (!operator_id) return operator_id.status();
  reader.operator_id = OperatorId{static_cast<std::uint32_t>(*operator_id)};
  if (auto modes = in.find("modes"); modes != in.end()) {
    std::string list;
    if (modes->is_string()) {
      list = modes->get<std::string>();
    } else if (modes->is_array()) {
      for (const auto& mode : *modes) {
        if (!mode.is_string()) return Status::invalid_argument("'modes' holds mode names");
        list += (list.empty() ? "" : ",") + mode.get<std::string>();
      }
    } else {
      return Status::invalid_argument("'modes' is a list of mode names");
    }
    auto parsed = parse_modes(list);
    if (!parsed) return parsed.status();
    reader.modes = *parsed;
  }
  if (auto kind = in.find("kind"); kind != in.end() && !kind->is_null()) {
    auto parsed = kind->is_string() ? parse_reader_kind(kind->get<std::string>()) : std::nullopt;
    if (!parsed) return Status::invalid_argument("'kind' is not a reader kind");
    reader.kind = *parsed;
  }
  auto route = number("route", UINT32_MAX, false);
  auto location = number("location", UINT32_MAX, false);
  auto amount_max = number("amount_max_minor", INT64_MAX, false);
  auto offline_max = number("offline_max_minor", INT64_MAX, false);
  for (const auto* field : {&route, &location, &amount_max, &offline_max}) {
    if (!*field) return field->status();
  }
  reader.route = static_cast<std::uint32_t>(*route);
  reader.location = static_cast<std::uint32_t>(*location);
  reader.amount_max_minor = static_cast<std::int64_t>(*amount_max);
  reader.offline_max_minor = static_cast<std::int64_t>(*offline_max);
  if (auto status = in.find("status"); status != in.end()) {
    auto parsed = status->is_string() ? parse_reader_status(status->get<std::string>()) : std::nullopt;
    if (!parsed) return Status::invalid_argument("'status' is not a reader status (active, suspended, retired)");
    reader.status = *parsed;
  }
  return reader;
}

// A row of a reader import, split at its commas:
//   reader,operator,kind,modes,route,location,amount_max,offline_max
// modes separated by ';'; an empty number is 0; an empty kind is the first
// whose modes cover the row's. invalid_argument naming the field, or what
// rules::validate_registration finds.
inline Result<ReaderRecord> parse_reader_row(const std::vector<std::string>& fields) {
  if (fields.size() != 8) {
    return Status::invalid_argument("expected 8 fields (reader,operator,kind,modes,route,location,amount_max,offline_max), got " +
                                    std::to_string(fields.size()));
  }
  auto number = [](const std::string& text, auto& out) {
    if (text.empty()) {
      out = 0;
      return true;
    }
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc() && end == text.data() + text.size();
  };
  ReaderRecord reader;
  if (!number(fields[0], reader.id.value) || reader.id.value == 0) {
    return Status::invalid_argument("reader: '" + fields[0] + "' is not a reader id");
  }
  if (!number(fields[1], reader.operator_id.value)) return Status::invalid_argument("operator: '" + fields[1] + "' is not an operator id");
  if (!number(fields[4], reader.route)) return Status::invalid_argument("route: '" + fields[4] + "' is not a number");
  if (!number(fields[5], reader.location)) return Status::invalid_argument("location: '" + fields[5] + "' is not a number");
  if (!number(fields[6], reader.amount_max_minor)) return Status::invalid_argument("amount_max: '" + fields[6] + "' is not an amount");
  if (!number(fields[7], reader.offline_max_minor)) return Status::invalid_argument("offline_max: '" + fields[7] + "' is not an amount");
  std::string modes_list = fields[3];
  for (char& c : modes_list) {
    if (c == ';') c = ',';
  }
  auto modes = parse_modes(modes_list);
  if (!modes) return modes.status();
  reader.modes = *modes;
  const std::string& kind_name = fields[2];
  auto kind = kind_name.empty() ? rules::default_kind_for(reader.modes) : parse_reader_kind(kind_name);
  if (!kind) return Status::invalid_argument("kind: '" + kind_name + "' is not a reader kind");
  reader.kind = *kind;
  if (Status valid = rules::validate_registration(reader); !valid) return valid;
  return reader;
}

}  // namespace citycard::engine
