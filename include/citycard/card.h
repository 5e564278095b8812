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
  RiderCategory category = RiderCategory::general;
  Media media = Media::physical_card;
  CardStatus status = CardStatus::active;
  // The card whose accounts this medium shares (a mobile card linked to a
  // physical one); empty for a primary card.
  CardId linked_to;
  // The card that replaced this one; empty unless status == replaced.
  CardId replaced_by;
};

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
