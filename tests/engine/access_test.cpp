// Access lists (docs/access.md) through the pipeline on a real ledger: a
// door group's role, category and named card with their windows, a door
// without a list, a blocked card at an open door, a meeting before, in and
// after its window, by invitees and not; the lists survive a restart and a
// change through the AccessDesk reaches the shards. The door log and the
// attendance are checked against the taps this test sent and the answers
// it got, counted here.
#include <algorithm>
#include <map>
#include <set>

#include "access_desk.h"
#include "access_log.h"
#include "engine_fixture.h"
#include "ledger/readers.h"

namespace citycard::engine::testing {
namespace {

constexpr std::int64_t minute_us = 60LL * 1'000'000;
constexpr std::uint32_t door_reader = 40;     // City Hall doors (511)
constexpr std::uint32_t meeting_reader = 41;  // meeting rooms (512)
const std::string staff = "04A0000000000001";
const std::string staff_blocked = "04A0000000000002";
const std::string senior = "04A0000000000003";
const std::string stranger = "04A0000000000004";
const std::string visitor = "04A0000000000005";

rules::LocalCalendar city_calendar() {
  return rules::LocalCalendar(city_rules().utc_offset_minutes, city_rules().business_day_start_minutes);
}

OfficeActor actor(std::uint64_t n) {
  OfficeActor who;
  who.clerk = "test-supervisor";
  who.role = "supervisor";
  who.time = EventTime{monday_8am_us - 3'600'000'000LL};
  who.key = IdempotencyKey{Origin::operator_action, 7, n};
  return who;
}

AccessWorld world_of(ledger::Ledger& ledger) {
  AccessWorld world;
  world.rule_set = &city_rules();
  world.reader_registered = [&ledger](ReaderId id) { return ledger::load_reader(ledger, id).has_value(); };
  world.card_issued = [&ledger](const CardId& card) { return ledger.card(card).has_value(); };
  return world;
}

// A change on the stopped ledger, as `citycard access` does it.
void change(ledger::Ledger& ledger, const nlohmann::json& request, std::uint64_t n) {
  auto lists = read_access_lists(*ledger.snapshot());
  REQUIRE(lists);
  auto plan = plan_access_change(*lists, request, world_of(ledger));
  INFO(plan.status().to_string());
  REQUIRE(plan);
  REQUIRE(write_access_change(ledger, *plan, actor(n)));
}

struct Sent {
  std::string card;
  std::int64_t event_us = 0;
  bool approved = false;
  RefusalReason reason = RefusalReason::none;
};

struct Scenario {
  TempDir dir{"engine-access"};
  std::unique_ptr<ledger::Ledger> ledger = make_ledger(dir.path / "ledger");
  std::uint64_t sequence = 0;
  std::vector<Sent> at_door;     // at 511/5100
  std::vector<Sent> at_room;     // at 512/5200

  Scenario() {
    register_reader(*ledger, door_reader, 511, ReaderKind::identity_terminal);
    register_reader(*ledger, meeting_reader, 512, ReaderKind::identity_terminal);
    issue_card(*ledger, staff, 100);
    issue_card(*ledger, staff_blocked, 100);
    issue_card(*ledger, senior, 100, RiderCategory::senior);
    issue_card(*ledger, stranger, 100);
    issue_card(*ledger, visitor, 100);
    change(*ledger, {{"action", "role_add"}, {"name", "staff"}, {"cards", {staff, staff_blocked}}}, 1);
    change(*ledger,
           {{"action", "group_add"},
            {"name", "city-hall"},
            {"doors", {"511/5100"}},
            {"admit", {"role:staff@mon-fri/07:00-19:00", "category:senior@sat/09:00-12:00", "card:" + visitor}}},
           2);
    change(*ledger,
           {{"action", "meeting_add"},
            {"name", "council"},
            {"room", "512/5200"},
            {"from", "2026-03-02T14:00"},
            {"to", "2026-03-02T16:00"},
            {"invite", {"role:staff", "card:" + senior}}},
           3);
  }

  protocol::DecisionRecord tap(Pipeline& pipeline, std::uint32_t reader, std::uint32_t operator_id, std::uint32_t location,
                               const std::string& card, std::int64_t event_us) {
    auto decision = pipeline.tap(make_tap(reader, ++sequence, card, Mode::identify, operator_id, event_us, location));
    Sent sent{card, event_us, decision.outcome == protocol::Outcome::approved, decision.reason};
    if (operator_id == 511 && location == 5100) at_door.push_back(sent);
    if (operator_id == 512 && location == 5200) at_room.push_back(sent);
    return decision;
  }
  RefusalReason door(Pipeline& pipeline, const std::string& card, std::int64_t event_us, std::uint32_t location = 5100) {
    return tap(pipeline, door_reader, 511, location, card, event_us).reason;
  }
  RefusalReason room(Pipeline& pipeline, const std::string& card, std::int64_t event_us) {
    return tap(pipeline, meeting_reader, 512, 5200, card, event_us).reason;
  }
};

// monday_8am_us is Monday 2026-03-02 08:00 Taipei.
constexpr std::int64_t monday_8pm_us = monday_8am_us + 12 * 60 * minute_us;
constexpr std::int64_t monday_2pm_us = monday_8am_us + 6 * 60 * minute_us;

}  // namespace

TEST_CASE("access: a door group admits its role, category and named card in their windows") {
  Scenario s;
  Pipeline pipeline(*s.ledger);
  CHECK(s.door(pipeline, staff, monday_8am_us) == RefusalReason::none);                        // role, inside mon-fri 07-19
  CHECK(s.door(pipeline, staff, monday_8pm_us) == RefusalReason::access_outside_window);       // role, after 19:00
  CHECK(s.door(pipeline, senior, monday_8am_us) == RefusalReason::access_outside_window);      // category, Saturdays only
  const std::int64_t saturday_10am_us = monday_8am_us + 5 * 24 * 60 * minute_us + 2 * 60 * minute_us;
  CHECK(s.door(pipeline, senior, saturday_10am_us) == RefusalReason::none);
  CHECK(s.door(pipeline, stranger, monday_8am_us) == RefusalReason::access_not_admitted);      // named nowhere
  CHECK(s.door(pipeline, visitor, monday_8pm_us + 2 * 60 * minute_us) == RefusalReason::none); // named card, any time
  CHECK(s.door(pipeline, stranger, monday_8am_us, 5101) == RefusalReason::none);               // a door without a list
}

TEST_CASE("access: a blocked card is refused at an open door and at a door it is admitted to") {
  Scenario s;
  Pipeline pipeline(*s.ledger);
  AdminCommand block;
  block.action = AdminAction::set_status;
  block.status = CardStatus::blocked;
  block.card = *CardId::parse(staff_blocked);
  block.key = IdempotencyKey{Origin::operator_action, 8, 1};
  block.time = EventTime{monday_8am_us};
  REQUIRE(pipeline.admin(block).status);
  CHECK(s.door(pipeline, staff_blocked, monday_8am_us) == RefusalReason::card_blocked);
  CHECK(s.door(pipeline, staff_blocked, monday_8am_us, 5101) == RefusalReason::card_blocked);
  CHECK(s.room(pipeline, staff_blocked, monday_2pm_us + 30 * minute_us) == RefusalReason::card_blocked);
}

TEST_CASE("access: a meeting takes invitees inside its sign-in window only") {
  Scenario s;
  Pipeline pipeline(*s.ledger);
  CHECK(s.room(pipeline, staff, monday_2pm_us - 60 * minute_us) == RefusalReason::access_outside_window);  // before
  CHECK(s.room(pipeline, senior, monday_2pm_us + 30 * minute_us) == RefusalReason::none);                  // invited card
  CHECK(s.room(pipeline, stranger, monday_2pm_us + 40 * minute_us) == RefusalReason::access_not_admitted); // not invited
  CHECK(s.room(pipeline, staff, monday_2pm_us + 50 * minute_us) == RefusalReason::none);                   // role member
  CHECK(s.room(pipeline, staff, monday_2pm_us + 60 * minute_us) == RefusalReason::none);                   // again
  CHECK(s.room(pipeline, senior, monday_2pm_us + 120 * minute_us) == RefusalReason::access_outside_window); // at the end: closed

  // Attendance, counted here from what was sent and answered.
  std::map<std::string, std::int64_t> first;
  std::vector<Sent> refused;
  for (const Sent& sent : s.at_room) {
    const bool inside = sent.event_us >= monday_2pm_us && sent.event_us < monday_2pm_us + 120 * minute_us;
    if (sent.approved && inside && first.count(sent.card) == 0) first[sent.card] = sent.event_us;
    if (!sent.approved) refused.push_back(sent);
  }
  auto lists = read_access_lists(*s.ledger->snapshot());
  REQUIRE(lists);
  auto attendance = read_attendance(*s.ledger->snapshot(), *lists, "council", city_calendar());
  REQUIRE(attendance);
  REQUIRE(attendance->signed_in.size() == first.size());
  for (const SignIn& sign_in : attendance->signed_in) {
    INFO(sign_in.card.to_string());
    REQUIRE(first.count(sign_in.card.to_string()) == 1);
    CHECK(sign_in.first.unix_us == first[sign_in.card.to_string()]);
    CHECK(sign_in.invited);
  }
  REQUIRE(attendance->absent.size() == 1);   // staff's blocked colleague never came
  CHECK(attendance->absent[0].to_string() == staff_blocked);
  REQUIRE(attendance->refused.size() == refused.size());
  for (std::size_t i = 0; i < refused.size(); ++i) {
    CHECK(attendance->refused[i].tap.card.to_string() == refused[i].card);
    CHECK(attendance->refused[i].reason == refused[i].reason);
  }
  CHECK_FALSE(read_attendance(*s.ledger->snapshot(), *lists, "no-such-meeting", city_calendar()));
}

TEST_CASE("access: the lists survive a restart, and a change through the desk reaches the shards at once") {
  Scenario s;
  {
    Pipeline pipeline(*s.ledger);
    CHECK(s.door(pipeline, stranger, monday_8am_us) == RefusalReason::access_not_admitted);
  }
  Pipeline pipeline(*s.ledger);
  CHECK(s.door(pipeline, stranger, monday_8am_us + minute_us) == RefusalReason::access_not_admitted);
  AccessDesk desk(*pipeline.engine, *s.ledger);
  auto added = desk.change({{"action", "role_add"}, {"name", "staff"}, {"cards", {stranger}}}, actor(10));
  INFO(added.status().to_string());
  REQUIRE(added);
  CHECK(s.door(pipeline, stranger, monday_8am_us + 2 * minute_us) == RefusalReason::none);
  REQUIRE(desk.change({{"action", "group_remove"}, {"name", "city-hall"}}, actor(11)));
  CHECK(s.door(pipeline, senior, monday_8am_us + 3 * minute_us) == RefusalReason::none);  // no list: any active card
  // A bad change names its problem and leaves the lists as they were.
  auto bad = desk.change({{"action", "meeting_add"}, {"name", "late"}, {"room", "512/5200"}, {"from", "2026-03-02T16:00"},
                          {"to", "2026-03-02T15:00"}}, actor(12));
  REQUIRE_FALSE(bad);
  CHECK(bad.status().message().find("ends") != std::string::npos);
  CHECK(pipeline.engine->access()->lists().meetings.size() == 1);
}

TEST_CASE("access: the door log is every tap at the door that day, in time order") {
  Scenario s;
  Pipeline pipeline(*s.ledger);
  s.door(pipeline, stranger, monday_8am_us + 5 * minute_us);
  s.door(pipeline, staff, monday_8am_us);
  s.door(pipeline, staff, monday_8pm_us);
  s.door(pipeline, visitor, monday_8am_us + minute_us, 5101);  // another door
  s.door(pipeline, staff, monday_8am_us + 24 * 60 * minute_us); // the next day
  std::vector<Sent> expected;
  const std::int32_t monday = city_calendar().business_day(EventTime{monday_8am_us});
  for (const Sent& sent : s.at_door) {
    if (city_calendar().business_day(EventTime{sent.event_us}) == monday) expected.push_back(sent);
  }
  std::sort(expected.begin(), expected.end(), [](const Sent& a, const Sent& b) { return a.event_us < b.event_us; });
  auto log = read_door_log(*s.ledger->snapshot(), *parse_access_point("511/5100"), monday);
  REQUIRE(log);
  REQUIRE(log->size() == expected.size());
  REQUIRE(expected.size() == 3);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK((*log)[i].tap.card.to_string() == expected[i].card);
    CHECK((*log)[i].tap.event_time.unix_us == expected[i].event_us);
    CHECK(((*log)[i].outcome == protocol::Outcome::approved) == expected[i].approved);
    CHECK((*log)[i].reason == expected[i].reason);
  }
  auto by_reader = read_door_log(*s.ledger->snapshot(), *parse_access_point("reader:40"), monday);
  REQUIRE(by_reader);
  CHECK(by_reader->size() == 4);  // both doors of that reader
}

TEST_CASE("access: bad changes are refused naming the problem, and nothing is written") {
  Scenario s;
  auto before = read_access_lists(*s.ledger->snapshot());
  REQUIRE(before);
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {{{"action", "role_add"}, {"name", "staff"}, {"cards", {"XYZ"}}}, "hex"},
      {{{"action", "role_add"}, {"name", "staff"}, {"cards", {staff}}}, "already in role"},
      {{{"action", "role_add"}, {"name", "Bad Name"}, {"cards", {staff}}}, "name"},
      {{{"action", "role_add"}, {"name", "guests"}, {"cards", {"04FFFFFFFFFFFF"}}}, "not issued"},
      {{{"action", "group_add"}, {"name", "city-hall"}, {"doors", {"511/5100"}}, {"admit", {"category:senior"}}}, "exists"},
      {{{"action", "group_add"}, {"name", "g2"}, {"doors", {"601/1"}}, {"admit", {"category:senior"}}}, "kind pool"},
      {{{"action", "group_add"}, {"name", "g2"}, {"doors", {"reader:999"}}, {"admit", {"category:senior"}}}, "unknown reader"},
      {{{"action", "group_add"}, {"name", "g2"}, {"doors", {"511/1"}}, {"admit", {"role:nobody"}}}, "unknown role"},
      {{{"action", "group_add"}, {"name", "g2"}, {"doors", {"511/1"}}, {"admit", {"category:senior@mon/19:00-07:00"}}}, "ends before"},
      {{{"action", "group_add"}, {"name", "g2"}, {"doors", {"511/1"}}, {"admit", {"category:senior@funday/09:00-10:00"}}}, "unknown day"},
      {{{"action", "meeting_add"}, {"name", "m2"}, {"room", "512/1"}, {"from", "2026-03-02T16:00"}, {"to", "2026-03-02T15:00"}}, "ends"},
      {{{"action", "meeting_add"}, {"name", "m2"}, {"room", "512/1"}, {"from", "2026-02-30T16:00"}, {"to", "2026-03-02T17:00"}}, "date-time"},
      {{{"action", "role_remove"}, {"name", "staff"}}, "named by door group"},
      {{{"action", "uninvite"}, {"name", "council"}, {"invite", {"card:" + stranger}}}, "not invited"},
      {{{"action", "open_sesame"}, {"name", "x"}}, "unknown access action"},
  };
  for (const auto& [request, words] : cases) {
    INFO(request.dump());
    auto plan = plan_access_change(*before, request, world_of(*s.ledger));
    REQUIRE_FALSE(plan);
    CHECK(plan.status().message().find(words) != std::string::npos);
  }
  auto after = read_access_lists(*s.ledger->snapshot());
  REQUIRE(after);
  CHECK(*after == *before);
}

}  // namespace citycard::engine::testing

