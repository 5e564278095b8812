#include "access_codec.h"

#include <algorithm>

#include "citycard/coding.h"

namespace citycard::engine {
namespace {

enum class Kind : std::uint8_t { role = 1, group = 2, meeting = 3 };
enum class PointTag : std::uint8_t { reader = 1, place = 2 };

using Out = coding::Writer<std::string>;

void put_card(Out& out, const CardId& card) {
  out.u8(static_cast<std::uint8_t>(card.size()));
  out.bytes(card.data(), card.size());
}
void put_name(Out& out, std::string_view name) {
  out.u8(static_cast<std::uint8_t>(name.size()));
  out.bytes(name.data(), name.size());
}
void put_point(Out& out, const rules::AccessPoint& point) {
  if (point.is_reader()) {
    out.u8(static_cast<std::uint8_t>(PointTag::reader));
    out.varint(point.reader.value);
  } else {
    out.u8(static_cast<std::uint8_t>(PointTag::place));
    out.varint(point.operator_id.value);
    out.varint(point.location);
  }
}
std::string start(Kind kind) {
  std::string value;
  Out out(value);
  out.u8(access_record_format_version);
  out.u8(static_cast<std::uint8_t>(kind));
  return value;
}

// Reads a body, remembering the first problem in words.
class Body {
 public:
  explicit Body(std::string_view value) : in_(value) {}
  bool failed() const { return !problem_.empty() || !in_.ok(); }
  std::string problem() const { return !problem_.empty() ? problem_ : coding::problem_text(in_.problem()); }
  void fail(std::string problem) {
    if (problem_.empty()) problem_ = std::move(problem);
  }
  std::uint8_t u8() { return in_.u8(); }
  std::uint64_t varint() { return in_.varint(); }
  std::int64_t svarint() { return coding::unzigzag<std::int64_t>(in_.varint()); }
  std::size_t count(std::size_t max) {
    const std::uint64_t n = in_.varint();
    if (n > max) fail("count " + std::to_string(n) + " over " + std::to_string(max));
    return failed() ? 0 : static_cast<std::size_t>(n);
  }
  CardId card() {
    const std::uint8_t size = in_.u8();
    if (size == 0 || size > CardId::bytes_max) fail("card of " + std::to_string(size) + " bytes");
    if (failed()) return {};
    const coding::ByteSpan bytes = in_.bytes(size);
    return failed() ? CardId() : CardId::from_bytes(bytes.data(), bytes.size());
  }
  std::string name() {
    const std::uint8_t size = in_.u8();
    if (failed()) return {};
    std::string text(in_.chars(size));
    if (!failed() && !access_name_valid(text)) fail("name '" + text + "' is not valid");
    return text;
  }
  rules::AccessPoint point() {
    rules::AccessPoint point;
    const std::uint8_t tag = in_.u8();
    if (tag == static_cast<std::uint8_t>(PointTag::reader)) {
      const std::uint64_t reader = in_.varint();
      if (reader == 0 || reader > UINT32_MAX) fail("reader " + std::to_string(reader));
      point.reader = ReaderId{static_cast<std::uint32_t>(reader)};
    } else if (tag == static_cast<std::uint8_t>(PointTag::place)) {
      const std::uint64_t operator_id = in_.varint();
      const std::uint64_t location = in_.varint();
      if (operator_id == 0 || operator_id > INT32_MAX || location > UINT32_MAX) fail("place " + std::to_string(operator_id) + "/" + std::to_string(location));
      point.operator_id = OperatorId{static_cast<std::uint32_t>(operator_id)};
      point.location = static_cast<std::uint32_t>(location);
    } else if (!failed()) {
      fail("point tag " + std::to_string(tag));
    }
    return point;
  }
  bool at_end() const { return in_.at_end(); }

