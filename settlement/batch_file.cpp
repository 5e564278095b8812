// Settlement batch file, version 2 (version 1 files, without programme
// records, still read). Every record is one CSV line ending in LF:
//
//   file      := header line* programme* trailer
//   header    := "H,CCSET," version "," operator_id "," operator_name "," business_day "," sequence ","
//                created_at "," period_start "," period_end "," rule_set_versions ","
//                signing_key_id "," token_key_id LF
//   line      := "L," line_number "," tap_id "," card_token "," event_time "," mode "," route ","
//                location "," rider_fare "," city_subsidy "," points_subsidy "," points_redeemed ","
//                other "," line_total "," flags LF
//   programme := "P," programme_name "," amount LF     (version 2)
//   trailer   := "T," line_count "," late_count "," rider_fare "," city_subsidy "," points_subsidy ","
//                points_redeemed "," other "," total LF
//   times     := YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM   (local, the configured offset)
//   amounts   := signed decimal integers in the minor unit; points in whole points
//   line_total = rider_fare + city_subsidy + points_subsidy + other
//   total      = sum of line_total; every trailer column is the sum of its line column
//   programme records: one per programme (citycard/programme.h) with a non-zero amount,
//     in programme number order; their sum = city_subsidy + points_subsidy of the trailer,
//     and welfare_points' amount (0 when absent) = points_subsidy
#include "batch_file.h"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

#include "citycard/transfer.h"
#include "csv.h"

