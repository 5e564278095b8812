#include "bonus_balance.h"

#include <fmt/format.h>

#include "card_state.h"
#include "hashing.h"
#include "media_directory.h"

namespace citycard::engine {

Result<BonusBalance> bonus_balance_of(const ledger::Ledger& ledger, const CardRecord& card) {
  BonusBalance out;
  if (card.bonus_points_account.value == 0) return out;
  auto account = ledger.account(card.bonus_points_account);
  if (!account) {
    return Status::corruption("card " + card.card.to_string() + " names bonus points account " +
                              std::to_string(card.bonus_points_account.value) + ", which the ledger does not have");
  }
  out.has_account = true;
  out.points = account->balance_minor;
  auto stored = ledger.record(ledger::RecordSpace::card_state, card_key(account_key(card)));
  if (!stored) return stored.status().code() == StatusCode::not_found ? Result<BonusBalance>(out) : stored.status();
  if (auto state = rules::decode_card_state(*stored)) out.expiry_month = state->bonus_expiry_month;
  return out;
}

std::string bonus_expiry_text(std::int32_t expiry_month) {
  if (expiry_month <= 0) return "";
  return fmt::format("{:04}-{:02}", expiry_month / 12, expiry_month % 12 + 1);
}

void add_bonus_balance(nlohmann::json& out, const BonusBalance& bonus) {
  if (!bonus.has_account) return;
  out["bonus_points"] = bonus.points;
  if (bonus.points > 0 && bonus.expiry_month > 0) out["bonus_points_expire_after"] = bonus_expiry_text(bonus.expiry_month);
}

}  // namespace citycard::engine
