#include "access_lists.h"

#include <algorithm>

namespace citycard::rules {

AccessBook::AccessBook(AccessLists lists) : lists_(std::move(lists)) {
  for (std::uint32_t i = 0; i < lists_.groups.size(); ++i) {
    for (const AccessPoint& door : lists_.groups[i].doors) door_index_.emplace_back(access_point_key(door), i);
  }
  for (std::uint32_t i = 0; i < lists_.meetings.size(); ++i) {
    room_index_.emplace_back(access_point_key(lists_.meetings[i].room), i);
  }
  std::sort(door_index_.begin(), door_index_.end());
  door_index_.erase(std::unique(door_index_.begin(), door_index_.end()), door_index_.end());
  std::sort(room_index_.begin(), room_index_.end());
}

AccessBook::Entries AccessBook::find(const Index& index, std::uint64_t key) noexcept {
  auto first = std::lower_bound(index.begin(), index.end(), key, [](const auto& entry, std::uint64_t k) { return entry.first < k; });
  auto last = first;
  while (last != index.end() && last->first == key) ++last;
  return Entries(index.data() + (first - index.begin()), static_cast<std::size_t>(last - first));
}

const Role* AccessBook::find_role(std::string_view name) const noexcept {
  auto found = std::lower_bound(lists_.roles.begin(), lists_.roles.end(), name,
                                [](const Role& role, std::string_view n) { return role.name < n; });
  return found != lists_.roles.end() && found->name == name ? &*found : nullptr;
}

bool AccessBook::role_has(const Role& role, const CardId& card) const noexcept {
  return std::binary_search(role.cards.begin(), role.cards.end(), card);
}

LocalMinute local_minute(const LocalCalendar& calendar, EventTime time) noexcept {
  return calendar.local_day(time) * minutes_per_day + calendar.local_minute_of_day(time);
}

bool window_contains(const WeeklyWindow& window, std::int32_t weekday, std::int32_t minute_of_day) noexcept {
  return (window.days & (1u << weekday)) != 0 && minute_of_day >= window.from_minute && minute_of_day < window.to_minute;
}

namespace {

bool names_card(const AccessBook& book, const Admit& admit, const CardId& card, RiderCategory category) noexcept {
  switch (admit.kind) {
    case AdmitKind::category: return admit.category == category;
    case AdmitKind::card: return admit.card == card;
    case AdmitKind::role: {
      const Role* role = book.find_role(admit.role);
      return role != nullptr && book.role_has(*role, card);
    }
  }
  return false;
}

bool invited(const AccessBook& book, const Meeting& meeting, const CardId& card) noexcept {
  if (std::binary_search(meeting.cards.begin(), meeting.cards.end(), card)) return true;
  for (const std::string& name : meeting.roles) {
    const Role* role = book.find_role(name);
    if (role != nullptr && book.role_has(*role, card)) return true;
  }
  return false;
}

// Door: admitted when any entry of any group at the door names the card and is open now.
RefusalReason door_refusal(const AccessBook& book, const Tap& tap, RiderCategory category,
                           const LocalCalendar& calendar) noexcept {
  const AccessBook::Entries by_reader = book.groups_at(access_reader_key(tap.id.reader));
  const AccessBook::Entries by_place = book.groups_at(access_place_key(tap.operator_id, tap.location));
  if (by_reader.empty() && by_place.empty()) return RefusalReason::none;  // no list: as before lists
  const std::int32_t weekday = calendar.local_weekday(tap.event_time);
  const std::int32_t minute = calendar.local_minute_of_day(tap.event_time);
  bool named = false;
  for (const AccessBook::Entries entries : {by_reader, by_place}) {
    for (const auto& [key, index] : entries) {
      for (const Admit& admit : book.lists().groups[index].admits) {
        if (!names_card(book, admit, tap.card, category)) continue;
        named = true;
        if (admit.windows.empty()) return RefusalReason::none;
        for (const WeeklyWindow& window : admit.windows) {
          if (window_contains(window, weekday, minute)) return RefusalReason::none;
        }
      }
    }
  }
  return named ? RefusalReason::access_outside_window : RefusalReason::access_not_admitted;
}

RefusalReason meeting_refusal(const AccessBook& book, const Tap& tap, const LocalCalendar& calendar) noexcept {
  const AccessBook::Entries by_reader = book.meetings_at(access_reader_key(tap.id.reader));
  const AccessBook::Entries by_place = book.meetings_at(access_place_key(tap.operator_id, tap.location));
  if (by_reader.empty() && by_place.empty()) return RefusalReason::none;
  const LocalMinute now = local_minute(calendar, tap.event_time);
  bool open = false;
  for (const AccessBook::Entries entries : {by_reader, by_place}) {
    for (const auto& [key, index] : entries) {
      const Meeting& meeting = book.lists().meetings[index];
      if (now < meeting.start || now >= meeting.end) continue;
      open = true;
      if (invited(book, meeting, tap.card)) return RefusalReason::none;
    }
  }
  return open ? RefusalReason::access_not_admitted : RefusalReason::access_outside_window;
}

}  // namespace

RefusalReason access_refusal(const AccessBook& book, AccessPlace place, const Tap& tap, RiderCategory category,
                             const LocalCalendar& calendar) noexcept {
  return place == AccessPlace::door ? door_refusal(book, tap, category, calendar) : meeting_refusal(book, tap, calendar);
}

}  // namespace citycard::rules
