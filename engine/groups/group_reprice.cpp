// AdminAction::reprice (repricing.h): the close's correction of one tap,
// through the shard of the account whose money it moves, so the account's
// mirrors move with the ledger. Nobody asks for it but the close: no
// audit entry of its own (the close's says what repricing did).
#include <fmt/format.h>

#include "citycard/check.h"
#include "group_builder.h"
#include "repricing.h"

namespace citycard::engine {

void GroupBuilder::build_reprice(Draft& draft) {
  const AdminCommand& command = draft.admin();
  AdminResult& result = draft.admin_result();
  if (!repriced_tap_key(command.key) || command.transfers.empty()) {
    result.status = Status::invalid_argument("a repricing needs an rpt:/rps: key and its transfers");
    return;
  }
  auto loaded = book_.load(command.card);
  if (!loaded || *loaded == nullptr) {
    result.status = loaded ? Status::not_found("no card " + command.card.to_string()) : loaded.status();
    return;
  }
  CardEntry* entry = *loaded;
  auto posted = context_.ledger.posted(command.key);
  if (!posted) {
    result.status = posted.status();
    return;
  }
  if (posted->has_value()) {  // the close ran before and failed after posting it
    result.duplicate = true;
    action_result(draft, *entry);
    return;
  }
  std::int64_t wallet_delta = 0;
  std::int64_t points_delta = 0;
  std::int64_t bonus_delta = 0;
  const CardRecord& card = entry->record;
  const bool has_bonus = card.bonus_points_account.value != 0;
  for (const Transfer& t : command.transfers) {
    CITYCARD_CHECK(t.amount_minor > 0 && (t.flags & transfer_flag_repriced));
    if (t.credit_account == card.wallet_account) wallet_delta += t.amount_minor;
    if (t.debit_account == card.wallet_account) wallet_delta -= t.amount_minor;
    if (t.credit_account == card.points_account) points_delta += t.amount_minor;
    if (t.debit_account == card.points_account) points_delta -= t.amount_minor;
    if (has_bonus && t.credit_account == card.bonus_points_account) bonus_delta += t.amount_minor;
    if (has_bonus && t.debit_account == card.bonus_points_account) bonus_delta -= t.amount_minor;
    draft.group.transfers.push_back(t);
  }
  book_.balance(card.wallet_account) += wallet_delta;
  book_.balance(card.points_account) += points_delta;
  if (has_bonus) book_.balance(card.bonus_points_account) += bonus_delta;
  draft.group.records.push_back(correction_index_record(command.reprice_day, command.key, command.reprice_paying_card));
  draft.group.outcome = action_fingerprint(command);
  note_listing(draft, *entry);
  draft.card = command.card;
  book_.hold(*entry);
  result.status = Status::ok();
  action_result(draft, *entry);
}

}  // namespace citycard::engine
