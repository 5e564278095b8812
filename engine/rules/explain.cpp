// Turns a Rating's notes into sentences using the rule set's names.
#include "explain.h"

#include <cstdio>

#include "calendar.h"

namespace citycard::rules {
namespace {

std::string twd(std::int64_t minor) { return std::to_string(minor) + " TWD"; }

std::string two_digits(std::int64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "%02lld", static_cast<long long>(value));
  return text;
}

std::string month_text(std::int64_t key) {
  return std::to_string(key / 12) + "-" + two_digits(key % 12 + 1);
}

std::string percent_text(std::int32_t basis_points) {
  std::string text = std::to_string(basis_points / 100);
  if (basis_points % 100 != 0) text += "." + two_digits(basis_points % 100);
  return text + "%";
}

const char* rounding_name(Rounding rounding) {
  switch (rounding) {
    case Rounding::down: return "down";
    case Rounding::half_up: return "half up";
    case Rounding::up: return "up";
  }
  return "?";
}

const char* role_name(AccountRole role) {
  switch (role) {
    case AccountRole::card_wallet: return "card_wallet";
    case AccountRole::card_points: return "card_points";
    case AccountRole::operator_payable: return "operator_payable";
    case AccountRole::subsidy_budget: return "subsidy_budget";
    case AccountRole::topup_float: return "topup_float";
    case AccountRole::points_budget: return "points_budget";
    case AccountRole::points_redeemed: return "points_redeemed";
    case AccountRole::credit_card_clearing: return "credit_card_clearing";
    case AccountRole::budget_buy_one_get_one: return "budget_buy_one_get_one";
    case AccountRole::budget_category_fare: return "budget_category_fare";
    case AccountRole::budget_citizen_discount: return "budget_citizen_discount";
    case AccountRole::budget_transfer_discount: return "budget_transfer_discount";
    case AccountRole::budget_fare_cap: return "budget_fare_cap";
    case AccountRole::budget_welfare_points: return "budget_welfare_points";
    case AccountRole::budget_railway: return "budget_railway";
    case AccountRole::budget_bonus_points: return "budget_bonus_points";
    case AccountRole::card_bonus_points: return "card_bonus_points";
  }
  return "?";
}

std::string transfer_text(const RuleSet& rules, Index index) {
  if (index >= rules.transfer_rules.size()) return "transfer";
  const TransferRule& rule = rules.transfer_rules[index];
  std::string text = "transfer from leg group \"" + rules.leg_groups[rule.from_leg_group] + "\" to \"" +
                     rules.leg_groups[rule.to_leg_group] + "\"";
  if (rule.duration_limit_s > 0) text += " within " + std::to_string(rule.duration_limit_s / 60) + " min";
  static constexpr const char* types[] = {"A + AB", "A + AB + B", "AB"};
  text += " (fare_transfer_type " + std::to_string(static_cast<int>(rule.fare_transfer_type)) + ": " +
          types[static_cast<int>(rule.fare_transfer_type)] + ")";
  return text;
}

}  // namespace

std::string local_time_text(const RuleSet& rules, EventTime time) {
  LocalCalendar calendar(rules.utc_offset_minutes, 0);
  CivilDate date = civil_from_days(calendar.local_day(time));
  const std::int64_t local_us = time.unix_us + rules.utc_offset_minutes * us_per_minute;
  const std::int64_t second_of_day = (local_us - floor_div(local_us, us_per_day) * us_per_day) / us_per_second;
  return std::to_string(date.year) + "-" + two_digits(date.month) + "-" + two_digits(date.day) + " " +
         two_digits(second_of_day / 3600) + ":" + two_digits(second_of_day / 60 % 60) + ":" + two_digits(second_of_day % 60);
}

std::string describe_tap(const RuleSet& rules, const Tap& tap) {
  std::string text = std::string(mode_name(tap.mode)) + " at " + local_time_text(rules, tap.event_time);
  text += ", operator " + std::to_string(tap.operator_id.value);
  if (const OperatorRule* rule = rules.find_operator(tap.operator_id)) text += " " + rule->name;
  if (tap.route != 0) text += ", route " + std::to_string(tap.route);
  if (tap.location != 0) text += ", location " + std::to_string(tap.location);
  if (tap.amount_minor != 0) text += ", amount " + twd(tap.amount_minor);
  if (tap.offline) text += ", offline";
  return text;
}

