// Card records: a card (any medium) and the accounts it spends from.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "citycard/ids.h"
#include "citycard/tap.h"

namespace citycard {

enum class CardStatus : std::uint8_t {
  active = 1,
  blocked = 2,   // blocked by the card office (debt, fraud, request)
  lost = 3,      // reported lost; balance kept for a replacement
  replaced = 4,  // a replacement card took over its balance
};

struct CardRecord {
  CardId card;
  AccountId wallet_account;
  AccountId points_account;
  // The account's bonus points (AccountKind::card_bonus_points), apart from
  // its welfare points; empty for a card issued before bonus points had
  // their own account (it neither earns nor spends them).
  AccountId bonus_points_account;
  // Who the rider is within the eligibility period below: a student until
  // the end of the school year, a senior from the 65th birthday, a
  // disability certificate until it expires. Outside the period the card
  // rides as general (category_on).
  RiderCategory category = RiderCategory::general;
  // The period, as business days (days since 1970-01-01 of the dates that
  // name them), both inclusive; no_category_day: open on that side. Set by
  // the welfare office's eligibility import (engine/groups/eligibility.h).
  std::int32_t category_from_day = 0;
  std::int32_t category_until_day = 0;
  // Where the rider lives, as the district's 3-digit postal code (Taoyuan's
  // Fuxing district is 336); no_district when not given. Some programmes
  // depend on it (rules [[points.districts]]: Fuxing's 1,000 welfare points
  // a month). Set by the eligibility import with the category.
  std::uint16_t district = 0;
  Media media = Media::physical_card;
  CardStatus status = CardStatus::active;
  // The card whose accounts this medium shares (a mobile card linked to a
  // physical one); empty for a primary card.
  CardId linked_to;
  // The card that replaced this one; empty unless status == replaced.
  CardId replaced_by;
};

inline constexpr std::int32_t no_category_day = 0;
inline constexpr std::uint16_t no_district = 0;
// A district is a 3-digit postal code (Chunghwa Post: 100 .. 983 in use).
inline constexpr std::uint16_t district_min = 100;
inline constexpr std::uint16_t district_max = 999;

// The category a card rides as on a business day.
constexpr RiderCategory category_on(const CardRecord& card, std::int32_t business_day) noexcept {
  const bool started = card.category_from_day == no_category_day || business_day >= card.category_from_day;
  const bool ended = card.category_until_day != no_category_day && business_day > card.category_until_day;
  return started && !ended ? card.category : RiderCategory::general;
}

constexpr std::string_view card_status_name(CardStatus status) noexcept {
  switch (status) {
    case CardStatus::active: return "active";
    case CardStatus::blocked: return "blocked";
    case CardStatus::lost: return "lost";
    case CardStatus::replaced: return "replaced";
  }
  return "?";
}

inline std::optional<CardStatus> parse_card_status(std::string_view text) noexcept {
  for (int i = 1; i <= 4; ++i) {
    auto status = static_cast<CardStatus>(i);
    if (card_status_name(status) == text) return status;
  }
  return std::nullopt;
}

}  // namespace citycard
