// The pure access check (rules/access_lists.h) through rate(): window edges
// (from inclusive, to exclusive), weekdays, local time across UTC midnight,
// a door named by reader, overlapping groups, a meeting's window edges, and
// the refusal leaving no postings (not even a month's points allotment).
#include "rules_test_support.h"

using namespace citycard;
using namespace citycard::rules;
using namespace citycard::rules::testing;

namespace {

const CardId member = *CardId::parse("04B0000000000001");
const CardId other = *CardId::parse("04B0000000000002");

AccessBook book() {
  AccessLists lists;
  lists.roles.push_back(Role{"staff", {member}});
  DoorGroup hall{"hall", {AccessPoint{ReaderId{}, OperatorId{511}, 5100}}, {}};
  Admit staff;
  staff.kind = AdmitKind::role;
  staff.role = "staff";
  staff.windows = {WeeklyWindow{0x1F, 7 * 60, 19 * 60}};  // mon-fri 07:00-19:00
  hall.admits.push_back(staff);
  DoorGroup night{"night", {AccessPoint{ReaderId{9}, OperatorId{}, 0}}, {}};  // by reader
  Admit seniors;
  seniors.kind = AdmitKind::category;
  seniors.category = RiderCategory::senior;
  seniors.windows = {WeeklyWindow{0x7F, 22 * 60, 24 * 60}, WeeklyWindow{0x7F, 0, 2 * 60}};
  night.admits.push_back(seniors);
  lists.groups = {hall, night};
  Meeting council;
  council.name = "council";
  council.room = AccessPoint{ReaderId{}, OperatorId{512}, 5200};
  council.start = days_from_civil(2026, 3, 2) * minutes_per_day + 14 * 60;
  council.end = council.start + 120;
  council.cards = {other};
  lists.meetings = {council};
  return AccessBook(std::move(lists));
}

Rating identify(const AccessBook& access, const CardId& card, RiderCategory category, std::uint32_t operator_id,
                std::uint32_t location, EventTime time, std::uint32_t reader = 7) {
  Tap tap = make_tap(Mode::identify, operator_id, time, location);
  tap.card = card;
  tap.id.reader = ReaderId{reader};
  CardState state = testing::card(category, 0);
  state.points_month = 0;
  return rate(city_rules(), state, tap, &access);
}

}  // namespace

TEST_CASE("access check: a weekly window admits from its start and not at its end") {
  const AccessBook access = book();
  // 2026-03-02 is a Monday.
  CHECK(identify(access, member, RiderCategory::general, 511, 5100, taipei(2026, 3, 2, 6, 59)).refusal ==
        RefusalReason::access_outside_window);
  CHECK(identify(access, member, RiderCategory::general, 511, 5100, taipei(2026, 3, 2, 7, 0)).approved());
  CHECK(identify(access, member, RiderCategory::general, 511, 5100, taipei(2026, 3, 2, 18, 59)).approved());
  CHECK(identify(access, member, RiderCategory::general, 511, 5100, taipei(2026, 3, 2, 19, 0)).refusal ==
        RefusalReason::access_outside_window);
  CHECK(identify(access, member, RiderCategory::general, 511, 5100, taipei(2026, 3, 7, 10, 0)).refusal ==
        RefusalReason::access_outside_window);  // Saturday
  CHECK(identify(access, other, RiderCategory::general, 511, 5100, taipei(2026, 3, 2, 10, 0)).refusal ==
        RefusalReason::access_not_admitted);
  CHECK(identify(access, other, RiderCategory::general, 511, 5101, taipei(2026, 3, 2, 10, 0)).approved());  // no list
}

TEST_CASE("access check: a door named by its reader, local windows across UTC midnight") {
  const AccessBook access = book();
  // 23:30 and 01:30 Taipei are 15:30 and 17:30 UTC: the local clock decides.
  CHECK(identify(access, other, RiderCategory::senior, 511, 1, taipei(2026, 3, 2, 23, 30), 9).approved());
  CHECK(identify(access, other, RiderCategory::senior, 511, 1, taipei(2026, 3, 3, 1, 30), 9).approved());
  CHECK(identify(access, other, RiderCategory::senior, 511, 1, taipei(2026, 3, 3, 2, 0), 9).refusal ==
        RefusalReason::access_outside_window);
  CHECK(identify(access, other, RiderCategory::student, 511, 1, taipei(2026, 3, 2, 23, 30), 9).refusal ==
        RefusalReason::access_not_admitted);
}

TEST_CASE("access check: a meeting's sign-in window and invitees") {
  const AccessBook access = book();
  CHECK(identify(access, other, RiderCategory::general, 512, 5200, taipei(2026, 3, 2, 13, 59)).refusal ==
        RefusalReason::access_outside_window);
  CHECK(identify(access, other, RiderCategory::general, 512, 5200, taipei(2026, 3, 2, 14, 0)).approved());
  CHECK(identify(access, member, RiderCategory::general, 512, 5200, taipei(2026, 3, 2, 15, 0)).refusal ==
        RefusalReason::access_not_admitted);
  CHECK(identify(access, other, RiderCategory::general, 512, 5200, taipei(2026, 3, 2, 16, 0)).refusal ==
        RefusalReason::access_outside_window);
  CHECK(identify(access, member, RiderCategory::general, 512, 5201, taipei(2026, 3, 2, 15, 0)).approved());  // another room
}

TEST_CASE("access check: a refusal moves nothing, and without lists nothing is checked") {
  const AccessBook access = book();
  const Rating refused = identify(access, member, RiderCategory::senior, 511, 5100, taipei(2026, 3, 7, 10, 0));
  CHECK_FALSE(refused.approved());
  CHECK(refused.posting_count == 0);  // the month's points allotment is not posted either
  const Rating allotted = identify(access, member, RiderCategory::senior, 511, 5100, taipei(2026, 3, 2, 10, 0));
  CHECK(allotted.approved());
  CHECK(allotted.posting_count > 0);
  const AccessBook none{AccessLists{}};
  CHECK(identify(none, other, RiderCategory::general, 511, 5100, taipei(2026, 3, 7, 10, 0)).approved());
}
