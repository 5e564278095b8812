// One account, many media: link, unlink and merge as posting groups (the
// rest of the card-office actions: group_actions.cpp). Each is carried out
// through the shard of the account that keeps the money (the primary, the
// survivor), so that shard's book holds the account's state; the other
// side's cards are read from the ledger here, and dropped by their own
// shard once the group is durable (Draft::media_moved).
#include <fmt/format.h>

#include "account_moves.h"
#include "card_state_codec.h"
#include "citycard/check.h"
#include "group_builder.h"
#include "hashing.h"

namespace citycard::engine {
namespace {

Transfer balance_transfer(AccountId debit, AccountId credit, std::int64_t amount, Asset asset, const AdminCommand& command) {
  Transfer transfer = admin_transfer(debit, credit, amount, TransferCode::balance_move, command);
  transfer.asset = asset;
  return transfer;
}

}  // namespace

Status GroupBuilder::move_balances(Draft& draft, const CardId& from_card, const CardId& to_card, std::int64_t& wallet_moved,
                                   std::int64_t& points_moved) {
  const AdminCommand& command = draft.admin();
  const CardRecord from = book_.cached(from_card)->record;
  const CardRecord to = book_.cached(to_card)->record;
  wallet_moved = book_.balance(from.wallet_account);
  points_moved = book_.balance(from.points_account);
  auto to_wallet = context_.ledger.account(to.wallet_account);
  if (!to_wallet) return Status::corruption("card " + to.card.to_string() + " names a wallet the ledger does not have");
  const std::int64_t to_balance = book_.balance(to.wallet_account);
  if (wallet_moved > 0 && to_balance > to_wallet->spec.balance_ceiling_minor - wallet_moved) {
    return Status::refused(fmt::format("card {} holds {} TWD; with the {} TWD of card {} it would pass its ceiling of {}",
                                       to.card.to_string(), to_balance, wallet_moved, from.card.to_string(),
                                       to_wallet->spec.balance_ceiling_minor));
  }
  if (wallet_moved < 0 && to_balance + wallet_moved < to_wallet->spec.balance_floor_minor) {
    return Status::refused(fmt::format("card {} owes {} TWD; card {} holds {} TWD and cannot take that debt "
                                       "(its floor is {}); top it up first",
                                       from.card.to_string(), -wallet_moved, to.card.to_string(), to_balance,
                                       to_wallet->spec.balance_floor_minor));
  }
  if (wallet_moved > 0) {
    draft.group.transfers.push_back(balance_transfer(from.wallet_account, to.wallet_account, wallet_moved, Asset::twd, command));
  } else if (wallet_moved < 0) {
    // The debt moves: the survivor pays the absorbed wallet back to zero.
    draft.group.transfers.push_back(balance_transfer(to.wallet_account, from.wallet_account, -wallet_moved, Asset::twd, command));
  }
  // Bonus points move to the other account's bonus points, never into its welfare points.
  const bool from_bonus = from.bonus_points_account.value != 0 && from.bonus_points_account != to.bonus_points_account;
  const std::int64_t bonus_moved = from_bonus ? book_.balance(from.bonus_points_account) : 0;
  if (bonus_moved > 0 && to.bonus_points_account.value == 0) {
    return Status::refused(fmt::format("card {} holds {} bonus points and card {} has no bonus points account to take them",
                                       from.card.to_string(), bonus_moved, to.card.to_string()));
  }
  if (points_moved > 0) {
    draft.group.transfers.push_back(balance_transfer(from.points_account, to.points_account, points_moved, Asset::points, command));
  }
  if (bonus_moved > 0) {
    draft.group.transfers.push_back(
        balance_transfer(from.bonus_points_account, to.bonus_points_account, bonus_moved, Asset::points, command));
    book_.balance(from.bonus_points_account) -= bonus_moved;
    book_.balance(to.bonus_points_account) += bonus_moved;
  }
  book_.balance(from.wallet_account) -= wallet_moved;
  book_.balance(to.wallet_account) += wallet_moved;
  if (points_moved > 0) {
    book_.balance(from.points_account) -= points_moved;
    book_.balance(to.points_account) += points_moved;
  } else {
    points_moved = 0;
  }
  return Status::ok();
}

Status GroupBuilder::join_media(Draft& draft, const std::vector<CardId>& media, const CardRecord& account, std::string_view how,
                                const std::optional<std::string>& state) {
  const AdminCommand& command = draft.admin();
  for (const CardId& medium : media) {
    auto loaded = book_.load(medium);
    if (!loaded) return loaded.status();
    if (*loaded == nullptr) return Status::corruption("medium " + medium.to_string() + " is in the directory but not issued");
    CardEntry& entry = **loaded;
    auto moves = load_medium_moves(context_.ledger, medium);
    if (!moves) return moves.status();
    const std::string key = medium_moves_key(medium);
    if (const std::string* built = book_.remembered(medium, key)) {
      auto decoded = decode_medium_moves(*built);
      if (decoded) moves = std::move(decoded);
    }
    moves->push_back(MediumMove{command.key.to_string(), command.time, std::string(how), account.card,
                                entry.record.wallet_account, entry.record.points_account});
    std::string encoded = encode_medium_moves(*moves);
    draft.group.records.push_back({ledger::RecordSpace::engine, key, encoded});
    CardRecord record = entry.record;
    record.wallet_account = account.wallet_account;
    record.points_account = account.points_account;
    record.bonus_points_account = account.bonus_points_account;
    record.linked_to = account.card == medium ? CardId() : account.card;
    draft.group.card_updates.push_back(record);
    book_.rebind(entry, record, state);
    book_.remember(medium, key, std::move(encoded));
    draft.media_moved.emplace_back(medium, account.card);
    draft.admin_result().media_moved.push_back(medium);
  }
  return Status::ok();
}

Result<std::string> GroupBuilder::build_link(Draft& draft) {
  const AdminCommand& command = draft.admin();
  const CardId medium_id = command.card;
  const CardId primary_id = command.new_card;
  if (primary_id.empty() || primary_id == medium_id) {
    return Status::invalid_argument("link needs the card of the account to link to, other than the medium itself");
  }
  auto primary_loaded = book_.load(primary_id);
  if (!primary_loaded) return primary_loaded.status();
  if (*primary_loaded == nullptr) return Status::not_found("no card " + primary_id.to_string() + " to link to");
  const CardRecord primary = (*primary_loaded)->record;
  const rules::CardState primary_state = book_.state_of(**primary_loaded);
  CardEntry* medium = book_.cached(medium_id);
  CITYCARD_CHECK(medium != nullptr);
  const CardRecord before = medium->record;
  if (before.status == CardStatus::replaced) return Status::refused("card " + medium_id.to_string() + " was replaced; link its replacement");
  if (primary.status == CardStatus::replaced) {
    return Status::refused("card " + primary_id.to_string() + " was replaced by " + primary.replaced_by.to_string() + "; link to that card");
  }
  if (!before.linked_to.empty()) {
    return Status::refused(fmt::format("card {} is already a medium of {}; unlink it first", medium_id.to_string(),
                                       before.linked_to.to_string()));
  }
  if (!primary.linked_to.empty()) {
    return Status::refused(fmt::format("card {} is a medium of {}; link to {}", primary_id.to_string(),
                                       primary.linked_to.to_string(), primary.linked_to.to_string()));
  }
  CITYCARD_CHECK(context_.media != nullptr);
  if (!context_.media->media_of(medium_id).empty()) {
    return Status::refused("card " + medium_id.to_string() + " has media of its own; merge its account instead");
  }
  // A debt stays with the account it was run up on: merge moves debt, link does not.
  if (book_.balance(before.wallet_account) < 0) {
    return Status::refused(fmt::format("card {} owes {} TWD; settle the debt first, or merge its account (merge moves debt)",
                                       medium_id.to_string(), -book_.balance(before.wallet_account)));
  }
  // A journey is charged at its end against the state it began on.
  const rules::CardState medium_state = book_.state_of(*medium);
  if (std::string open = open_journey_of(medium_state); !open.empty()) {
    return Status::refused("card " + medium_id.to_string() + " has " + open + "; link it once that has ended");
  }
  std::int64_t wallet_moved = 0;
  std::int64_t points_moved = 0;
  if (Status moved = move_balances(draft, medium_id, primary_id, wallet_moved, points_moved); !moved) return moved;
  // Its state joins the account's as a merged account's does: what it paid
  // today counts against the account's cap, its allotment month holds.
  book_.set_state(*book_.cached(primary_id), rules::encode_card_state(combine_account_states(primary_state, medium_state)));
  if (Status joined = join_media(draft, {medium_id}, primary, "linked"); !joined) return joined;
  draft.admin_result().moved_wallet_minor = wallet_moved;
  draft.admin_result().moved_points = points_moved;
  return fmt::format("card {} linked to the account of {}: moved {} TWD and {} points", medium_id.to_string(),
                     primary_id.to_string(), wallet_moved, points_moved);
}

Result<std::string> GroupBuilder::build_unlink(Draft& draft) {
  const AdminCommand& command = draft.admin();
  const CardId medium_id = command.card;
  CardEntry* medium = book_.cached(medium_id);
  CITYCARD_CHECK(medium != nullptr);
  const CardRecord before = medium->record;
  if (before.linked_to.empty()) {
    return Status::refused("card " + medium_id.to_string() + " is a primary card (its own account); there is nothing to unlink");
  }
  if (before.status == CardStatus::replaced) return Status::refused("card " + medium_id.to_string() + " was replaced");
  // The state does not say which medium began a journey: none may be open.
  if (std::string open = open_journey_of(book_.state_of(*medium)); !open.empty()) {
    return Status::refused("the account of card " + medium_id.to_string() + " has " + open + "; unlink once that has ended");
  }
  ledger::NewCard fresh;
  fresh.card = medium_id;
  if (auto wallet = context_.ledger.account(before.wallet_account)) {
    fresh.overdraft_minor = wallet->spec.balance_floor_minor < 0 ? -wallet->spec.balance_floor_minor : 0;
    fresh.wallet_ceiling_minor = wallet->spec.balance_ceiling_minor;
  }
  // Written now, like a replacement card's; unused at zero if the group fails.
  auto own = context_.ledger.create_card_accounts(fresh);
  if (!own) return own.status();
  own->linked_to = CardId();
  // Its own account again, with a fresh state (finish_action writes it
  // under the medium's id, so a state it had before it was linked is not
  // read back).
  if (Status joined = join_media(draft, {medium_id}, *own, "unlinked", rules::encode_card_state(rules::CardState{})); !joined) {
    return joined;
  }
  return fmt::format("card {} unlinked from the account of {}: its own account again, with 0 TWD and 0 points",
                     medium_id.to_string(), before.linked_to.to_string());
}

Result<std::string> GroupBuilder::build_merge(Draft& draft) {
  const AdminCommand& command = draft.admin();
  const CardId absorbed_id = command.card;
  const CardId survivor_id = command.new_card;
  if (survivor_id.empty() || survivor_id == absorbed_id) {
    return Status::invalid_argument("merge needs the card of the surviving account, other than the card merged into it");
  }
  auto survivor_loaded = book_.load(survivor_id);
  if (!survivor_loaded) return survivor_loaded.status();
  if (*survivor_loaded == nullptr) return Status::not_found("no card " + survivor_id.to_string() + " to merge into");
  const CardRecord survivor = (*survivor_loaded)->record;
  const rules::CardState survivor_state = book_.state_of(**survivor_loaded);
  CardEntry* absorbed = book_.cached(absorbed_id);
  CITYCARD_CHECK(absorbed != nullptr);
  const CardRecord before = absorbed->record;
  for (const CardRecord* card : {&before, &survivor}) {
    if (card->status == CardStatus::replaced) {
      return Status::refused("card " + card->card.to_string() + " was replaced by " + card->replaced_by.to_string() + "; use that card");
    }
    if (!card->linked_to.empty()) {
      return Status::refused(fmt::format("card {} is a medium of {}; merge accounts by their primary cards", card->card.to_string(),
                                         card->linked_to.to_string()));
    }
  }
  const rules::CardState absorbed_state = book_.state_of(*absorbed);
  if (std::string open = open_journey_of(absorbed_state); !open.empty()) {
    return Status::refused("the account of card " + absorbed_id.to_string() + " has " + open + "; merge once that has ended");
  }
  std::int64_t wallet_moved = 0;
  std::int64_t points_moved = 0;
  if (Status moved = move_balances(draft, absorbed_id, survivor_id, wallet_moved, points_moved); !moved) return moved;
  CITYCARD_CHECK(context_.media != nullptr);
  std::vector<CardId> media{absorbed_id};
  for (const CardId& medium : context_.media->media_of(absorbed_id)) media.push_back(medium);
  // One person: one allotment and one cap (account_moves.h).
  CardEntry* survivor_entry = book_.cached(survivor_id);
  book_.set_state(*survivor_entry, rules::encode_card_state(combine_account_states(survivor_state, absorbed_state)));
  if (Status joined = join_media(draft, media, survivor, "merged into " + survivor_id.to_string()); !joined) return joined;
  draft.admin_result().moved_wallet_minor = wallet_moved;
  draft.admin_result().moved_points = points_moved;
  std::string detail = fmt::format("account of card {} merged into the account of {}: moved {} TWD{} and {} points; media",
                                   absorbed_id.to_string(), survivor_id.to_string(), wallet_moved,
                                   wallet_moved < 0 ? " (a debt)" : "", points_moved);
  for (const CardId& medium : media) detail += " " + medium.to_string();
  return detail + " now belong to it";
}

}  // namespace citycard::engine
