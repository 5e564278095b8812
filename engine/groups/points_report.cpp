#include "points_report.h"

#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "calendar.h"
#include "citycard/card.h"
#include "citycard/check.h"

namespace citycard::engine {
namespace {

// One card's points in one month of the range.
struct CardMonth {
  RiderCategory category = RiderCategory::general;
  std::int64_t allotted = 0;
  std::int64_t used = 0;
  std::int64_t expired = 0;
  std::int64_t rewarded = 0;
  std::int64_t other = 0;
};

std::optional<std::int32_t> parse_month(std::string_view text) {
  if (text.size() != 7 || text[4] != '-') return std::nullopt;
  std::int32_t year = 0;
  std::int32_t month = 0;
  for (std::size_t i = 0; i < 7; ++i) {
    if (i == 4) continue;
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    (i < 4 ? year : month) = (i < 4 ? year : month) * 10 + (text[i] - '0');
  }
  if (year < 1970 || month < 1 || month > 12) return std::nullopt;
  return rules::month_key(rules::CivilDate{year, month, 1});
}

// What one transfer does to one card's month: `credit` when the card's
// points account is credited.
void add_move(CardMonth& month, TransferCode code, std::int64_t amount, bool credit) {
  const std::int64_t signed_amount = credit ? amount : -amount;
  switch (code) {
    case TransferCode::points_allotment: month.allotted += signed_amount; return;
    case TransferCode::points_redeemed: month.used -= signed_amount; return;
    case TransferCode::points_expired: month.expired -= signed_amount; return;
    case TransferCode::points_reward: month.rewarded += signed_amount; return;
    default: month.other += signed_amount; return;
  }
}

void add_card_month(PointsFigures& figures, const CardMonth& month) {
  ++figures.cards;
  figures.allotted += month.allotted;
  figures.used += month.used;
  figures.expired += month.expired;
  figures.rewarded += month.rewarded;
  figures.other += month.other;
  if (month.allotted > 0) {
    ++figures.allotted_cards;
    ++figures.buckets[points_use_bucket(month.used, month.allotted)];
  }
}

}  // namespace

Result<ReportMonths> report_months(std::string_view from, std::string_view to) {
  auto from_month = parse_month(from);
  if (!from_month) return Status::invalid_argument(fmt::format("--from {} is not a month YYYY-MM", from));
  auto to_month = parse_month(to);
  if (!to_month) return Status::invalid_argument(fmt::format("--to {} is not a month YYYY-MM", to));
  if (*from_month > *to_month) return Status::invalid_argument(fmt::format("--from {} is after --to {}", from, to));
  const std::int32_t months = *to_month - *from_month + 1;
  if (months > points_report_months_max) {
    return Status::invalid_argument(fmt::format("{} to {} is {} months; a points report covers at most {}", from, to,
                                                months, points_report_months_max));
  }
  return ReportMonths{*from_month, *to_month};
}

std::string format_month(std::int32_t month) {
  const std::int32_t year = month >= 0 ? month / 12 : (month - 11) / 12;
  return fmt::format("{:04}-{:02}", year, month - year * 12 + 1);
}

std::size_t points_use_bucket(std::int64_t used, std::int64_t allotted) noexcept {
  CITYCARD_CHECK_GT(allotted, 0);
  if (used >= allotted) return 5;
  if (used <= 0) return 0;
  if (used < 100) return 1;
  if (used < 300) return 2;
  if (used < 500) return 3;
  return 4;
}

Result<PointsReport> read_points_report(const ledger::Snapshot& snapshot, const PointsQuery& query) {
  CITYCARD_CHECK_LE(query.months.from_month, query.months.to_month);
  PointsReport report;
  report.query = query;
  // Points accounts -> the card that owns them (a linked medium shares its
  // primary's accounts; a replaced card keeps its own until moved).
  std::unordered_map<std::uint64_t, CardRecord> card_of_points;
  std::unordered_set<std::uint64_t> bonus_accounts;
  Status cards = snapshot.scan_cards([&](const CardRecord& card) {
    if (card.linked_to.empty()) {
      auto [at, fresh] = card_of_points.emplace(card.points_account.value, card);
      if (!fresh && at->second.status == CardStatus::replaced) at->second = card;
      if (card.bonus_points_account.value != 0) bonus_accounts.insert(card.bonus_points_account.value);
    }
    return true;
  });
  if (!cards) return cards;

  const rules::LocalCalendar calendar(query.utc_offset_minutes, query.business_day_start_minutes);
  std::unordered_map<std::uint64_t, std::int32_t> points_month;  // points account -> the card's points month
  std::map<std::int32_t, std::unordered_map<std::uint64_t, CardMonth>> months;
  auto on_card = [&](const Transfer& t, AccountId account, bool credit) {
    auto card = card_of_points.find(account.value);
    if (card == card_of_points.end()) return;
    const std::int32_t event_month = calendar.local_month(t.event_time);
    std::int32_t& current = points_month[account.value];
    std::int32_t month = 0;
    if (t.code == TransferCode::points_expired && !credit && current != 0) {
      month = current;  // the leftover of the month that ends; the allotment beside it moves the card on
    } else {
      current = std::max(current, event_month);
      month = current;
    }
    if (month < query.months.from_month || month > query.months.to_month) return;
    auto [entry, fresh] = months[month].try_emplace(account.value);
    if (fresh) entry->second.category = category_on(card->second, calendar.business_day(t.event_time));
    add_move(entry->second, t.code, t.amount_minor, credit);
  };
  // Bonus points: per event month and bonus account, then summed per month.
  std::map<std::int32_t, std::unordered_map<std::uint64_t, BonusFigures>> bonus_months;
  auto on_bonus = [&](const Transfer& t, AccountId account, bool credit) {
    if (!bonus_accounts.contains(account.value)) return;
    const std::int32_t month = calendar.local_month(t.event_time);
    if (month < query.months.from_month || month > query.months.to_month) return;
    BonusFigures& figures = bonus_months[month][account.value];
    const std::int64_t signed_amount = credit ? t.amount_minor : -t.amount_minor;
    switch (t.code) {
      case TransferCode::bonus_points_earned: figures.earned += signed_amount; break;
      case TransferCode::bonus_points_redeemed: figures.spent -= signed_amount; break;
      case TransferCode::bonus_points_expired: figures.expired -= signed_amount; break;
      default: figures.other += signed_amount; break;
    }
  };
  const std::uint64_t last = snapshot.last_sequence();
  if (last > 0) {
    Status scan = snapshot.scan_transfers(1, last, [&](const ledger::StoredTransfer& stored) {
      ++report.transfers_scanned;
      const Transfer& t = stored.transfer;
      if (t.asset != Asset::points) return true;
      on_card(t, t.debit_account, false);
      on_card(t, t.credit_account, true);
      on_bonus(t, t.debit_account, false);
      on_bonus(t, t.credit_account, true);
      return true;
    });
    if (!scan) return scan;
  }
  for (const auto& [month, cards_of_month] : months) {
    for (const auto& [account, card_month] : cards_of_month) {
      add_card_month(report.rows[{month, card_month.category}], card_month);
      add_card_month(report.total, card_month);
    }
  }
  for (const auto& [month, cards_of_month] : bonus_months) {
    for (const auto& [account, figures] : cards_of_month) {
      for (BonusFigures* sum : {&report.bonus_rows[month], &report.bonus_total}) {
        ++sum->cards;
        sum->earned += figures.earned;
        sum->spent += figures.spent;
        sum->expired += figures.expired;
        sum->other += figures.other;
      }
    }
  }
  return report;
}

}  // namespace citycard::engine
