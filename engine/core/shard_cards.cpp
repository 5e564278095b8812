// The shard's card cache: card record, encoded rating state and balance
// mirrors. Filled from the ledger at start (preload), a card beyond the cache
// or dropped for a reload is read from the ledger on its next use.
#include <cstdlib>

#include "deny_records.h"
#include "shard.h"

namespace citycard::engine {

std::int64_t Shard::ledger_balance(AccountId account) {
  auto found = context_.ledger.account(account);
  if (!found) {
    context_.log.event("card_account_missing", {{"account", std::to_string(account.value)}});
    return 0;
  }
  return found->balance_minor;
}

bool Shard::preload(StoredCard card) {
  if (cards_.size() >= context_.options.card_cache_max) return false;
  if (cards_.contains(card.record.card)) return true;
  cache(std::move(card));
  return true;
}

void Shard::preload_state(const CardId& card, std::string_view state) {
  if (CardEntry* found = cards_.find(card)) found->state.assign(state);
}

void Shard::preload_atc(const CardId& card, const AtcWindow& atc) {
  if (CardEntry* found = cards_.find(card)) found->atc = atc;
}

Shard::CardEntry& Shard::cache(StoredCard card) {
  const CardId id = card.record.card;
  CardEntry entry;
  entry.record = std::move(card.record);
  entry.state = std::move(card.state);
  entry.atc = card.atc;
  entry.denied = denied_.count(id) != 0;
  auto mirror = [&](AccountId account) {
    AccountMirror& found = accounts_[account.value];
    if (found.users++ == 0) found.balance_minor = ledger_balance(account);
    return &found;
  };
  entry.wallet = mirror(entry.record.wallet_account);
  entry.points = mirror(entry.record.points_account);
  card_order_.push_back(id);
  cards_cached_.fetch_add(1, std::memory_order_relaxed);
  return cards_.insert(id, std::move(entry));
}

Shard::CardEntry* Shard::find_card(const CardId& card) {
  if (CardEntry* found = cards_.find(card)) return found;
  auto record = context_.ledger.card(card);
  if (!record) {
    if (record.status().code() == StatusCode::not_found) return nullptr;
    context_.log.event("ledger_read_failed", {{"what", "card"}, {"card", card.to_string()}, {"error", record.status().to_string()}});
    std::abort();
  }
  StoredCard stored;
  stored.record = *record;
  auto state = context_.ledger.record(ledger::RecordSpace::card_state, card_key(card));
  if (state) {
    stored.state = std::move(*state);
  } else if (state.status().code() != StatusCode::not_found) {
    context_.log.event("ledger_read_failed", {{"what", "card_state"}, {"card", card.to_string()}, {"error", state.status().to_string()}});
    std::abort();
  }
  if (context_.options.card_keys) stored.atc = load_atc(context_.ledger, card);
  return &cache(std::move(stored));
}

rules::CardState Shard::card_state(const CardEntry& entry) {
  rules::CardState state;
  if (!entry.state.empty()) {
    auto decoded = rules::decode_card_state(entry.state);
    if (decoded) {
      state = *decoded;
    } else {
      // Rated as a fresh card rather than refused: the rider is not at fault.
      context_.log.event("card_state_unreadable", {{"card", entry.record.card.to_string()}, {"error", decoded.status().to_string()}});
    }
  }
  // The card record is the card office's word on who the card is.
  state.category = entry.record.category;
  state.media = entry.record.media;
  state.status = entry.record.status;
  state.wallet_minor = entry.wallet->balance_minor;
  state.points = entry.points->balance_minor;
  return state;
}

void Shard::drop_card(const CardId& card) {
  CardEntry* found = cards_.find(card);
  if (found == nullptr) return;
  for (AccountId account : {found->record.wallet_account, found->record.points_account}) {
    auto mirror = accounts_.find(account.value);
    if (mirror != accounts_.end() && --mirror->second.users == 0) accounts_.erase(mirror);
  }
  cards_.erase(card);
  cards_cached_.fetch_sub(1, std::memory_order_relaxed);
}

void Shard::evict_idle() {
  std::size_t budget = card_order_.size();
  while (cards_.size() > context_.options.card_cache_max && budget-- > 0 && !card_order_.empty()) {
    CardId card = card_order_.front();
    card_order_.pop_front();
    CardEntry* found = cards_.find(card);
    if (found == nullptr) continue;
    if (found->pending > 0) {
      card_order_.push_back(card);
      continue;
    }
    drop_card(card);
  }
  // Forget order entries of cards dropped by reloads, so the deque stays bounded.
  if (card_order_.size() > 2 * cards_.size() + 1024) {
    std::deque<CardId> live;
    for (const CardId& card : card_order_) {
      if (cards_.contains(card)) live.push_back(card);
    }
    card_order_.swap(live);
  }
}

}  // namespace citycard::engine
