// Access lists for identity taps at doors and meeting rooms (docs/access.md):
// who a door group admits and when, and who may sign in to a meeting. The
// card office defines them (engine/groups/access_store.h keeps them in the
// ledger); rate() applies them to every identity tap at an operator of kind
// door or meeting, through access_refusal() below.
//
// The model:
// - A role is a named set of cards (staff, volunteers, community members).
// - A door group is a set of doors -- a reader (its id) or a place (operator
//   and location, the tap's) -- and what it admits: a rider category, a named
//   card, or a role's members, each with weekly windows in local time (the
//   rule set's UTC offset). An entry without windows admits at any time.
// - A meeting is a room (a reader or a place), a sign-in window [start, end)
//   in local date-time, and invitees (cards and roles).
// - A door that no group names, a room no meeting names: any active card,
//   as before access lists (the card's status is checked before, always).
//
// AccessBook is the lists with sorted indexes, immutable once built: the
// engine's shards share one and are handed a new one when the lists change
// (as the rule book). access_refusal() is pure: time from the tap, no clock,
// no allocation.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "citycard/ids.h"
#include "citycard/tap.h"
#include "calendar.h"

namespace citycard::rules {

inline constexpr std::int32_t minutes_per_day = 24 * 60;

// Days of the week (bit 0 Monday .. bit 6 Sunday) and [from, to) minutes of
// the local day. A window does not cross midnight: 22:00-02:00 is two.
struct WeeklyWindow {
  std::uint8_t days = 0x7F;
  std::uint16_t from_minute = 0;
  std::uint16_t to_minute = minutes_per_day;
  bool operator==(const WeeklyWindow&) const = default;
};

enum class AdmitKind : std::uint8_t { category = 1, card = 2, role = 3 };

struct Admit {
  AdmitKind kind = AdmitKind::category;
  RiderCategory category = RiderCategory::general;  // kind category
  CardId card;                                      // kind card
  std::string role;                                 // kind role
  std::vector<WeeklyWindow> windows;                // empty: at any time
  bool operator==(const Admit&) const = default;
};

// A door or a meeting room: a reader, or a place (the tap's operator and location).
struct AccessPoint {
  ReaderId reader;         // non-zero: this reader
  OperatorId operator_id;  // else this operator's ...
  std::uint32_t location = 0;  // ... location
  constexpr bool is_reader() const noexcept { return reader.value != 0; }
  bool operator==(const AccessPoint&) const = default;
};

struct DoorGroup {
  std::string name;
  std::vector<AccessPoint> doors;
  std::vector<Admit> admits;
  bool operator==(const DoorGroup&) const = default;
};

struct Role {
  std::string name;
  std::vector<CardId> cards;  // sorted, distinct
  bool operator==(const Role&) const = default;
};

// Local date-time as minutes since 1970-01-01T00:00 local.
using LocalMinute = std::int64_t;

struct Meeting {
  std::string name;
  AccessPoint room;
  LocalMinute start = 0;  // sign-in from (inclusive)
  LocalMinute end = 0;    // until (exclusive); > start
  std::vector<CardId> cards;        // invited cards, sorted, distinct
  std::vector<std::string> roles;   // invited roles, sorted, distinct
  bool operator==(const Meeting&) const = default;
};

// Everything, each kind sorted by name (names distinct within a kind).
struct AccessLists {
  std::vector<Role> roles;
  std::vector<DoorGroup> groups;
  std::vector<Meeting> meetings;
  bool empty() const noexcept { return roles.empty() && groups.empty() && meetings.empty(); }
  bool operator==(const AccessLists&) const = default;
};

class AccessBook {
 public:
  explicit AccessBook(AccessLists lists);
  static std::shared_ptr<const AccessBook> none() { return std::make_shared<const AccessBook>(AccessLists{}); }

  const AccessLists& lists() const noexcept { return lists_; }
  // No group and no meeting: every identity tap is rated as without lists.
  bool applies_nowhere() const noexcept { return door_index_.empty() && room_index_.empty(); }

  const Role* find_role(std::string_view name) const noexcept;
  bool role_has(const Role& role, const CardId& card) const noexcept;
  // The groups (meetings) naming a point: pairs (point key, index into
  // lists().groups / lists().meetings), all with this key.
  using Entries = std::span<const std::pair<std::uint64_t, std::uint32_t>>;
  Entries groups_at(std::uint64_t point_key) const noexcept { return find(door_index_, point_key); }
  Entries meetings_at(std::uint64_t point_key) const noexcept { return find(room_index_, point_key); }

 private:
  using Index = std::vector<std::pair<std::uint64_t, std::uint32_t>>;  // sorted by key
  static Entries find(const Index& index, std::uint64_t key) noexcept;
  AccessLists lists_;
  Index door_index_;
  Index room_index_;
};

// The point key of a reader or a place (readers and places never collide).
constexpr std::uint64_t access_reader_key(ReaderId reader) noexcept { return (std::uint64_t{1} << 63) | reader.value; }
constexpr std::uint64_t access_place_key(OperatorId operator_id, std::uint32_t location) noexcept {
  return (std::uint64_t{operator_id.value & 0x7FFFFFFFu} << 32) | location;
}
constexpr std::uint64_t access_point_key(const AccessPoint& point) noexcept {
  return point.is_reader() ? access_reader_key(point.reader) : access_place_key(point.operator_id, point.location);
}

// The tap's local minute since the epoch, by the calendar's offset.
LocalMinute local_minute(const LocalCalendar& calendar, EventTime time) noexcept;
bool window_contains(const WeeklyWindow& window, std::int32_t weekday, std::int32_t minute_of_day) noexcept;

enum class AccessPlace : std::uint8_t { door = 1, meeting = 2 };

// Why an identity tap at a door or meeting room is refused, or none:
//   door:    access_not_admitted (no entry of a group at the door names the
//            card, its category or a role it is in); access_outside_window
//            (one does, but not at this local time)
//   meeting: access_outside_window (no meeting of the room is open for
//            sign-in); access_not_admitted (one is, the card is not invited)
RefusalReason access_refusal(const AccessBook& book, AccessPlace place, const Tap& tap, RiderCategory category,
                             const LocalCalendar& calendar) noexcept;

}  // namespace citycard::rules