 private:
  coding::Reader in_;
  std::string problem_;
};

// A count can never exceed the bytes left (each item takes at least one).
constexpr std::size_t items_max = 1u << 24;

bool sorted_distinct(const std::vector<CardId>& cards) {
  return std::adjacent_find(cards.begin(), cards.end(), [](const CardId& a, const CardId& b) { return !(a < b); }) == cards.end();
}

void read_admit(Body& body, rules::Admit& admit) {
  const std::uint8_t kind = body.u8();
  if (kind == static_cast<std::uint8_t>(rules::AdmitKind::category)) {
    admit.kind = rules::AdmitKind::category;
    const std::uint8_t category = body.u8();
    if (category < 1 || category > rider_category_count) body.fail("category " + std::to_string(category));
    admit.category = static_cast<RiderCategory>(category);
  } else if (kind == static_cast<std::uint8_t>(rules::AdmitKind::card)) {
    admit.kind = rules::AdmitKind::card;
    admit.card = body.card();
  } else if (kind == static_cast<std::uint8_t>(rules::AdmitKind::role)) {
    admit.kind = rules::AdmitKind::role;
    admit.role = body.name();
  } else if (!body.failed()) {
    body.fail("admit kind " + std::to_string(kind));
  }
  const std::size_t windows = body.count(items_max);
  for (std::size_t i = 0; i < windows && !body.failed(); ++i) {
    rules::WeeklyWindow window;
    window.days = body.u8();
    const std::uint64_t from = body.varint();
    const std::uint64_t to = body.varint();
    if (body.failed()) break;
    if (window.days == 0 || window.days > 0x7F || from >= to || to > rules::minutes_per_day) {
      body.fail("window days " + std::to_string(window.days) + " minutes " + std::to_string(from) + "-" + std::to_string(to));
    }
    window.from_minute = static_cast<std::uint16_t>(from);
    window.to_minute = static_cast<std::uint16_t>(to);
    admit.windows.push_back(window);
  }
}

}  // namespace

bool access_name_valid(std::string_view name) noexcept {
  if (name.empty() || name.size() > access_name_bytes_max) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

std::string access_role_key(std::string_view name) { return "role/" + std::string(name); }
std::string access_group_key(std::string_view name) { return "group/" + std::string(name); }
std::string access_meeting_key(std::string_view name) { return "meeting/" + std::string(name); }

std::string encode_access_role(const rules::Role& role) {
  std::string value = start(Kind::role);
  Out out(value);
  out.varint(role.cards.size());
  for (const CardId& card : role.cards) put_card(out, card);
  return value;
}

std::string encode_access_group(const rules::DoorGroup& group) {
  std::string value = start(Kind::group);
  Out out(value);
  out.varint(group.doors.size());
  for (const auto& door : group.doors) put_point(out, door);
  out.varint(group.admits.size());
  for (const rules::Admit& admit : group.admits) {
    out.u8(static_cast<std::uint8_t>(admit.kind));
    switch (admit.kind) {
      case rules::AdmitKind::category: out.u8(static_cast<std::uint8_t>(admit.category)); break;
      case rules::AdmitKind::card: put_card(out, admit.card); break;
      case rules::AdmitKind::role: put_name(out, admit.role); break;
    }
    out.varint(admit.windows.size());
    for (const rules::WeeklyWindow& window : admit.windows) {
      out.u8(window.days);
      out.varint(window.from_minute);
      out.varint(window.to_minute);
    }
  }
  return value;
}

std::string encode_access_meeting(const rules::Meeting& meeting) {
  std::string value = start(Kind::meeting);
  Out out(value);
  put_point(out, meeting.room);
  out.varint(coding::zigzag<std::int64_t>(meeting.start));
  out.varint(coding::zigzag<std::int64_t>(meeting.end));
  out.varint(meeting.cards.size());
  for (const CardId& card : meeting.cards) put_card(out, card);
  out.varint(meeting.roles.size());
  for (const std::string& role : meeting.roles) put_name(out, role);
  return value;
}

Status decode_access_record(std::string_view key, std::string_view value, rules::AccessLists& lists) {
  const std::size_t slash = key.find('/');
  const std::string_view kind_text = slash == std::string_view::npos ? key : key.substr(0, slash);
  const std::string name(slash == std::string_view::npos ? std::string_view() : key.substr(slash + 1));
  auto corrupt = [&](const std::string& problem) {
    return Status::corruption("access record '" + std::string(key) + "': " + problem);
  };
  Kind kind;
  if (kind_text == "role") {
    kind = Kind::role;
  } else if (kind_text == "group") {
    kind = Kind::group;
  } else if (kind_text == "meeting") {
    kind = Kind::meeting;
  } else {
    return corrupt("unknown kind '" + std::string(kind_text) + "'");
  }
  if (!access_name_valid(name)) return corrupt("name is not valid");
  Body body(value);
  const std::uint8_t format = body.u8();
  const std::uint8_t stored_kind = body.u8();
  if (body.failed()) return corrupt(body.problem());
  if (format != access_record_format_version) return corrupt("format " + std::to_string(format) + ", not 1");
  if (stored_kind != static_cast<std::uint8_t>(kind)) return corrupt("kind " + std::to_string(stored_kind) + " in a " + std::string(kind_text) + " key");
  switch (kind) {
    case Kind::role: {
      rules::Role role{name, {}};
      const std::size_t count = body.count(items_max);
      for (std::size_t i = 0; i < count && !body.failed(); ++i) role.cards.push_back(body.card());
      if (!body.failed() && !sorted_distinct(role.cards)) body.fail("cards not sorted and distinct");
      if (!body.failed()) lists.roles.push_back(std::move(role));
      break;
    }
    case Kind::group: {
      rules::DoorGroup group{name, {}, {}};
      const std::size_t doors = body.count(items_max);
      for (std::size_t i = 0; i < doors && !body.failed(); ++i) group.doors.push_back(body.point());
      const std::size_t admits = body.count(items_max);
      for (std::size_t i = 0; i < admits && !body.failed(); ++i) read_admit(body, group.admits.emplace_back());
      if (!body.failed()) lists.groups.push_back(std::move(group));
      break;
    }
    case Kind::meeting: {
      rules::Meeting meeting;
      meeting.name = name;
      meeting.room = body.point();
      meeting.start = body.svarint();
      meeting.end = body.svarint();
      if (!body.failed() && meeting.start >= meeting.end) body.fail("window end before its start");
      const std::size_t cards = body.count(items_max);
      for (std::size_t i = 0; i < cards && !body.failed(); ++i) meeting.cards.push_back(body.card());
      const std::size_t roles = body.count(items_max);
      for (std::size_t i = 0; i < roles && !body.failed(); ++i) meeting.roles.push_back(body.name());
      if (!body.failed() && !sorted_distinct(meeting.cards)) body.fail("invited cards not sorted and distinct");
      if (!body.failed()) lists.meetings.push_back(std::move(meeting));
      break;
    }
  }
  if (body.failed()) return corrupt(body.problem());
  if (!body.at_end()) return corrupt("trailing bytes");
  return Status::ok();
}

Result<rules::AccessLists> read_access_lists(const ledger::Snapshot& snapshot) {
  rules::AccessLists lists;
  Status decoded;
  Status scanned = snapshot.scan_records(ledger::RecordSpace::access, "", [&](std::string_view key, std::string_view value) {
    decoded = decode_access_record(key, value, lists);
    return decoded.is_ok();
  });
  if (!scanned) return scanned;
  if (!decoded) return decoded;
  auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
  std::sort(lists.roles.begin(), lists.roles.end(), by_name);
  std::sort(lists.groups.begin(), lists.groups.end(), by_name);
  std::sort(lists.meetings.begin(), lists.meetings.end(), by_name);
  return lists;
}

}  // namespace citycard::engine
