// The shard's card cache: card record, rating state and balance mirrors,
// loaded from the ledger on first use and dropped when idle.
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

Shard::CardEntry* Shard::find_card(const CardId& card) {
  if (auto found = cards_.find(card); found != cards_.end()) return &found->second;
  auto record = context_.ledger.card(card);
  if (!record) {
    if (record.status().code() == StatusCode::not_found) return nullptr;
    context_.log.event("ledger_read_failed", {{"what", "card"}, {"card", card.to_string()}, {"error", record.status().to_string()}});
    std::abort();
  }
  CardEntry entry;
  entry.record = *record;
  auto stored = context_.ledger.record(ledger::RecordSpace::card_state, card_key(card));
  if (stored) {
    auto decoded = rules::decode_card_state(*stored);
    if (decoded) {
      entry.state = *decoded;
    } else {
      context_.log.event("card_state_unreadable", {{"card", card.to_string()}, {"error", decoded.status().to_string()}});
    }
  } else if (stored.status().code() != StatusCode::not_found) {
    context_.log.event("ledger_read_failed", {{"what", "card_state"}, {"card", card.to_string()}, {"error", stored.status().to_string()}});
    std::abort();
  }
  // The card record is the card office's word on who the card is.
  entry.state.category = record->category;
  entry.state.media = record->media;
  entry.state.status = record->status;
  for (AccountId account : {record->wallet_account, record->points_account}) {
    AccountMirror& mirror = accounts_[account.value];
    if (mirror.users++ == 0) mirror.balance_minor = ledger_balance(account);
  }
  entry.denied = denied_.count(card) != 0;
  if (context_.options.card_master_key) entry.last_atc = load_atc(context_.ledger, card);
  card_order_.push_back(card);
  cards_cached_.fetch_add(1, std::memory_order_relaxed);
  return &cards_.emplace(card, std::move(entry)).first->second;
}

void Shard::drop_card(const CardId& card) {
  auto found = cards_.find(card);
  if (found == cards_.end()) return;
  for (AccountId account : {found->second.record.wallet_account, found->second.record.points_account}) {
    auto mirror = accounts_.find(account.value);
    if (mirror != accounts_.end() && --mirror->second.users == 0) accounts_.erase(mirror);
  }
  cards_.erase(found);
  cards_cached_.fetch_sub(1, std::memory_order_relaxed);
}

void Shard::evict_idle() {
  std::size_t budget = card_order_.size();
  while (cards_.size() > context_.options.card_cache_max && budget-- > 0 && !card_order_.empty()) {
    CardId card = card_order_.front();
    card_order_.pop_front();
    auto found = cards_.find(card);
    if (found == cards_.end()) continue;
    if (found->second.pending > 0) {
      card_order_.push_back(card);
      continue;
    }
    drop_card(card);
  }
  // Forget order entries of cards dropped by reloads, so the deque stays bounded.
  if (card_order_.size() > 2 * cards_.size() + 1024) {
    std::deque<CardId> live;
    for (const CardId& card : card_order_) {
      if (cards_.count(card) != 0) live.push_back(card);
    }
    card_order_.swap(live);
  }
}

}  // namespace citycard::engine