namespace citycard::settlement {
namespace {

constexpr std::size_t header_fields = 13;
constexpr std::size_t line_fields = 15;
constexpr std::size_t trailer_fields = 9;
constexpr std::size_t programme_fields = 3;
constexpr std::string_view format_version = "2";

template <typename Integer>
bool parse_integer(std::string_view text, Integer& out) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// A file's amounts are not trusted: every sum of them is checked.
bool add_checked(std::int64_t& sum, std::int64_t value) { return !__builtin_add_overflow(sum, value, &sum); }

// The line's total as total_minor() computes it; nullopt when it overflows.
std::optional<std::int64_t> checked_total(const BatchLine& line) {
  std::int64_t total = line.rider_fare_minor;
  if (!add_checked(total, line.city_subsidy_minor) || !add_checked(total, line.points_subsidy_minor) ||
      !add_checked(total, line.other_minor)) {
    return std::nullopt;
  }
  return total;
}

// BatchTotals::add for a line read from a file; false when a sum overflows.
bool add_checked(BatchTotals& totals, const BatchLine& line, std::int64_t line_total) {
  ++totals.lines;
  if (line.flags & transfer_flag_late) ++totals.late_lines;
  return add_checked(totals.rider_fare_minor, line.rider_fare_minor) &&
         add_checked(totals.city_subsidy_minor, line.city_subsidy_minor) &&
         add_checked(totals.points_subsidy_minor, line.points_subsidy_minor) &&
         add_checked(totals.points_redeemed, line.points_redeemed) && add_checked(totals.other_minor, line.other_minor) &&
         add_checked(totals.total_minor, line_total);
}

void append_number(std::string& line, std::int64_t value) {
  char text[24];
  auto [end, error] = std::to_chars(text, text + sizeof text, value);
  (void)error;
  line.push_back(',');
  line.append(text, end);
}

}  // namespace

void BatchTotals::add(const BatchLine& line) {
  ++lines;
  if (line.flags & transfer_flag_late) ++late_lines;
  rider_fare_minor += line.rider_fare_minor;
  city_subsidy_minor += line.city_subsidy_minor;
  points_subsidy_minor += line.points_subsidy_minor;
  points_redeemed += line.points_redeemed;
  other_minor += line.other_minor;
  total_minor += line.total_minor();
  for (std::size_t p = 0; p < programme_count; ++p) programme_minor[p] += line.programme_minor[p];
}

void BatchTotals::add(const BatchTotals& other) {
  lines += other.lines;
  late_lines += other.late_lines;
  rider_fare_minor += other.rider_fare_minor;
  city_subsidy_minor += other.city_subsidy_minor;
  points_subsidy_minor += other.points_subsidy_minor;
  points_redeemed += other.points_redeemed;
  other_minor += other.other_minor;
  total_minor += other.total_minor;
  for (std::size_t p = 0; p < programme_count; ++p) programme_minor[p] += other.programme_minor[p];
}

std::string format_flags(std::uint16_t flags) {
  std::string text;
  auto add = [&](std::uint16_t bit, const char* name) {
    if (!(flags & bit)) return;
    if (!text.empty()) text.push_back('|');
    text += name;
  };
  add(transfer_flag_service_given, "service_given");
  add(transfer_flag_late, "late");
  add(transfer_flag_offline, "offline");
  return text;
}

std::string format_header(const BatchHeader& header, const DayConfig& config) {
  std::string line = "H,CCSET,";
  line += format_version;
  append_number(line, header.operator_id.value);
  csv::append_field(line, header.operator_name);
  csv::append_field(line, header.day.to_string());
  append_number(line, header.sequence);
  csv::append_field(line, format_local_time(header.created_at, config));
  csv::append_field(line, format_local_time(header.period_start, config));
  csv::append_field(line, format_local_time(header.period_end, config));
  csv::append_field(line, header.rule_set_versions);
  csv::append_field(line, header.signing_key_id);
  csv::append_field(line, header.token_key_id);
  line.push_back('\n');
  return line;
}

std::string format_line(std::uint64_t line_number, const BatchLine& batch_line, const DayConfig& config) {
  std::string line = "L";
  line.reserve(200);
  append_number(line, static_cast<std::int64_t>(line_number));
  csv::append_field(line, batch_line.tap_id);
  csv::append_field(line, batch_line.card_token);
  csv::append_field(line, format_local_time(batch_line.event_time, config));
  csv::append_field(line, mode_name(batch_line.mode));
  append_number(line, batch_line.route);
  append_number(line, batch_line.location);
  append_number(line, batch_line.rider_fare_minor);
  append_number(line, batch_line.city_subsidy_minor);
  append_number(line, batch_line.points_subsidy_minor);
  append_number(line, batch_line.points_redeemed);
  append_number(line, batch_line.other_minor);
  append_number(line, batch_line.total_minor());
  csv::append_field(line, format_flags(batch_line.flags));
  line.push_back('\n');
  return line;
}

std::string format_trailer(const BatchTotals& totals) {
  std::string line;
  for (Programme programme : all_programmes()) {
    const std::int64_t amount = totals.programme_minor[programme_index(programme)];
    if (amount == 0) continue;
    line += "P,";
    line += programme_name(programme);
    append_number(line, amount);
    line.push_back('\n');
  }
  line += "T";
  append_number(line, static_cast<std::int64_t>(totals.lines));
  append_number(line, static_cast<std::int64_t>(totals.late_lines));
  append_number(line, totals.rider_fare_minor);
  append_number(line, totals.city_subsidy_minor);
  append_number(line, totals.points_subsidy_minor);
  append_number(line, totals.points_redeemed);
  append_number(line, totals.other_minor);
  append_number(line, totals.total_minor);
  line.push_back('\n');
  return line;
}

std::string batch_file_name(BusinessDay day, OperatorId op, std::uint32_t sequence) {
  char text[64];
  std::snprintf(text, sizeof text, "CCSET_%s_%06u_%02u.csv", day.compact().c_str(), op.value, sequence);
  return text;
}

Result<BatchFileContents> read_batch_file(const std::string& path,
                                          const std::function<void(std::uint64_t, std::string_view)>& on_line) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot open batch file " + path);
  return read_batch_file(in, path, on_line);
}

