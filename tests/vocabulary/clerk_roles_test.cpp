// The role table (include/citycard/clerk.h), written out here the way the
// card office was told it works, so a change to the table shows up as a
// failing row.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "citycard/clerk.h"

using namespace citycard;

namespace {

constexpr ClerkAction all_actions[] = {
    ClerkAction::look_up,      ClerkAction::top_up,          ClerkAction::refund,         ClerkAction::card_status,
    ClerkAction::replace,      ClerkAction::card_issue,      ClerkAction::reader_manage,  ClerkAction::operator_add,
    ClerkAction::transfers_import, ClerkAction::audit_read,
    ClerkAction::settle_close, ClerkAction::reload_pki, ClerkAction::approve, ClerkAction::adjust,
    ClerkAction::rules_load, ClerkAction::records_retain, ClerkAction::access_manage};
constexpr ClerkRole all_roles[] = {ClerkRole::viewer, ClerkRole::clerk, ClerkRole::supervisor, ClerkRole::auditor,
                                   ClerkRole::settlement};

}  // namespace

TEST_CASE("roles: each role may do exactly its actions and is refused every other") {
  using A = ClerkAction;
  const std::set<A> counter = {A::look_up, A::top_up, A::refund, A::card_status, A::replace, A::card_issue,
                                  A::adjust};
  std::map<ClerkRole, std::set<A>> allowed = {
      {ClerkRole::viewer, {A::look_up}},
      {ClerkRole::clerk, counter},
      {ClerkRole::supervisor, {}},
      {ClerkRole::auditor, {A::look_up, A::audit_read}},
      {ClerkRole::settlement, {A::look_up, A::settle_close, A::records_retain}},
  };
  allowed[ClerkRole::supervisor] = counter;
  allowed[ClerkRole::supervisor].insert(
      {A::reader_manage, A::operator_add, A::transfers_import, A::reload_pki, A::approve, A::rules_load, A::records_retain,
       A::access_manage});
  for (ClerkRole role : all_roles) {
    for (ClerkAction action : all_actions) {
      INFO(clerk_role_name(role) << " / " << clerk_action_name(action));
      CHECK(role_allows(role, action) == (allowed[role].count(action) == 1));
    }
  }
}

TEST_CASE("roles: the issue's rules") {
  CHECK_FALSE(role_allows(ClerkRole::viewer, ClerkAction::top_up));
  for (ClerkRole role : all_roles) {
    INFO(clerk_role_name(role));
    CHECK(role_allows(role, ClerkAction::transfers_import) == (role == ClerkRole::supervisor));
    CHECK(role_allows(role, ClerkAction::settle_close) == (role == ClerkRole::settlement));
    // Four eyes: only a supervisor approves (and never his own: approvals.h).
    CHECK(role_allows(role, ClerkAction::approve) == (role == ClerkRole::supervisor));
    CHECK(role_allows(role, ClerkAction::rules_load) == (role == ClerkRole::supervisor));
    // Who opens which door is the supervisor's: a counter clerk only reads the lists.
    CHECK(role_allows(role, ClerkAction::access_manage) == (role == ClerkRole::supervisor));
    // The records' retention is end-of-day work, as the close is; a counter clerk never deletes records.
    CHECK(role_allows(role, ClerkAction::records_retain) ==
          (role == ClerkRole::supervisor || role == ClerkRole::settlement));
  }
}

TEST_CASE("roles: names and clerk names") {
  for (ClerkRole role : all_roles) CHECK(parse_clerk_role(clerk_role_name(role)) == role);
  CHECK_FALSE(parse_clerk_role("boss"));
  CHECK_FALSE(parse_clerk_role("Supervisor"));
  CHECK(valid_clerk_name("mei-ling.chen_2"));
  CHECK(valid_clerk_name("a"));
  CHECK_FALSE(valid_clerk_name(""));
  CHECK_FALSE(valid_clerk_name("-x"));
  CHECK_FALSE(valid_clerk_name("Bob"));
  CHECK_FALSE(valid_clerk_name("a b"));
  CHECK_FALSE(valid_clerk_name("../ca"));
  CHECK_FALSE(valid_clerk_name(std::string(33, 'a')));
}
