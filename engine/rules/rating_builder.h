// Internal to rating: collects postings and notes into a Rating while keeping
// the card's wallet and points in step with them. Not part of the public API.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <new>

#include "calendar.h"
#include "citycard/programme.h"
#include "rating.h"

namespace citycard::rules {

// Programmer errors in rating are checked in every build (NDEBUG or not):
// a wrong posting must never reach the ledger.
[[noreturn]] inline void rules_check_failed(const char* condition, const char* file, int line) noexcept {
  std::fprintf(stderr, "citycard rules: check failed: %s (%s:%d)\n", condition, file, line);
  std::abort();
}
#define CITYCARD_RULES_CHECK(condition) \
  ((condition) ? static_cast<void>(0) : ::citycard::rules::rules_check_failed(#condition, __FILE__, __LINE__))

// Whether a wallet debit may leave the wallet below zero.
enum class WalletCheck : std::uint8_t {
  must_cover = 1,     // refuse (insufficient_balance) unless the tap is offline
  service_given = 2,  // the ride was already given (missing tap-out): charge anyway
};

class RatingBuilder {
 public:
  RatingBuilder(const RuleSet& rule_set, const CardState& input, const Tap& tap, Rating& out) noexcept
      : rules(rule_set), tap(tap), input(input), out(out), state(out.state),
        calendar(rule_set.utc_offset_minutes, rule_set.business_day_start_minutes) {}

  const RuleSet& rules;
  const Tap& tap;
  const CardState& input;
  Rating& out;
  CardState& state;
  LocalCalendar calendar;
  const AccessBook* access = nullptr;  // identity taps at doors and meeting rooms (access_lists.h)

  // Records a refusal; returns false so callers can `return refuse(...)`.
  bool refuse(RefusalReason reason) noexcept {
    if (out.refusal == RefusalReason::none) out.refusal = reason;
    note(NoteCode::refused, no_index, static_cast<std::int64_t>(reason));
    return false;
  }

  void note(NoteCode code, Index rule = no_index, std::int64_t a = 0, std::int64_t b = 0, std::int64_t c = 0) noexcept {
    if (out.note_count == rating_notes_max) {
      out.notes_truncated = true;
      return;
    }
    out.notes[out.note_count++] = Note{code, rule, a, b, c};
  }

  // Adds one posting and moves the card's mirrored balances with it.
  // Amounts of zero are skipped; negative amounts are a programming error.
  void post(AccountRole debit, AccountRole credit, OperatorId operator_id, Asset asset, std::int64_t amount_minor,
            TransferCode code, std::uint16_t flags = transfer_flag_none) noexcept {
    CITYCARD_RULES_CHECK(amount_minor >= 0);
    CITYCARD_RULES_CHECK(debit != credit);
    if (amount_minor == 0) return;
    CITYCARD_RULES_CHECK(out.posting_count < rating_postings_max);
    if (tap.offline) flags |= transfer_flag_offline;
    new (&out.postings[out.posting_count++]) Posting{debit, credit, operator_id, asset, amount_minor, code, flags};
    auto apply = [&](AccountRole role, std::int64_t delta) {
      if (role == AccountRole::card_wallet) state.wallet_minor += delta;
      if (role == AccountRole::card_points) state.points += delta;
      if (role == AccountRole::card_bonus_points) state.bonus_points += delta;
    };
    apply(debit, -amount_minor);
    apply(credit, amount_minor);
  }

  // Makes sure the wallet can pay `needed_minor` (auto top-up first when the
  // card has it). Returns false (refused) when it cannot, unless the service
  // was already given; *flags receives the flags wallet debits must carry.
  bool fund_wallet(std::int64_t needed_minor, WalletCheck check, std::uint16_t* flags) noexcept;
  // Tops the wallet up from the co-branded credit card when paying
  // `needed_minor` would leave it below the rule set's threshold.
  // The card's threshold, amount and daily limit when it has its own, else
  // the rule set's; never past the wallet's maximum or the day's limit.
  void auto_top_up(std::int64_t needed_minor) noexcept;
  bool auto_top_up_eligible() const noexcept;
  // The most auto top-ups could add for this tap (whole units, within the
  // wallet's maximum and the day's limit); 0 for a card without it.
  std::int64_t auto_top_up_room() const noexcept;
  // Moves the wallet's day counters to business day `day` (both from zero)
  // when it is later than the one they count.
  void start_wallet_day(std::int32_t day) noexcept;

  // Points first, at a venue, railway or bike: how many of the card's points
  // pay toward `price_minor` (whole points of points.twd_minor_per_point, at
  // most points_max; 0 = no limit), and their redemption: card_points ->
  // points_redeemed, and `programme` pays the operator their TWD.
  std::int64_t points_to_spend(std::int64_t price_minor, std::int64_t points_max) const noexcept;
  void redeem_points(OperatorId operator_id, std::int64_t points, Programme programme) noexcept;

  // Wallet -> operator (fare or payment) and refunds back.
  void charge_wallet(OperatorId operator_id, std::int64_t amount_minor, TransferCode code, std::uint16_t flags) noexcept {
    post(AccountRole::card_wallet, AccountRole::operator_payable, operator_id, Asset::twd, amount_minor, code, flags);
    out.fare_minor += amount_minor;
  }
  void refund_wallet(OperatorId operator_id, std::int64_t amount_minor) noexcept {
    post(AccountRole::operator_payable, AccountRole::card_wallet, operator_id, Asset::twd, amount_minor,
         TransferCode::fare_refund);
    out.fare_minor -= amount_minor;
  }
  // City programme -> operator, from the programme's budget, and back (a
  // programme refunded what it overpaid). Both carry the programme's code.
  void pay_programme(OperatorId operator_id, Programme programme, std::int64_t amount_minor) noexcept {
    post(programme_budget_role(programme), AccountRole::operator_payable, operator_id, Asset::twd, amount_minor,
         programme_code(programme));
  }
  void refund_programme(OperatorId operator_id, Programme programme, std::int64_t amount_minor) noexcept {
    post(AccountRole::operator_payable, programme_budget_role(programme), operator_id, Asset::twd, amount_minor,
         programme_code(programme));
  }
};

// Percent off with the rule's rounding, applied to the rider's price.
constexpr std::int64_t apply_percent_off(std::int64_t price_minor, std::int32_t percent_off_bp, Rounding rounding) noexcept {
  const std::int64_t numerator = price_minor * (10'000 - percent_off_bp);
  switch (rounding) {
    case Rounding::down: return floor_div(numerator, 10'000);
    case Rounding::up: return -floor_div(-numerator, 10'000);
    case Rounding::half_up: return floor_div(numerator + 5'000, 10'000);
  }
  return price_minor;
}
static_assert(apply_percent_off(25, 2000, Rounding::half_up) == 20);
static_assert(apply_percent_off(23, 2000, Rounding::half_up) == 18);   // 18.4
static_assert(apply_percent_off(22, 2000, Rounding::half_up) == 18);   // 17.6
static_assert(apply_percent_off(35, 5000, Rounding::half_up) == 18);   // 17.5 rounds up
static_assert(apply_percent_off(35, 5000, Rounding::down) == 17);

}  // namespace citycard::rules