std::vector<std::string> explain_notes(const RuleSet& rules, const CardState& before, const Rating& rating) {
  std::vector<std::string> lines;
  for (const Note& note : rating.note_list()) {
    std::string line;
    switch (note.code) {
      case NoteCode::points_expired:
        line = "last month's " + std::to_string(note.a) + " unspent points expired";
        break;
      case NoteCode::points_allotted:
        line = "monthly allotment for " + std::string(rider_category_name(before.category)) + " in " +
               month_text(note.b) + ": " + std::to_string(note.a) + " points";
        break;
      case NoteCode::leg_price: {
        const LegRule& rule = rules.leg_rules[note.rule];
        line = "leg rule (network \"" + rules.networks[rule.network].id + "\", leg group \"" +
               rules.leg_groups[rule.leg_group] + "\"";
        if (rule.from_area != no_index) line += ", from area \"" + rules.areas[rule.from_area].id + "\"";
        if (rule.to_area != no_index) line += ", to area \"" + rules.areas[rule.to_area].id + "\"";
        if (rule.timeframe != no_index) line += ", timeframe \"" + rules.timeframes[rule.timeframe].id + "\"";
        line += "): fare product \"" + rules.products[rule.product].id + "\" is " + twd(note.b) + " general";
        if (note.a != note.b || before.category != RiderCategory::general)
          line += ", " + twd(note.a) + " for a " + std::string(rider_category_name(before.category)) + " rider";
        break;
      }
      case NoteCode::discount: {
        const Discount& discount = rules.discounts[note.rule];
        line = "discount \"" + discount.id + "\": " + percent_text(discount.percent_off_bp) + " off " + twd(note.a) +
               ", rounded " + rounding_name(discount.rounding) + " = " + twd(note.b) +
               (discount.funded_by == Funding::city ? " (the city pays the difference)" : " (borne by the operator)");
        break;
      }
      case NoteCode::transfer:
        line = transfer_text(rules, note.rule) + ": " + twd(note.a) + " becomes " + twd(note.b);
        break;
      case NoteCode::cap_daily:
        line = "daily fare cap " + twd(note.c) + ": " + twd(note.a) + " due, only " + twd(note.b) + " left under the cap";
        break;
      case NoteCode::cap_monthly:
        line = "monthly fare cap " + twd(note.c) + ": " + twd(note.a) + " due, only " + twd(note.b) + " left under the cap";
        break;
      case NoteCode::subsidy:
        line = "the city pays the operator " + twd(note.a) + " so it receives its full fare";
        break;
      case NoteCode::buy_one_get_one:
        line = "buy one, get one: the rider pays one fare unit, the city pays the other " + twd(note.a);
        break;
      case NoteCode::fare_held:
        line = "maximum fare for this rider is " + twd(note.b) + "; " + twd(note.a) +
               " held from the wallet, the difference comes back at tap-out";
        break;
      case NoteCode::journey_settled:
        line = "trip fare " + twd(note.a) + ", " + twd(note.b) + " already taken: ";
        line += note.c > 0 ? twd(note.c) + " more charged" : note.c < 0 ? twd(-note.c) + " refunded" : "nothing more";
        break;
      case NoteCode::missing_tap_out:
        line = "no tap-out for the open trip: closed at the maximum fare, " + twd(note.a) + " in total";
        break;
      case NoteCode::tap_out_after_limit:
        line = "tap-out " + std::to_string(note.a) + " minutes after entry, beyond the trip time limit";
        break;
      case NoteCode::venue_price:
        line = "venue \"" + rules.venues[note.rule].id + "\": price " + twd(note.a);
        break;
      case NoteCode::points_used:
        line = std::to_string(note.a) + " points spent; the city pays the operator " + twd(note.b) + " for them";
        break;
      case NoteCode::wallet_part:
        line = "the rest from the wallet (points ran short or reached the cap per use): " + twd(note.a);
        break;
      case NoteCode::visit_reward:
        line = "visit number " + std::to_string(note.b) + " this month earns " + std::to_string(note.a) + " reward points";
        break;
      case NoteCode::bonus_points:
        line = "partner shop bonus: " + std::to_string(note.a) + " bonus points for " + twd(note.b) + " paid from the wallet";
        if (note.rule < rules.payments.size())
          line += " (one per " + twd(rules.payments[note.rule].bonus_spend_per_point_minor) + ")";
        break;
      case NoteCode::bonus_cashback:
        line = "co-branded card cashback: " + percent_text(static_cast<std::int32_t>(note.c)) + " of " + twd(note.b) +
               " = " + std::to_string(note.a) + " bonus points";
        break;
      case NoteCode::bonus_points_used:
        line = std::to_string(note.a) + " bonus points spent; the bonus_points programme pays the shop " + twd(note.b);
        break;
      case NoteCode::bonus_points_expired:
        line = std::to_string(note.a) + " bonus points expired (valid to the end of " + month_text(note.b) + ")";
        break;
      case NoteCode::auto_top_up:
        line = "auto top-up of " + twd(note.a) + " from the co-branded credit card";
        break;
      case NoteCode::top_up:
        line = "cash top-up of " + twd(note.a);
        break;
      case NoteCode::payment:
        line = "payment of " + twd(note.a) + " (single payment limit " + twd(rules.payments[note.rule].payment_max_minor) + ")";
        break;
      case NoteCode::bike_fare:
        line = "bike rental of " + std::to_string(note.a) + " min: " + std::to_string(note.b) +
               " charged period(s) after the free time (a tier's own price after it) = " + twd(note.c);
        break;
      case NoteCode::identity:
        line = "identity tap: recorded, no money moves";
        break;
      case NoteCode::alight_recorded:
        line = "alighting recorded; this network takes the whole fare at boarding";
        break;
      case NoteCode::service_given:
        line = "offline reader already gave the service: charged although the wallet (" + twd(note.b) +
               ") or the card's status would have refused";
        break;
      case NoteCode::refused:
        line = "refused: " + std::string(refusal_name(static_cast<RefusalReason>(note.a)));
        break;
      case NoteCode::minimum_balance:
        line = "entry needs a balance of at least " + twd(note.a) + "; the wallet has " + twd(note.b);
        break;
      case NoteCode::auto_top_up_limited:
        line = "auto top-up of " + twd(note.a) + " wanted, " + twd(note.b) + " given: the daily auto top-up limit is " +
               twd(note.c);
        break;
      case NoteCode::payment_limit:
        line = "payment of " + twd(note.a) + " after " + twd(note.b) + " paid today is over the daily payment limit of " +
               twd(note.c);
        break;
    }
    lines.push_back(std::move(line));
  }
  if (rating.notes_truncated) lines.push_back("(further steps not recorded)");
  return lines;
}

