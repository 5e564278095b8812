#include "access_log.h"

#include <algorithm>
#include <functional>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "access_store.h"
#include "citycard/time.h"

namespace citycard::engine {
namespace {

// Every record of a business day whose tap passes `keep`.
Status scan_day(const ledger::Snapshot& snapshot, std::int32_t day, const std::function<void(RecordedTap)>& keep) {
  Status decoded;
  const std::string begin = tap_records_day_begin(day);
  Status scanned = snapshot.scan_records(ledger::RecordSpace::tap_records, begin.substr(0, 4),
                                         [&](std::string_view key, std::string_view value) {
                                           auto record = decode_recorded_tap(key, value);
                                           if (!record) {
                                             decoded = record.status();
                                             return false;
                                           }
                                           keep(std::move(*record));
                                           return true;
                                         });
  if (!scanned) return scanned;
  return decoded;
}

bool by_time(const RecordedTap& a, const RecordedTap& b) {
  return std::tie(a.tap.event_time.unix_us, a.tap.id) < std::tie(b.tap.event_time.unix_us, b.tap.id);
}

std::string utc_text(EventTime time) {
  const std::int64_t seconds = rules::floor_div(time.unix_us, 1'000'000);
  const std::int64_t days = rules::floor_div(seconds, 86'400);
  const rules::CivilDate date = rules::civil_from_days(days);
  const std::int64_t second_of_day = seconds - days * 86'400;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", date.year, date.month, date.day, second_of_day / 3600,
                     second_of_day / 60 % 60, second_of_day % 60);
}

}  // namespace

bool tap_at(const rules::AccessPoint& point, const Tap& tap) noexcept {
  if (point.is_reader()) return tap.id.reader == point.reader;
  return tap.operator_id == point.operator_id && tap.location == point.location;
}

Result<std::vector<RecordedTap>> read_door_log(const ledger::Snapshot& snapshot, const rules::AccessPoint& door,
                                               std::int32_t business_day) {
  std::vector<RecordedTap> taps;
  Status scanned = scan_day(snapshot, business_day, [&](RecordedTap record) {
    if (record.origin == Origin::tap && tap_at(door, record.tap)) taps.push_back(std::move(record));
  });
  if (!scanned) return scanned;
  std::sort(taps.begin(), taps.end(), by_time);
  return taps;
}

Result<Attendance> read_attendance(const ledger::Snapshot& snapshot, const rules::AccessLists& lists,
                                   const std::string& meeting_name, const rules::LocalCalendar& calendar) {
  auto meeting = std::find_if(lists.meetings.begin(), lists.meetings.end(), [&](const rules::Meeting& m) { return m.name == meeting_name; });
  if (meeting == lists.meetings.end()) return Status::invalid_argument("no meeting named '" + meeting_name + "'");
  Attendance attendance;
  attendance.meeting = *meeting;
  std::vector<CardId> invitees = meeting->cards;
  for (const std::string& name : meeting->roles) {
    for (const rules::Role& role : lists.roles) {
      if (role.name == name) invitees.insert(invitees.end(), role.cards.begin(), role.cards.end());
    }
  }
  std::sort(invitees.begin(), invitees.end());
  invitees.erase(std::unique(invitees.begin(), invitees.end()), invitees.end());

  // The window's local minutes back to event times, then to business days.
  auto local_to_time = [&](rules::LocalMinute minute) {
    // local_minute(t) = minute  <=>  t = minute * 60 s - offset; find the offset from the calendar itself.
    const EventTime guess{minute * us_per_minute};
    const rules::LocalMinute seen = rules::local_minute(calendar, guess);
    return EventTime{guess.unix_us - (seen - minute) * us_per_minute};
  };
  const std::int32_t first_day = calendar.business_day(local_to_time(meeting->start));
  const std::int32_t last_day = calendar.business_day(local_to_time(meeting->end - 1));
  std::map<CardId, SignIn> first_sign_in;
  for (std::int32_t day = first_day; day <= last_day; ++day) {
    Status scanned = scan_day(snapshot, day, [&](RecordedTap record) {
      if (record.origin != Origin::tap || !tap_at(meeting->room, record.tap)) return;
      const rules::LocalMinute at = rules::local_minute(calendar, record.tap.event_time);
      const bool inside = at >= meeting->start && at < meeting->end;
      if (record.outcome == protocol::Outcome::approved) {
        if (!inside) return;
        auto [entry, added] = first_sign_in.try_emplace(record.tap.card, SignIn{record.tap.card, record.tap.event_time, true});
        if (!added && record.tap.event_time < entry->second.first) entry->second.first = record.tap.event_time;
        return;
      }
      for (const rules::Meeting& other : lists.meetings) {
        if (other.name != meeting->name && other.room == meeting->room && at >= other.start && at < other.end) return;
      }
      attendance.refused.push_back(std::move(record));
    });
    if (!scanned) return scanned;
  }
  for (auto& [card, sign_in] : first_sign_in) {
    sign_in.invited = std::binary_search(invitees.begin(), invitees.end(), card);
    attendance.signed_in.push_back(sign_in);
  }
  std::sort(attendance.signed_in.begin(), attendance.signed_in.end(), [](const SignIn& a, const SignIn& b) {
    return std::tie(a.first.unix_us, a.card) < std::tie(b.first.unix_us, b.card);
  });
  for (const CardId& card : invitees) {
    if (first_sign_in.count(card) == 0) attendance.absent.push_back(card);
  }
  std::sort(attendance.refused.begin(), attendance.refused.end(), by_time);
  return attendance;
}

nlohmann::json access_tap_json(const RecordedTap& record) {
  nlohmann::json out{{"time", utc_text(record.tap.event_time)},
                     {"time_us", record.tap.event_time.unix_us},
                     {record.anonymised ? "token" : "card", record.tap.card.to_string()},
                     {"outcome", record.outcome == protocol::Outcome::approved ? "approved" : "refused"},
                     {"reason", std::string(refusal_reason_name(record.reason))},
                     {"tap", "tap:" + std::to_string(record.tap.id.reader.value) + ":" + std::to_string(record.tap.id.sequence)}};
  return out;
}

nlohmann::json attendance_json(const Attendance& attendance) {
  nlohmann::json signed_in = nlohmann::json::array(), absent = nlohmann::json::array(), refused = nlohmann::json::array();
  for (const SignIn& sign_in : attendance.signed_in) {
    signed_in.push_back({{"card", sign_in.card.to_string()}, {"first", utc_text(sign_in.first)},
                         {"first_us", sign_in.first.unix_us}, {"invited", sign_in.invited}});
  }
  for (const CardId& card : attendance.absent) absent.push_back(card.to_string());
  for (const RecordedTap& record : attendance.refused) refused.push_back(access_tap_json(record));
  return {{"meeting", attendance.meeting.name},
          {"room", access_point_text(attendance.meeting.room)},
          {"from", local_minute_text(attendance.meeting.start)},
          {"to", local_minute_text(attendance.meeting.end)},
          {"signed_in", std::move(signed_in)},
          {"absent", std::move(absent)},
          {"refused", std::move(refused)}};
}

}  // namespace citycard::engine
