#include "card_book.h"

#include <algorithm>

#include "card_state_codec.h"
#include "citycard/check.h"
#include "citycard/prefetch.h"
#include "deny_records.h"
#include "hashing.h"

namespace citycard::engine {

CardBook::CardBook(const ledger::Ledger& ledger, Log& log, std::size_t cache_max, bool with_atc,
                   std::unordered_set<CardId, CardIdHash> denied)
    : ledger_(ledger), log_(log), cache_max_(cache_max), with_atc_(with_atc), denied_(std::move(denied)) {}

std::int64_t CardBook::ledger_balance(AccountId account) {
  auto found = ledger_.account(account);
  if (!found) {
    log_.event("card_account_missing", {{"account", std::to_string(account.value)}});
    return 0;
  }
  return found->balance_minor;
}

bool CardBook::preload(StoredCard card) {
  if (cards_.size() >= cache_max_) return false;
  if (cards_.contains(card.record.card)) return true;
  cache(std::move(card));
  return true;
}

void CardBook::preload_state(const CardId& account, std::string_view state) {
  if (auto found = slots_.find(account); found != slots_.end()) found->second.state.assign(state);
}

void CardBook::preload_atc(const CardId& card, const AtcWindow& atc) {
  if (CardEntry* found = cards_.find(card)) found->atc = atc;
}

AccountMirror* CardBook::mirror(AccountId account) {
  AccountMirror& found = accounts_[account.value];
  if (found.users++ == 0) found.balance_minor = ledger_balance(account);
  return &found;
}

void CardBook::release_mirror(AccountId account) {
  auto found = accounts_.find(account.value);
  if (found != accounts_.end() && --found->second.users == 0) accounts_.erase(found);
}

void CardBook::attach(CardEntry& entry, std::string state) {
  auto [slot, fresh] = slots_.try_emplace(account_key(entry.record));
  // A medium of an account already cached shares its speculative state.
  if (fresh) slot->second.state = std::move(state);
  slot->second.media.push_back(entry.record.card);
  slot->second.pending += entry.pending;
  entry.account = &slot->second;
  entry.wallet = mirror(entry.record.wallet_account);
  entry.points = mirror(entry.record.points_account);
  entry.bonus = entry.record.bonus_points_account.value != 0 ? mirror(entry.record.bonus_points_account) : nullptr;
}

void CardBook::detach(CardEntry& entry) {
  release_mirror(entry.record.wallet_account);
  release_mirror(entry.record.points_account);
  if (entry.bonus != nullptr) release_mirror(entry.record.bonus_points_account);
  auto slot = slots_.find(account_key(entry.record));
  CITYCARD_CHECK(slot != slots_.end() && &slot->second == entry.account);
  std::erase(slot->second.media, entry.record.card);
  slot->second.pending -= std::min(slot->second.pending, entry.pending);
  if (slot->second.media.empty()) slots_.erase(slot);
  entry.account = nullptr;
  entry.wallet = entry.points = entry.bonus = nullptr;
}

CardEntry& CardBook::cache(StoredCard card) {
  const CardId id = card.record.card;
  CardEntry entry;
  entry.record = std::move(card.record);
  entry.atc = card.atc;
  entry.denied = denied_.count(id) != 0;
  order_.push_back(id);
  cached_.fetch_add(1, std::memory_order_relaxed);
  CardEntry& cached = cards_.insert(id, std::move(entry));
  attach(cached, std::move(card.state));
  return cached;
}

Result<CardEntry*> CardBook::load(const CardId& card) {
  if (CardEntry* found = cards_.find(card)) return found;
  auto record = ledger_.card(card);
  if (!record) {
    if (record.status().code() == StatusCode::not_found) return static_cast<CardEntry*>(nullptr);
    return record.status();
  }
  StoredCard stored;
  stored.record = *record;
  // The account's state, under its key; a linked medium's own old record
  // (from before states were per account) is not read.
  const CardId account = account_key(*record);
  if (slots_.find(account) == slots_.end()) {
    auto state = ledger_.record(ledger::RecordSpace::card_state, card_key(account));
    if (state) {
      stored.state = std::move(*state);
    } else if (state.status().code() != StatusCode::not_found) {
      return state.status();
    }
  }
  if (with_atc_) stored.atc = load_atc(ledger_, card);
  return &cache(std::move(stored));
}

void prefetch_card(const CardTable<CardEntry>& cards, const CardId& card, CardRead read) {
  switch (read) {
    case CardRead::slot: cards.prefetch_slot(card); return;
    case CardRead::entry: cards.prefetch_entry(card); return;
    case CardRead::account:
      if (const CardEntry* entry = cards.find(card)) {
        prefetch_object(entry->account);
        for (const AccountMirror* mirror : {entry->wallet, entry->points, entry->bonus}) {
          if (mirror != nullptr) prefetch_object(mirror);
        }
      }
      return;
    case CardRead::state:
      if (const CardEntry* entry = cards.find(card); entry != nullptr && entry->account != nullptr) {
        prefetch_lines(entry->account->state.data(), entry->account->state.size());
      }
      return;
  }
}

AccountSlot* CardBook::slot_of(const CardId& card) {
  if (CardEntry* found = cards_.find(card)) return found->account;
  auto found = slots_.find(card);
  return found == slots_.end() ? nullptr : &found->second;
}

std::vector<CardId> CardBook::media_cached(const CardId& card) {
  if (const CardEntry* found = cards_.find(card)) return found->account->media;
  auto found = slots_.find(card);
  return found == slots_.end() ? std::vector<CardId>{} : found->second.media;
}

void CardBook::drop_account(const CardId& card) {
  for (const CardId& medium : media_cached(card)) drop(medium);
}

void CardBook::drop_account_if_idle(const CardId& card) {
  AccountSlot* slot = slot_of(card);
  if (slot == nullptr) return;
  if (slot->pending == 0) drop_account(card);
  else slot->stale = true;
}

void CardBook::hold(CardEntry& entry) {
  ++entry.pending;
  ++entry.account->pending;
}

void CardBook::settled(const CardId& card) {
  CardEntry* found = cards_.find(card);
  if (found == nullptr || found->pending == 0) return;
  --found->pending;
  AccountSlot& slot = *found->account;
  if (slot.pending > 0) --slot.pending;
  if (slot.pending == 0 && slot.stale) drop_account(card);
}

void CardBook::rebind(CardEntry& entry, const CardRecord& record, const std::optional<std::string>& given) {
  detach(entry);
  entry.record = record;
  std::string state;
  const CardId account = account_key(record);
  if (given) {
    state = *given;
  } else if (slots_.find(account) == slots_.end()) {
    // Read as load() reads it; unreadable: a fresh state (state_of logs it).
    if (auto stored = ledger_.record(ledger::RecordSpace::card_state, card_key(account))) state = std::move(*stored);
  }
  attach(entry, std::move(state));
}

rules::CardState CardBook::state_of(const CardEntry& entry) {
  rules::CardState state;
  const std::string& stored = entry.account->state;
  if (!stored.empty()) {
    auto decoded = rules::decode_card_state(stored);
    if (decoded) {
      state = *decoded;
    } else {
      // Rated as a fresh card rather than refused: the rider is not at fault.
      log_.event("card_state_unreadable", {{"card", entry.record.card.to_string()}, {"error", decoded.status().to_string()}});
    }
  }
  // The card record is the card office's word on who the card is.
  state.category = entry.record.category;
  state.district = entry.record.district;
  state.media = entry.record.media;
  state.status = entry.record.status;
  state.wallet_minor = entry.wallet->balance_minor;
  state.points = entry.points->balance_minor;
  state.bonus_account = entry.bonus != nullptr;
  state.bonus_points = entry.bonus != nullptr ? entry.bonus->balance_minor : 0;
  return state;
}

void CardBook::drop(const CardId& card) {
  CardEntry* found = cards_.find(card);
  if (found == nullptr) return;
  detach(*found);
  cards_.erase(card);
  cached_.fetch_sub(1, std::memory_order_relaxed);
  if (!remembered_.empty()) std::erase_if(remembered_, [&](const auto& item) { return item.second.first == card; });
}

void CardBook::drop_all() {
  // Every cached card was put in order_ when it was loaded.
  for (const CardId& card : order_) drop(card);
  order_.clear();
  CITYCARD_CHECK(cards_.size() == 0 && accounts_.empty() && slots_.empty());
  remembered_.clear();
}

const std::string* CardBook::remembered(const CardId& card, const std::string& key) const {
  auto found = remembered_.find(key);
  if (found == remembered_.end() || found->second.first != card) return nullptr;
  return &found->second.second;
}

void CardBook::remember(const CardId& card, const std::string& key, std::string value) {
  remembered_[key] = {card, std::move(value)};
}

void CardBook::evict_idle() {
  std::size_t budget = order_.size();
  while (cards_.size() > cache_max_ && budget-- > 0 && !order_.empty()) {
    CardId card = order_.front();
    order_.pop_front();
    CardEntry* found = cards_.find(card);
    if (found == nullptr) continue;
    if (found->pending > 0) {
      order_.push_back(card);
      continue;
    }
    drop(card);
  }
  // Forget order entries of cards dropped by reloads, so the deque stays bounded.
  if (order_.size() > 2 * cards_.size() + 1024) {
    std::deque<CardId> live;
    for (const CardId& card : order_) {
      if (cards_.contains(card)) live.push_back(card);
    }
    order_.swap(live);
  }
}

void CardBook::set_listed(const CardId& card, bool listed) {
  if (listed) denied_.insert(card);
  else denied_.erase(card);
}

}  // namespace citycard::engine