std::string describe_posting(const Posting& posting) {
  std::string text = std::string(role_name(posting.debit)) + " -> " + role_name(posting.credit);
  if (posting.debit == AccountRole::operator_payable || posting.credit == AccountRole::operator_payable)
    text += " " + std::to_string(posting.operator_id.value);
  text += ": " + std::to_string(posting.amount_minor) + " " + std::string(asset_name(posting.asset)) + " " +
          std::string(transfer_code_name(posting.code));
  if (posting.flags & transfer_flag_service_given) text += " [service_given]";
  if (posting.flags & transfer_flag_offline) text += " [offline]";
  return text;
}

std::string summarize_rating(const Rating& rating) {
  if (!rating.approved()) return "refused: " + std::string(refusal_name(rating.refusal));
  std::string text = "approved: ";
  if (rating.fare_minor >= 0) text += twd(rating.fare_minor) + " from the wallet";
  else text += twd(-rating.fare_minor) + " back to the wallet";
  if (rating.points_spent > 0) text += ", " + std::to_string(rating.points_spent) + " points";
  if (rating.bonus_points_spent > 0) text += ", " + std::to_string(rating.bonus_points_spent) + " bonus points";
  text += "; balance " + twd(rating.balance_after_minor) + ", " + std::to_string(rating.points_after) + " points";
  if (rating.state.bonus_points > 0) text += ", " + std::to_string(rating.state.bonus_points) + " bonus points";
  if (rating.deny_list) text += "; card goes on the deny list";
  return text;
}

}  // namespace citycard::rules
