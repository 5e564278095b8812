// Acknowledgement file, version 1; CSV lines ending in LF:
//
//   ack      := header item* end
//   header   := "A,CCACK,1," operator_id "," business_day "," sequence "," file_sha256 ","
//               verdict "," acknowledged_at LF
//   verdict  := "accepted" | "rejected"
//   item     := "R," line_number "," tap_id "," reason_code "," reason_text LF   (a rejected line)
//             | "B," reason_code "," reason_text LF                            (the whole batch)
//   end      := "E," item_count LF
//
// An accepted ack has no items; a rejected one has at least one.
#include "ack.h"

#include <charconv>

#include "csv.h"

namespace citycard::settlement {
namespace {

template <typename Integer>
bool parse_integer(std::string_view text, Integer& out) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// Zones as DayConfig allows them, -14:00..+14:00.
constexpr int zone_minutes_max = 14 * 60;
// Instants whose local date, in any such zone, is a BusinessDay (1970..9999),
// so a time read here can be written back (format_local_time) and read again.
constexpr EventTime time_min{us_per_day};                      // 1970-01-02T00:00:00Z
constexpr EventTime time_end{2'932'896 * us_per_day};          // 9999-12-31T00:00:00Z

bool is_lower_hex(std::string_view text) {
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

Result<EventTime> parse_time(std::string_view text) {
  auto bad = [&] { return Status::invalid_argument("bad time '" + std::string(text) + "'"); };
  if (text.size() < 20 || text[10] != 'T' || text[13] != ':' || text[16] != ':') return bad();
  auto day = BusinessDay::parse(text.substr(0, 10));
  int hour = 0, minute = 0, second = 0;
  if (!day || !parse_integer(text.substr(11, 2), hour) || !parse_integer(text.substr(14, 2), minute) ||
      !parse_integer(text.substr(17, 2), second) || hour > 23 || minute > 59 || second > 59)
    return bad();
  std::size_t at = 19;
  std::int64_t micros = 0;
  if (text[at] == '.') {
    std::size_t digits = 0;
    for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++digits) {
      if (digits >= 6) return bad();
      micros = micros * 10 + (text[at] - '0');
    }
    if (digits == 0) return bad();
    for (; digits < 6; ++digits) micros *= 10;
  }
  std::int64_t offset_minutes = 0;
  std::string_view zone = text.substr(at);
  if (zone != "Z") {
    int zone_hour = 0, zone_minute = 0;
    if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':' ||
        !parse_integer(zone.substr(1, 2), zone_hour) || !parse_integer(zone.substr(4, 2), zone_minute) ||
        zone_minute > 59 || zone_hour * 60 + zone_minute > zone_minutes_max)
      return bad();
    offset_minutes = (zone[0] == '-' ? -1 : 1) * (zone_hour * 60 + zone_minute);
  }
  // BusinessDay::parse gives the calendar date's day number; midnight UTC of that date.
  std::int64_t local_us = static_cast<std::int64_t>(day->days_since_epoch) * us_per_day + hour * us_per_hour +
                          minute * us_per_minute + second * us_per_second + micros;
  const EventTime time{local_us - offset_minutes * us_per_minute};
  if (time < time_min || time >= time_end) return bad();
  return time;
}

Result<Ack> parse_ack(std::string_view text) {
  Ack ack;
  bool have_header = false;
  bool have_end = false;
  std::uint64_t record = 0;
  auto bad = [&](const std::string& why) {
    return Status::invalid_argument("acknowledgement record " + std::to_string(record) + ": " + why);
  };
  while (!text.empty()) {
    auto end = text.find('\n');
    if (end == std::string_view::npos) return bad("missing line break at the end");
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    ++record;
    if (have_end) return bad("text after the end record");
    auto parsed = csv::parse_line(line);
    if (!parsed) return bad(parsed.status().message());
    const auto& f = parsed.value();
    if (!have_header) {
      if (f.size() != 9 || f[0] != "A" || f[1] != "CCACK" || f[2] != "1") return bad("expected a CCACK version 1 header");
      auto day = BusinessDay::parse(f[4]);
      auto at = parse_time(f[8]);
      if (!parse_integer(f[3], ack.operator_id) || !day || !parse_integer(f[5], ack.sequence) || ack.sequence == 0 ||
          f[6].size() != 64 || !is_lower_hex(f[6]) || (f[7] != "accepted" && f[7] != "rejected") || !at)
        return bad("malformed header");
      ack.day = *day;
      ack.file_sha256 = f[6];
      ack.accepted = f[7] == "accepted";
      ack.acknowledged_at = at.value();
      have_header = true;
    } else if (f[0] == "R") {
      AckItem item;
      if (f.size() != 5 || !parse_integer(f[1], item.line_number) || item.line_number == 0 || f[2].empty() || f[3].empty())
        return bad("malformed rejected line");
      item.tap_id = f[2];
      item.reason_code = f[3];
      item.reason_text = f[4];
      ack.items.push_back(std::move(item));
    } else if (f[0] == "B") {
      if (f.size() != 3 || f[1].empty()) return bad("malformed batch rejection");
      ack.items.push_back({true, 0, {}, f[1], f[2]});
    } else if (f[0] == "E") {
      std::uint64_t count = 0;
      if (f.size() != 2 || !parse_integer(f[1], count) || count != ack.items.size()) return bad("end record count differs");
      have_end = true;
    } else {
      return bad("unknown record type");
    }
  }
  if (!have_header) return Status::invalid_argument("acknowledgement is empty");
  if (!have_end) return Status::invalid_argument("acknowledgement has no end record (truncated?)");
  if (ack.accepted != ack.items.empty())
    return Status::invalid_argument(ack.accepted ? "an accepted batch cannot carry rejections"
                                                 : "a rejected batch needs at least one reason");
  return ack;
}

std::string format_ack(const Ack& ack, const DayConfig& config) {
  std::string text = "A,CCACK,1," + std::to_string(ack.operator_id) + "," + ack.day.to_string() + "," +
                     std::to_string(ack.sequence) + "," + ack.file_sha256 + "," +
                     (ack.accepted ? "accepted" : "rejected") + "," + format_local_time(ack.acknowledged_at, config) + "\n";
  for (const auto& item : ack.items) {
    std::string line = item.whole_batch ? "B" : "R," + std::to_string(item.line_number);
    if (!item.whole_batch) csv::append_field(line, item.tap_id);
    csv::append_field(line, item.reason_code);
    csv::append_field(line, item.reason_text);
    text += line + "\n";
  }
  text += "E," + std::to_string(ack.items.size()) + "\n";
  return text;
}

}  // namespace citycard::settlement
