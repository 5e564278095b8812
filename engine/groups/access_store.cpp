#include "access_store.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "audit_entry.h"
#include "office_audit.h"
#include "calendar.h"

namespace citycard::engine {
namespace {

using json = nlohmann::json;
constexpr std::array<std::string_view, 7> day_names = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

std::optional<std::uint64_t> parse_number(std::string_view text, std::uint64_t max) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

std::optional<int> parse_day(std::string_view text) {
  for (std::size_t i = 0; i < day_names.size(); ++i) {
    if (day_names[i] == text) return static_cast<int>(i);
  }
  return std::nullopt;
}

// HH:MM, 00:00..24:00.
std::optional<int> parse_clock(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  auto hours = parse_number(text.substr(0, 2), 24);
  auto minutes = parse_number(text.substr(3, 2), 59);
  if (!hours || !minutes || (*hours == 24 && *minutes != 0)) return std::nullopt;
  return static_cast<int>(*hours * 60 + *minutes);
}

std::string clock_text(int minute) { return fmt::format("{:02}:{:02}", minute / 60, minute % 60); }

Result<rules::WeeklyWindow> parse_window(std::string_view text) {
  auto bad = [&](std::string why) {
    return Status::invalid_argument("window '" + std::string(text) + "': " + why +
                                    " (DAYS/HH:MM-HH:MM, DAYS mon..sun, mon-fri, mon+wed or daily)");
  };
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return bad("no '/' between the days and the times");
  const std::string_view days = text.substr(0, slash);
  const std::string_view times = text.substr(slash + 1);
  rules::WeeklyWindow window;
  if (days == "daily") {
    window.days = 0x7F;
  } else {
    // mon, mon-fri, or several joined by '+': mon+wed+fri, mon-tue+thu
    window.days = 0;
    std::string_view rest = days;
    while (true) {
      const std::size_t plus = rest.find('+');
      const std::string_view part = rest.substr(0, plus);
      const std::size_t dash = part.find('-');
      auto first = parse_day(part.substr(0, dash));
      auto last = dash == std::string_view::npos ? first : parse_day(part.substr(dash + 1));
      if (!first || !last) return bad("unknown day");
      if (*last < *first) return bad("the days run backwards");
      for (int d = *first; d <= *last; ++d) window.days = static_cast<std::uint8_t>(window.days | (1u << d));
      if (plus == std::string_view::npos) break;
      rest = rest.substr(plus + 1);
    }
  }
  const std::size_t dash = times.find('-');
  if (dash == std::string_view::npos) return bad("no '-' between the times");
  auto from = parse_clock(times.substr(0, dash));
  auto to = parse_clock(times.substr(dash + 1));
  if (!from || !to) return bad("a time is not HH:MM");
  if (*to <= *from) return bad("the window ends before it starts (one across midnight is two windows)");
  window.from_minute = static_cast<std::uint16_t>(*from);
  window.to_minute = static_cast<std::uint16_t>(*to);
  return window;
}

std::string window_text(const rules::WeeklyWindow& window) {
  std::string days;
  if (window.days == 0x7F) {
    days = "daily";
  } else {
    // A contiguous run prints as a range; otherwise one window per run would be needed: print days joined.
    int first = -1, last = -1;
    bool contiguous = true;
    for (int d = 0; d < 7; ++d) {
      if ((window.days & (1u << d)) == 0) continue;
      if (first < 0) first = d;
      else if (d != last + 1) contiguous = false;
      last = d;
    }
    if (contiguous && first >= 0) {
      days = first == last ? std::string(day_names[first]) : fmt::format("{}-{}", day_names[first], day_names[last]);
    } else {
      for (int d = 0; d < 7; ++d) {
        if ((window.days & (1u << d)) != 0) days += (days.empty() ? "" : "+") + std::string(day_names[d]);
      }
    }
  }
  return fmt::format("{}/{}-{}", days, clock_text(window.from_minute), clock_text(window.to_minute));
}

Result<CardId> parse_card(std::string_view text, const AccessWorld& world) {
  auto card = CardId::parse(text);
  if (!card) return Status::invalid_argument("card '" + std::string(text) + "' is not 2..32 hex digits");
  if (world.card_issued && !world.card_issued(*card)) return Status::not_found("card " + card->to_string() + " is not issued");
  return *card;
}

Result<rules::Admit> parse_who(std::string_view text, const rules::AccessLists& lists, const AccessWorld& world) {
  const std::size_t colon = text.find(':');
  const std::string_view kind = text.substr(0, colon);
  const std::string_view value = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  rules::Admit admit;
  if (kind == "category") {
    auto category = parse_rider_category(value);
    if (!category) return Status::invalid_argument("unknown category '" + std::string(value) + "'");
    admit.kind = rules::AdmitKind::category;
    admit.category = *category;
  } else if (kind == "card") {
    auto card = parse_card(value, world);
    if (!card) return card.status();
    admit.kind = rules::AdmitKind::card;
    admit.card = *card;
  } else if (kind == "role") {
    auto found = std::find_if(lists.roles.begin(), lists.roles.end(), [&](const rules::Role& r) { return r.name == value; });
    if (found == lists.roles.end()) return Status::not_found("unknown role '" + std::string(value) + "' (access role add first)");
    admit.kind = rules::AdmitKind::role;
    admit.role = std::string(value);
  } else {
    return Status::invalid_argument("'" + std::string(text) + "': expected category:NAME, card:HEX or role:NAME");
  }
  return admit;
}

Result<rules::Admit> parse_admit(std::string_view text, const rules::AccessLists& lists, const AccessWorld& world) {
  const std::size_t at = text.find('@');
  auto admit = parse_who(text.substr(0, at), lists, world);
  if (!admit || at == std::string_view::npos) return admit;
  std::string_view rest = text.substr(at + 1);
  while (true) {
    const std::size_t comma = rest.find(',');
    auto window = parse_window(rest.substr(0, comma));
    if (!window) return window.status();
    admit->windows.push_back(*window);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return admit;
}

std::string who_text(const rules::Admit& admit) {
  switch (admit.kind) {
    case rules::AdmitKind::category: return "category:" + std::string(rider_category_name(admit.category));
    case rules::AdmitKind::card: return "card:" + admit.card.to_string();
    case rules::AdmitKind::role: return "role:" + admit.role;
  }
  return "?";
}

// The strings of `field` (an array of strings; missing = empty unless required).
Result<std::vector<std::string>> strings(const json& change, const char* field, bool required) {
  std::vector<std::string> out;
  auto found = change.find(field);
  if (found == change.end()) {
    if (required) return Status::invalid_argument(std::string("'") + field + "' is required");
    return out;
  }
  if (!found->is_array()) return Status::invalid_argument(std::string("'") + field + "' must be a list of strings");
  for (const auto& item : *found) {
    if (!item.is_string()) return Status::invalid_argument(std::string("'") + field + "' must be a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<std::string> text_field(const json& change, const char* field) {
  auto found = change.find(field);
  if (found == change.end() || !found->is_string()) return Status::invalid_argument(std::string("'") + field + "' (text) is required");
  return found->get<std::string>();
}

// The point, checked against the rule set (an operator of `kind`) or the reader registry.
Result<rules::AccessPoint> checked_point(std::string_view text, rules::ServiceKind kind, const AccessWorld& world) {
  auto point = parse_access_point(text);
  if (!point) return point;
  if (point->is_reader()) {
    if (world.reader_registered && !world.reader_registered(point->reader)) {
      return Status::not_found("unknown reader " + std::to_string(point->reader.value) + " (not registered)");
    }
    return point;
  }
  const rules::OperatorRule* rule = world.rule_set != nullptr ? world.rule_set->find_operator(point->operator_id) : nullptr;
  if (rule == nullptr) return Status::not_found("unknown operator " + std::to_string(point->operator_id.value) + " (not in the rule set)");
  if (rule->kind != kind) {
    return Status::invalid_argument(fmt::format("operator {} ({}) is of kind {}, not {}", rule->id.value, rule->name,
                                                rules::service_kind_name(rule->kind), rules::service_kind_name(kind)));
  }
  return point;
}

template <typename T>
auto find_named(std::vector<T>& items, std::string_view name) {
  return std::find_if(items.begin(), items.end(), [&](const T& item) { return item.name == name; });
}

template <typename T>
void insert_sorted(std::vector<T>& items, T item) {
  auto at = std::lower_bound(items.begin(), items.end(), item, [](const T& a, const T& b) { return a.name < b.name; });
  items.insert(at, std::move(item));
}

Result<std::vector<CardId>> cards_of(const std::vector<std::string>& texts, const AccessWorld& world) {
  std::vector<CardId> cards;
  for (const std::string& text : texts) {
    auto card = parse_card(text, world);
    if (!card) return card.status();
    if (std::find(cards.begin(), cards.end(), *card) != cards.end()) {
      return Status::invalid_argument("card " + card->to_string() + " is named twice");
    }
    cards.push_back(*card);
  }
  return cards;
}

// Who a meeting invites: cards and roles (no windows).
Status add_invitees(rules::Meeting& meeting, const std::vector<std::string>& texts, const rules::AccessLists& lists,
                    const AccessWorld& world, std::vector<std::string>& added) {
  for (const std::string& text : texts) {
    if (text.find('@') != std::string::npos) return Status::invalid_argument("'" + text + "': a meeting's invitee has no window");
    auto who = parse_who(text, lists, world);
    if (!who) return who.status();
    if (who->kind == rules::AdmitKind::category) return Status::invalid_argument("'" + text + "': invite cards or roles");
    if (who->kind == rules::AdmitKind::card) {
      if (std::binary_search(meeting.cards.begin(), meeting.cards.end(), who->card)) {
        return Status::already_exists("card " + who->card.to_string() + " is already invited to " + meeting.name);
      }
      meeting.cards.insert(std::lower_bound(meeting.cards.begin(), meeting.cards.end(), who->card), who->card);
    } else {
      if (std::binary_search(meeting.roles.begin(), meeting.roles.end(), who->role)) {
        return Status::already_exists("role " + who->role + " is already invited to " + meeting.name);
      }
      meeting.roles.insert(std::lower_bound(meeting.roles.begin(), meeting.roles.end(), who->role), who->role);
    }
    added.push_back(who_text(*who));
  }
  return Status::ok();
}

Status remove_invitees(rules::Meeting& meeting, const std::vector<std::string>& texts, std::vector<std::string>& removed) {
  for (const std::string& text : texts) {
    if (text.rfind("card:", 0) == 0) {
      auto card = CardId::parse(std::string_view(text).substr(5));
      if (!card) return Status::invalid_argument("card '" + text.substr(5) + "' is not 2..32 hex digits");
      auto at = std::lower_bound(meeting.cards.begin(), meeting.cards.end(), *card);
      if (at == meeting.cards.end() || *at != *card) return Status::not_found("card " + card->to_string() + " is not invited to " + meeting.name);
      meeting.cards.erase(at);
    } else if (text.rfind("role:", 0) == 0) {
      auto at = std::find(meeting.roles.begin(), meeting.roles.end(), text.substr(5));
      if (at == meeting.roles.end()) return Status::not_found("role " + text.substr(5) + " is not invited to " + meeting.name);
      meeting.roles.erase(at);
    } else {
      return Status::invalid_argument("'" + text + "': expected card:HEX or role:NAME");
    }
    removed.push_back(text);
  }
  return Status::ok();
}

std::string joined(const std::vector<std::string>& items) { return fmt::format("{}", fmt::join(items, ", ")); }

Result<AccessPlan> plan_role(rules::AccessLists& lists, const std::string& action, const std::string& name, const json& change,
                             const AccessWorld& world) {
  auto texts = strings(change, "cards", action == "role_add");
  if (!texts) return texts.status();
  auto cards = cards_of(*texts, world);
  if (!cards) return cards.status();
  AccessPlan plan;
  auto role = find_named(lists.roles, name);
  if (action == "role_add") {
    if (cards->empty()) return Status::invalid_argument("role_add needs at least one card");
    if (role == lists.roles.end()) {
      insert_sorted(lists.roles, rules::Role{name, {}});
      role = find_named(lists.roles, name);
      plan.detail = "new role " + name + "; ";
    }
    for (const CardId& card : *cards) {
      auto at = std::lower_bound(role->cards.begin(), role->cards.end(), card);
      if (at != role->cards.end() && *at == card) return Status::already_exists("card " + card.to_string() + " is already in role " + name);
      role->cards.insert(at, card);
    }
    plan.action = "access role add";
    plan.detail += fmt::format("{} card{} added: {}", texts->size(), texts->size() == 1 ? "" : "s", joined(*texts));
    plan.writes.push_back({ledger::RecordSpace::access, access_role_key(name), encode_access_role(*role)});
    return plan;
  }
  if (role == lists.roles.end()) return Status::not_found("no role named '" + name + "'");
  plan.action = "access role remove";
  if (cards->empty()) {
    for (const auto& group : lists.groups) {
      for (const auto& admit : group.admits) {
        if (admit.kind == rules::AdmitKind::role && admit.role == name) {
          return Status::refused("role " + name + " is named by door group " + group.name + "; remove that first");
        }
      }
    }
    for (const auto& meeting : lists.meetings) {
      if (std::find(meeting.roles.begin(), meeting.roles.end(), name) != meeting.roles.end()) {
        return Status::refused("role " + name + " is invited to meeting " + meeting.name + "; uninvite it first");
      }
    }
    plan.detail = fmt::format("role {} removed ({} cards)", name, role->cards.size());
    lists.roles.erase(role);
    plan.writes.push_back({ledger::RecordSpace::access, access_role_key(name), {}, ledger::RecordChange::erase});
    return plan;
  }
  for (const CardId& card : *cards) {
    auto at = std::lower_bound(role->cards.begin(), role->cards.end(), card);
    if (at == role->cards.end() || *at != card) return Status::not_found("card " + card.to_string() + " is not in role " + name);
    role->cards.erase(at);
  }
  plan.detail = fmt::format("{} card{} removed: {}", texts->size(), texts->size() == 1 ? "" : "s", joined(*texts));
  plan.writes.push_back({ledger::RecordSpace::access, access_role_key(name), encode_access_role(*role)});
  return plan;
}

Result<AccessPlan> plan_group(rules::AccessLists& lists, const std::string& action, const std::string& name, const json& change,
                              const AccessWorld& world) {
  AccessPlan plan;
  auto group = find_named(lists.groups, name);
  if (action == "group_remove") {
    if (group == lists.groups.end()) return Status::not_found("no door group named '" + name + "'");
    lists.groups.erase(group);
    plan.action = "access group remove";
    plan.detail = "door group " + name + " removed";
    plan.writes.push_back({ledger::RecordSpace::access, access_group_key(name), {}, ledger::RecordChange::erase});
    return plan;
  }
  if (group != lists.groups.end()) return Status::already_exists("a door group named '" + name + "' exists (remove it first to change it)");
  auto doors = strings(change, "doors", true);
  if (!doors) return doors.status();
  auto admits = strings(change, "admit", true);
  if (!admits) return admits.status();
  if (doors->empty()) return Status::invalid_argument("a door group needs at least one door");
  if (admits->empty()) return Status::invalid_argument("a door group needs at least one admit entry (a group admitting nobody closes its doors: say so with a role of no one else)");
  rules::DoorGroup made{name, {}, {}};
  for (const std::string& text : *doors) {
    auto point = checked_point(text, rules::ServiceKind::door, world);
    if (!point) return point.status();
    if (std::find(made.doors.begin(), made.doors.end(), *point) != made.doors.end()) return Status::invalid_argument("door " + text + " is named twice");
    made.doors.push_back(*point);
  }
  for (const std::string& text : *admits) {
    auto admit = parse_admit(text, lists, world);
    if (!admit) return admit.status();
    made.admits.push_back(std::move(*admit));
  }
  plan.action = "access group add";
  plan.detail = fmt::format("door group {}: doors {}; admits {}", name, joined(*doors), joined(*admits));
  plan.writes.push_back({ledger::RecordSpace::access, access_group_key(name), encode_access_group(made)});
  insert_sorted(lists.groups, std::move(made));
  return plan;
}

Result<AccessPlan> plan_meeting(rules::AccessLists& lists, const std::string& action, const std::string& name, const json& change,
                                const AccessWorld& world) {
  AccessPlan plan;
  auto meeting = find_named(lists.meetings, name);
  if (action == "meeting_remove") {
    if (meeting == lists.meetings.end()) return Status::not_found("no meeting named '" + name + "'");
    lists.meetings.erase(meeting);
    plan.action = "access meeting remove";
    plan.detail = "meeting " + name + " removed";
    plan.writes.push_back({ledger::RecordSpace::access, access_meeting_key(name), {}, ledger::RecordChange::erase});
    return plan;
  }
  auto invitees = strings(change, "invite", action != "meeting_add");
  if (!invitees) return invitees.status();
  if (action == "invite" || action == "uninvite") {
    if (meeting == lists.meetings.end()) return Status::not_found("no meeting named '" + name + "'");
    if (invitees->empty()) return Status::invalid_argument("name at least one invitee (card:HEX or role:NAME)");
    std::vector<std::string> changed;
    Status done = action == "invite" ? add_invitees(*meeting, *invitees, lists, world, changed)
                                     : remove_invitees(*meeting, *invitees, changed);
    if (!done) return done;
    plan.action = action == "invite" ? "access invite" : "access uninvite";
    plan.detail = fmt::format("meeting {}: {} {}", name, action == "invite" ? "invited" : "uninvited", joined(changed));
    plan.writes.push_back({ledger::RecordSpace::access, access_meeting_key(name), encode_access_meeting(*meeting)});
    return plan;
  }
  if (meeting != lists.meetings.end()) return Status::already_exists("a meeting named '" + name + "' exists");
  auto room_text = text_field(change, "room");
  if (!room_text) return room_text.status();
  auto room = checked_point(*room_text, rules::ServiceKind::meeting, world);
  if (!room) return room.status();
  auto from_text = text_field(change, "from");
  if (!from_text) return from_text.status();
  auto to_text = text_field(change, "to");
  if (!to_text) return to_text.status();
  auto from = parse_local_minute(*from_text);
  if (!from) return from.status();
  auto to = parse_local_minute(*to_text);
  if (!to) return to.status();
  if (*to <= *from) return Status::invalid_argument("the sign-in window ends (" + *to_text + ") at or before it starts (" + *from_text + ")");
  rules::Meeting made;
  made.name = name;
  made.room = *room;
  made.start = *from;
  made.end = *to;
  std::vector<std::string> added;
  if (Status done = add_invitees(made, *invitees, lists, world, added); !done) return done;
  plan.action = "access meeting add";
  plan.detail = fmt::format("meeting {}: room {}, sign-in {} to {}, invited {}", name, *room_text, *from_text, *to_text,
                            added.empty() ? std::string("nobody yet") : joined(added));
  plan.writes.push_back({ledger::RecordSpace::access, access_meeting_key(name), encode_access_meeting(made)});
  insert_sorted(lists.meetings, std::move(made));
  return plan;
}

}  // namespace

Result<rules::AccessPoint> parse_access_point(std::string_view text) {
  rules::AccessPoint point;
  if (text.rfind("reader:", 0) == 0) {
    auto reader = parse_number(text.substr(7), UINT32_MAX);
    if (!reader || *reader == 0) return Status::invalid_argument("'" + std::string(text) + "': reader:ID needs a reader id 1..4294967295");
    point.reader = ReaderId{static_cast<std::uint32_t>(*reader)};
    return point;
  }
  const std::size_t slash = text.find('/');
  auto operator_id = parse_number(text.substr(0, slash), INT32_MAX);
  auto location = slash == std::string_view::npos ? std::nullopt : parse_number(text.substr(slash + 1), UINT32_MAX);
  if (!operator_id || *operator_id == 0 || !location) {
    return Status::invalid_argument("'" + std::string(text) + "' is not a door or room: OPERATOR/LOCATION (511/5100) or reader:ID");
  }
  point.operator_id = OperatorId{static_cast<std::uint32_t>(*operator_id)};
  point.location = static_cast<std::uint32_t>(*location);
  return point;
}

std::string access_point_text(const rules::AccessPoint& point) {
  if (point.is_reader()) return "reader:" + std::to_string(point.reader.value);
  return fmt::format("{}/{}", point.operator_id.value, point.location);
}

Result<rules::LocalMinute> parse_local_minute(std::string_view text) {
  auto bad = [&] { return Status::invalid_argument("'" + std::string(text) + "' is not a local date-time YYYY-MM-DDTHH:MM"); };
  if (text.size() != 16 || text[4] != '-' || text[7] != '-' || text[10] != 'T') return bad();
  auto year = parse_number(text.substr(0, 4), 9999);
  auto month = parse_number(text.substr(5, 2), 12);
  auto day = parse_number(text.substr(8, 2), 31);
  auto minute = parse_clock(text.substr(11, 5));
  if (!year || *year < 1970 || !month || *month == 0 || !day || *day == 0 || !minute || *minute == 24 * 60) return bad();
  const std::int64_t days = rules::days_from_civil(static_cast<std::int32_t>(*year), static_cast<std::int32_t>(*month),
                                                   static_cast<std::int32_t>(*day));
  const rules::CivilDate back = rules::civil_from_days(days);
  if (back.day != static_cast<std::int32_t>(*day) || back.month != static_cast<std::int32_t>(*month)) return bad();
  return days * rules::minutes_per_day + *minute;
}

std::string local_minute_text(rules::LocalMinute minute) {
  const std::int64_t days = rules::floor_div(minute, rules::minutes_per_day);
  const rules::CivilDate date = rules::civil_from_days(days);
  return fmt::format("{:04}-{:02}-{:02}T{}", date.year, date.month, date.day,
                     clock_text(static_cast<int>(minute - days * rules::minutes_per_day)));
}

std::string admit_text(const rules::Admit& admit) {
  std::string text = who_text(admit);
  for (std::size_t i = 0; i < admit.windows.size(); ++i) text += (i == 0 ? "@" : ",") + window_text(admit.windows[i]);
  return text;
}

Result<AccessPlan> plan_access_change(const rules::AccessLists& lists, const json& change, const AccessWorld& world) {
  if (!change.is_object()) return Status::invalid_argument("the change must be a JSON object");
  auto action = text_field(change, "action");
  if (!action) return action.status();
  auto name = text_field(change, "name");
  if (!name) return name.status();
  if (!access_name_valid(*name)) {
    return Status::invalid_argument("name '" + *name + "': 1..32 of a-z, 0-9, '.', '_', '-', starting with a letter or digit");
  }
  rules::AccessLists after = lists;
  Result<AccessPlan> plan = Status::invalid_argument(
      "unknown access action '" + *action +
      "' (role_add, role_remove, group_add, group_remove, meeting_add, meeting_remove, invite, uninvite)");
  if (*action == "role_add" || *action == "role_remove") {
    plan = plan_role(after, *action, *name, change, world);
  } else if (*action == "group_add" || *action == "group_remove") {
    plan = plan_group(after, *action, *name, change, world);
  } else if (*action == "meeting_add" || *action == "meeting_remove" || *action == "invite" || *action == "uninvite") {
    plan = plan_meeting(after, *action, *name, change, world);
  }
  if (!plan) return plan;
  plan->after = std::move(after);
  return plan;
}

Status write_access_change(ledger::Ledger& ledger, const AccessPlan& plan, const OfficeActor& actor) {
  std::vector<ledger::RecordWrite> writes = plan.writes;
  writes.push_back(audit_record(office_audit_entry(actor, plan.action, plan.detail)));
  return ledger.put_records(writes, {});
}

json access_lists_json(const rules::AccessLists& lists) {
  json roles = json::array(), groups = json::array(), meetings = json::array();
  for (const auto& role : lists.roles) {
    json cards = json::array();
    for (const CardId& card : role.cards) cards.push_back(card.to_string());
    roles.push_back({{"name", role.name}, {"cards", std::move(cards)}});
  }
  for (const auto& group : lists.groups) {
    json doors = json::array(), admits = json::array();
    for (const auto& door : group.doors) doors.push_back(access_point_text(door));
    for (const auto& admit : group.admits) admits.push_back(admit_text(admit));
    groups.push_back({{"name", group.name}, {"doors", std::move(doors)}, {"admit", std::move(admits)}});
  }
  for (const auto& meeting : lists.meetings) {
    json invite = json::array();
    for (const CardId& card : meeting.cards) invite.push_back("card:" + card.to_string());
    for (const std::string& role : meeting.roles) invite.push_back("role:" + role);
    meetings.push_back({{"name", meeting.name}, {"room", access_point_text(meeting.room)},
                        {"from", local_minute_text(meeting.start)}, {"to", local_minute_text(meeting.end)},
                        {"invite", std::move(invite)}});
  }
  return {{"roles", std::move(roles)}, {"groups", std::move(groups)}, {"meetings", std::move(meetings)}};
}

}  // namespace citycard::engine
