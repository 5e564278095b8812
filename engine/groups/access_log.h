// What the door and meeting readers recorded, for the card office:
// `citycard door-log` (every tap at one door on one business day) and
// `citycard attendance` (who of a meeting's invitees signed in). Both read
// the tap records (tap_records.h) of a snapshot: read-only, while the
// engine runs.
//
// A tap is at a point (access_lists.h) when its reader is the point's
// reader, or its operator and location are the point's place.
//
// Attendance of a meeting: its invitees are its invited cards and the
// members of its invited roles, as the lists stand now. The taps counted
// are those at its room on the business days its sign-in window touches:
//   signed_in  each card's first approved tap inside the window (an
//              approved card not invited now is listed too, invited false)
//   absent     invitees with no approved tap inside the window
//   refused    refused taps at the room on those days, except those inside
//              the window of another meeting of the same room
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "access_lists.h"
#include "citycard/status.h"
#include "ledger/ledger.h"
#include "tap_records.h"

namespace citycard::engine {

bool tap_at(const rules::AccessPoint& point, const Tap& tap) noexcept;

// The day's records of taps at `door`, in event time order (then tap id).
Result<std::vector<RecordedTap>> read_door_log(const ledger::Snapshot& snapshot, const rules::AccessPoint& door,
                                               std::int32_t business_day);

struct SignIn {
  CardId card;            // the card's keyed token if anonymised
  EventTime first;
  bool invited = true;
};

struct Attendance {
  rules::Meeting meeting;
  std::vector<SignIn> signed_in;     // by first sign-in time
  std::vector<CardId> absent;        // sorted
  std::vector<RecordedTap> refused;  // by event time
};

// invalid_argument naming it for a meeting the lists do not have.
Result<Attendance> read_attendance(const ledger::Snapshot& snapshot, const rules::AccessLists& lists,
                                   const std::string& meeting, const rules::LocalCalendar& calendar);

// {"time", "time_us", "card" | "token", "outcome", "reason", "tap"}
nlohmann::json access_tap_json(const RecordedTap& record);
nlohmann::json attendance_json(const Attendance& attendance);

}  // namespace citycard::engine
