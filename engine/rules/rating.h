// rate(): the pure rating function. Given the rule set, a card's state and a
// tap, it decides (approve or refuse with a reason the reader shows), lists
// the postings to make (by account role; the engine resolves roles to ledger
// accounts), and returns the card's next state.
//
// Contract:
//  - Pure: no I/O, no clock (time comes from tap.event_time), no globals, no
//    heap allocation. Same inputs, same Rating, byte for byte.
//  - A refused rating has no postings and state == the input state.
//  - Every posting moves a positive amount of one asset from its debit role to
//    its credit role, so a rating's postings sum to zero per asset.
//  - state.wallet_minor / state.points / state.bonus_points change by exactly
//    what the postings move into and out of card_wallet / card_points /
//    card_bonus_points.
//  - Offline taps (tap.offline): the reader already gave the service, so
//    balance, minimum-balance and card-status refusals do not apply; the
//    wallet may go negative. Such postings carry transfer_flag_offline, and
//    wallet debits also transfer_flag_service_given; deny_list is set when
//    the wallet ends negative or the card was not active.
//  - Monthly points are lazy: the first approved tap of a new local month
//    (by event time) expires the last month's leftover points and allots the
//    new month's, inside the same rating. Late taps never move the month back.
//    Bonus points expire lazily too: the first approved tap after their
//    expiry month (bonus_points.h).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "access_lists.h"
#include "card_state.h"
#include "citycard/tap.h"
#include "citycard/transfer.h"
#include "rule_set.h"
#include "rules_types.h"

namespace citycard::rules {

// One step of the reasoning, for `citycard rules explain`. The values'
// meaning depends on the code (see explain.cpp); rule is an index into the
// table the code names.
enum class NoteCode : std::uint8_t {
  points_expired = 1,       // a = points expired
  points_allotted,          // a = points, b = month key
  leg_price,                // rule = leg rule, a = rider price, b = operator fare, c = product
  discount,                 // rule = discount, a = before, b = after
  transfer,                 // rule = transfer rule, a = price before, b = price after
  cap_daily,                // a = price, b = charged, c = cap
  cap_monthly,              // a = price, b = charged, c = cap
  subsidy,                  // a = city pays operator
  buy_one_get_one,          // a = fare units beyond the first, paid by the city
  fare_held,                // a = held from the wallet, b = maximum fare for the rider
  journey_settled,          // a = final rider fare, b = already paid, c = difference (refund < 0)
  missing_tap_out,          // a = rider charged in total for the trip
  tap_out_after_limit,      // a = minutes since entry
  venue_price,              // rule = venue, a = price
  points_used,              // a = points, b = city pays operator
  wallet_part,              // a = paid from the wallet
  visit_reward,             // a = points, b = visit number
  bonus_points,             // rule = payment rule, a = bonus points earned, b = wallet part they were earned on
  auto_top_up,              // a = amount
  top_up,                   // a = amount
  payment,                  // rule = payment rule, a = amount
  bike_fare,                // a = minutes, b = charged periods, c = fare
  identity,                 // no money moves
  alight_recorded,          // alighting on a pay-at-boarding network: no money
  service_given,            // offline: charged although balance/status would refuse
  refused,                  // a = RefusalReason
  minimum_balance,          // a = required, b = balance
  auto_top_up_limited,      // a = wanted, b = given (0: none), c = the card's daily limit
  payment_limit,            // a = payment, b = already paid today, c = the daily limit
  bonus_cashback,           // a = bonus points, b = wallet part, c = cashback basis points
  bonus_points_used,        // a = bonus points spent, b = the bonus_points programme pays the shop
  bonus_points_expired,     // a = bonus points expired, b = their last valid month key
};

// Trivial on purpose: a Rating's note slots are not initialised until used.
struct Note {
  NoteCode code;
  Index rule;
  std::int64_t a;
  std::int64_t b;
  std::int64_t c;
};

struct Rating {
  // Slots past posting_count / note_count are never initialised: writing
  // 1 KB of defaults per tap would cost more than rating it.
  Rating() noexcept {}

  RefusalReason refusal = RefusalReason::none;
  std::uint32_t rule_set_version = 0;
  union {
    Posting postings[rating_postings_max];   // [0, posting_count) are set
  };
  std::uint8_t posting_count = 0;
  CardState state;                      // the card's next state (the input when refused)

  // What the reader shows.
  std::int64_t fare_minor = 0;          // the rider's charge for this tap from the wallet; a refund is negative
  std::int64_t points_spent = 0;
  std::int64_t bonus_points_spent = 0;
  std::int64_t balance_after_minor = 0;
  std::int64_t points_after = 0;

  // For the engine: put the card on the readers' deny list (debt or a
  // blocked card admitted offline).
  bool deny_list = false;

  std::array<Note, rating_notes_max> notes;   // [0, note_count) are set
  std::uint8_t note_count = 0;
  bool notes_truncated = false;

  bool approved() const noexcept { return refusal == RefusalReason::none; }
  std::span<const Posting> posting_list() const noexcept { return {postings, posting_count}; }
  std::span<const Note> note_list() const noexcept { return {notes.data(), note_count}; }
};

// `access`: the access lists identity taps at doors and meeting rooms are
// checked against (access_lists.h); null or applying nowhere: none are.
Rating rate(const RuleSet& rule_set, const CardState& state, const Tap& tap, const AccessBook* access = nullptr) noexcept;

// Net movement of one role and asset in a rating (credits - debits). Used by
// checks and tests; card_wallet's net equals the wallet change.
std::int64_t net_for_role(const Rating& rating, AccountRole role, Asset asset, OperatorId operator_id = {}) noexcept;

// What each city programme paid operators in a rating (payments less
// refunds, TWD), and their sum: the city's share of the tap.
ProgrammeAmounts programme_net(const Rating& rating) noexcept;
std::int64_t city_net(const Rating& rating) noexcept;

}  // namespace citycard::rules