namespace citycard::engine::testing {

TEST_CASE("access records: each kind reads back as written, damage is corruption naming the key") {
  Scenario s;
  auto lists = read_access_lists(*s.ledger->snapshot());
  REQUIRE(lists);
  REQUIRE(lists->roles.size() == 1);
  REQUIRE(lists->groups.size() == 1);
  REQUIRE(lists->meetings.size() == 1);
  rules::AccessLists again;
  REQUIRE(decode_access_record(access_role_key("staff"), encode_access_role(lists->roles[0]), again));
  REQUIRE(decode_access_record(access_group_key("city-hall"), encode_access_group(lists->groups[0]), again));
  REQUIRE(decode_access_record(access_meeting_key("council"), encode_access_meeting(lists->meetings[0]), again));
  CHECK(again == *lists);
  CHECK(lists->groups[0].admits[0].windows.size() == 1);
  CHECK(admit_text(lists->groups[0].admits[0]) == "role:staff@mon-fri/07:00-19:00");
  CHECK(local_minute_text(lists->meetings[0].start) == "2026-03-02T14:00");

  const std::string group = encode_access_group(lists->groups[0]);
  const std::vector<std::pair<std::string, std::string>> damaged = {
      {access_group_key("city-hall"), group.substr(0, group.size() - 1)},      // truncated
      {access_group_key("city-hall"), group + "x"},                             // trailing bytes
      {access_group_key("city-hall"), "\x02" + group.substr(1)},               // another format
      {access_role_key("city-hall"), group},                                    // kind against the key
      {"door/city-hall", group},                                                // unknown kind
      {access_group_key("City Hall"), group},                                   // a name not valid
  };
  for (const auto& [key, value] : damaged) {
    INFO(key);
    rules::AccessLists into;
    Status decoded = decode_access_record(key, value, into);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.code() == StatusCode::corruption);
    CHECK(decoded.message().find(key) != std::string::npos);
  }
  // The engine does not start on a damaged record.
  REQUIRE(s.ledger->put_records({{ledger::RecordSpace::access, access_group_key("broken"), "\x01\x02\x05"}}, {}));
  Metrics metrics;
  Log log(std::tmpfile());
  auto started = Engine::start(*s.ledger, rules::RuleBook::single(city_rules()), Pipeline::quick_options(), metrics, log);
  REQUIRE_FALSE(started);
  CHECK(started.status().code() == StatusCode::corruption);
}

}  // namespace citycard::engine::testing