Result<BatchFileContents> read_batch_file(std::istream& in, const std::string& path,
                                          const std::function<void(std::uint64_t, std::string_view)>& on_line) {
  BatchFileContents contents;
  BatchTotals sum;
  ProgrammeAmounts programmes{};
  bool have_programmes = false;
  std::size_t last_programme = 0;
  std::string text;
  std::uint64_t record = 0;
  bool have_header = false;
  bool have_trailer = false;
  auto bad = [&](const std::string& why) {
    return Status::corruption(path + ": record " + std::to_string(record) + ": " + why);
  };
  while (std::getline(in, text)) {
    ++record;
    if (have_trailer) return bad("text after the trailer");
    auto parsed = csv::parse_line(text);
    if (!parsed) return bad(parsed.status().message());
    const auto& f = parsed.value();
    if (f.empty()) return bad("empty record");
    if (!have_header) {
      if (f[0] != "H" || f.size() != header_fields || f[1] != "CCSET" || (f[2] != "1" && f[2] != "2"))
        return bad("expected a CCSET version 1 or 2 header");
      contents.format_version = f[2] == "1" ? 1 : 2;
      if (!parse_integer(f[3], contents.operator_id) || !parse_integer(f[6], contents.sequence))
        return bad("bad operator or sequence");
      contents.day = f[5];
      contents.rule_set_versions = f[10];
      have_header = true;
      continue;
    }
    if (f[0] == "L") {
      if (have_programmes) return bad("a line after the programme records");
      BatchLine line;
      std::uint64_t number = 0;
      std::int64_t line_total = 0;
      if (f.size() != line_fields || !parse_integer(f[1], number) || !parse_integer(f[8], line.rider_fare_minor) ||
          !parse_integer(f[9], line.city_subsidy_minor) || !parse_integer(f[10], line.points_subsidy_minor) ||
          !parse_integer(f[11], line.points_redeemed) || !parse_integer(f[12], line.other_minor) ||
          !parse_integer(f[13], line_total))
        return bad("malformed line");
      if (number != sum.lines + 1) return bad("line numbers must count from 1 without gaps");
      if (checked_total(line) != line_total) return bad("line total is not the sum of its parts");
      if (f[14].find("late") != std::string::npos) line.flags |= transfer_flag_late;
      if (!add_checked(sum, line, line_total)) return bad("the lines' amounts overflow their sum");
      if (on_line) on_line(number, f[2]);
      continue;
    }
    if (f[0] == "P" && contents.format_version >= 2) {
      std::int64_t amount = 0;
      const auto programme = f.size() == programme_fields ? parse_programme(f[1]) : std::nullopt;
      if (!programme || !parse_integer(f[2], amount) || amount == 0) return bad("malformed programme record");
      const std::size_t p = programme_index(*programme);
      if (have_programmes && p <= last_programme) return bad("programme records out of order or repeated");
      programmes[p] = amount;
      last_programme = p;
      have_programmes = true;
      continue;
    }
    if (f[0] == "T") {
      BatchTotals& t = contents.totals;
      if (f.size() != trailer_fields || !parse_integer(f[1], t.lines) || !parse_integer(f[2], t.late_lines) ||
          !parse_integer(f[3], t.rider_fare_minor) || !parse_integer(f[4], t.city_subsidy_minor) ||
          !parse_integer(f[5], t.points_subsidy_minor) || !parse_integer(f[6], t.points_redeemed) ||
          !parse_integer(f[7], t.other_minor) || !parse_integer(f[8], t.total_minor))
        return bad("malformed trailer");
      have_trailer = true;
      continue;
    }
    return bad("unknown record type '" + f[0] + "'");
  }
  if (!have_header) return Status::corruption(path + ": no header");
  if (!have_trailer) return Status::corruption(path + ": no trailer (truncated file?)");
  if (!(contents.totals == sum)) return Status::corruption(path + ": trailer totals differ from the sum of the lines");
  if (contents.format_version >= 2) {
    std::int64_t programme_sum = 0;
    for (std::int64_t amount : programmes)
      if (!add_checked(programme_sum, amount)) return Status::corruption(path + ": the programme amounts overflow their sum");
    std::int64_t city = contents.totals.city_subsidy_minor;
    if (!add_checked(city, contents.totals.points_subsidy_minor) || programme_sum != city)
      return Status::corruption(path + ": programme amounts sum to " + std::to_string(programme_sum) +
                                ", not the trailer's city_subsidy + points_subsidy " + std::to_string(city));
    if (programmes[programme_index(Programme::welfare_points)] != contents.totals.points_subsidy_minor)
      return Status::corruption(path + ": welfare_points differs from the trailer's points_subsidy");
    contents.totals.programme_minor = programmes;
  }
  return contents;
}

}  // namespace citycard::settlement
