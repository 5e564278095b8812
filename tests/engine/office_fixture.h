// Test helper: the group builder as the card office uses it on a stopped
// ledger (engine/cli/ledger_card_actions.cpp), on a real ledger, without
// threads: build a group, post it, read the audit trail back.
#pragma once

#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

#include "audit_entry.h"
#include "card_book.h"
#include "engine_fixture.h"
#include "group_builder.h"

namespace citycard::engine::testing {

struct OfficeDesk {
  OfficeDesk(ledger::Ledger& ledger, std::int64_t four_eyes_minor)
      : ledger(ledger),
        log(std::tmpfile()),
        book(ledger, log, 64, false),
        builder(BuildContext{ledger, *ledger::find_system_accounts(ledger), rules::RuleBook::single(city_rules()), log, nullptr, false, nullptr,
                             four_eyes_minor},
                book) {}

  // A bus boarding by `card` on bus_reader, rated and posted: a tap an
  // adjustment can name.
  TapId ride(const std::string& card, std::uint64_t sequence) {
    Draft tap;
    tap.tap = make_tap(bus_reader, sequence, card, Mode::bus_board, 101, monday_8am_us);
    tap.key = IdempotencyKey::for_tap(tap.tap.tap.id);
    builder.rate_tap(tap);
    REQUIRE(tap.decision.outcome == protocol::Outcome::approved);
    post(tap.group);
    return tap.tap.tap.id;
  }
  // Posts one group; it must post, or be a duplicate of one that did.
  ledger::GroupOutcome post(const ledger::PostingGroup& group) {
    auto posted = ledger.post({group});
    REQUIRE(posted);
    INFO(posted->front().reason.to_string());
    REQUIRE((posted->front().posted || posted->front().duplicate));
    return posted->front();
  }
  AuditEntry audit(const std::string& key) {
    auto body = ledger.record(ledger::RecordSpace::audit, key);
    INFO(key);
    REQUIRE(body);
    return audit_entry_from_body(key, *body);
  }

  ledger::Ledger& ledger;
  Log log;
  CardBook book;
  GroupBuilder builder;
};

inline bool says(const AdminResult& result, const std::string& part) {
  INFO(result.status.to_string());
  return result.status.message().find(part) != std::string::npos;
}

}  // namespace citycard::engine::testing
