// The cards a builder of posting groups works on: card record, encoded
// rating state, balance mirrors, proof counters and the card's key, and the
// deny-list membership of the cards. Filled from the ledger (preload at the
// engine's start, or a card's first use), bounded by cache_max with the
// oldest idle cards evicted. The engine's shard keeps one for its cards; the
// CLI on a stopped ledger keeps one for the card it acts on.
//
// The rating state is the account's (media_directory.h): cached media of
// one account share one AccountSlot, stored under the account key.
//
// Not thread-safe (the owner's thread), except cached(). A CardEntry* stays
// valid until the next card is loaded or dropped.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "atc_window.h"
#include "card/crypto.h"
#include "card_state.h"
#include "card_table.h"
#include "citycard/card.h"
#include "ledger/ledger.h"
#include "log.h"
#include "media_directory.h"

namespace citycard::engine {

struct AccountMirror {
  std::int64_t balance_minor = 0;
  std::uint32_t users = 0;  // cached cards naming this account
};

// The rating state of an account (media_directory.h), shared by its cached
// media: one per account key, like the AccountMirror of its balances.
struct AccountSlot {
  std::string state;           // encoded rules::CardState, speculative (includes groups
                               // built but not yet durable); empty: a fresh account
  std::vector<CardId> media;   // the cached cards of the account (usually one or two)
  std::uint32_t pending = 0;   // groups built and not yet settled naming any of them
  bool stale = false;          // changed elsewhere: drop the account once nothing is pending
};

// A cached card: ~300 bytes, so a city's 1.3M cards fit (the state is kept
// encoded, ~100 bytes, once per account, and decoded for each rating).
struct CardEntry {
  CardRecord record;
  AccountSlot* account = nullptr;   // owned by the book (stable address)
  AccountMirror* wallet = nullptr;  // mirrors owned by the book (stable addresses)
  AccountMirror* points = nullptr;
  AccountMirror* bonus = nullptr;   // nullptr: a card issued before bonus points accounts
  std::uint32_t pending = 0;   // groups built and not yet settled naming this card
  bool denied = false;         // speculative deny list membership
  AtcWindow atc;               // card proof counters accepted (speculative)
  // The card's key, derived through the token on the card's first proof
  // and kept only in memory; key_version 0: none derived yet.
  std::uint8_t key_version = 0;
  card::CardKey key;
};

// What rating a card reads, in the order it reads it: the card's table
// slot, its entry, its account's slot and mirrors, the account's state.
// Each is a dependent read and a likely cache miss among a city's cards.
enum class CardRead : std::uint8_t { slot, entry, account, state };
// Hints `read` of `card` into the cache, reading only what the read before
// it brought in (a hint: nothing is loaded or changed; an unknown card, none).
void prefetch_card(const CardTable<CardEntry>& cards, const CardId& card, CardRead read);
// For a run of cards used in order, about to use the one at `at`: the reads
// up to `last`, each hinted for the card as many places ahead as reads
// follow it (with all four: the slot four ahead, the state one ahead).
// card_at(i): a pointer to the card at i, or nullptr if none.
template <typename CardAt>
void prefetch_cards_ahead(const CardTable<CardEntry>& cards, std::size_t at, std::size_t count, CardAt&& card_at,
                          CardRead last = CardRead::state) {
  const std::size_t reads = static_cast<std::size_t>(last) + 1;
  for (std::size_t read = 0; read < reads; ++read) {
    const std::size_t ahead = at + reads - read;
    if (ahead >= count) continue;
    if (const CardId* card = card_at(ahead)) prefetch_card(cards, *card, static_cast<CardRead>(read));
  }
}

// A card as found in the ledger.
struct StoredCard {
  CardRecord record;
  std::string state;           // its account's encoded rules::CardState; empty: none yet
  AtcWindow atc;               // card proof counters accepted
};

class CardBook {
 public:
  // with_atc: read each loaded card's proof counters (card proofs checked).
  // denied: the cards on the durable deny list.
  CardBook(const ledger::Ledger& ledger, Log& log, std::size_t cache_max, bool with_atc,
           std::unordered_set<CardId, CardIdHash> denied = {});

  // Takes a card in, up to cache_max; false when the book is full.
  bool preload(StoredCard card);
  // The stored state of an account (ignored unless a medium of it is cached).
  void preload_state(const CardId& account, std::string_view state);
  void preload_atc(const CardId& card, const AtcWindow& atc);

  CardEntry* cached(const CardId& card) { return cards_.find(card); }

  // Rating a card reads its table slot, its entry, then its account's slot,
  // mirrors and state: dependent reads, each a likely cache miss among a
  // city's cards. Whoever walks a run of cards hints each stage a card or
  // more ahead of its use (prefetch_ahead), so that each stage reads only
  // what the one before brought in. Hints only: nothing is read from the
  // ledger, loaded or changed.
  using Prefetch = CardRead;
  void prefetch(const CardId& card, Prefetch stage) const { prefetch_card(cards_, card, stage); }
  // For a run of cards used in order, about to use the one at `at`
  // (prefetch_cards_ahead).
  template <typename CardAt>
  void prefetch_ahead(std::size_t at, std::size_t count, CardAt&& card_at, Prefetch last = Prefetch::state) const {
    prefetch_cards_ahead(cards_, at, count, card_at, last);
  }
  // The card, read from the ledger if it is not cached. Value nullptr: the
  // ledger has no such card; an error: the ledger could not be read.
  Result<CardEntry*> load(const CardId& card);
  // Forgets the card (read again on its next use); its account's state is
  // forgotten with its last cached medium.
  void drop(const CardId& card);
  // Forgets every cached medium of the account of `card` (a card id or an
  // account key): its state was proven wrong or changed elsewhere.
  void drop_account(const CardId& card);
  // drop_account() if nothing of the account is pending; else marks it
  // stale, to be dropped when its last group settles (settled()).
  void drop_account_if_idle(const CardId& card);
  // The cached media of the account of `card` (none if it is not cached).
  std::vector<CardId> media_cached(const CardId& card);
  // A group built naming the card (pending until settled()).
  void hold(CardEntry& entry);
  // A group naming the card settled (durable, rejected or voided).
  void settled(const CardId& card);
  // The card's record changed its account (link, unlink, merge, replace):
  // the entry leaves its account's state and mirrors for those of
  // `record`'s account; if no medium of that account is cached, its state
  // is `state` when given (as the group writes it), else read from the ledger.
  void rebind(CardEntry& entry, const CardRecord& record, const std::optional<std::string>& state = std::nullopt);
  // Forgets every card, pending groups or not: after a ledger write failed,
  // what the book built on it is void (the deny list membership stays: it
  // is the durable one).
  void drop_all();
  // Drops idle cards (pending == 0), oldest first, down to cache_max.
  void evict_idle();
  std::vector<CardId> ids_in_load_order() const { return {order_.begin(), order_.end()}; }
  std::size_t cached_count() const noexcept { return cached_.load(std::memory_order_relaxed); }

  // The card's rating state: its account's state (a fresh one if none or
  // unreadable, logged), with the tapping medium's record (category, media,
  // status) and the mirrored balances laid over it.
  rules::CardState state_of(const CardEntry& entry);
  // The account's state as built, to be written under its account key.
  void set_state(CardEntry& entry, std::string state) { entry.account->state = std::move(state); }
  // The mirrored balance of an account of a cached card.
  std::int64_t& balance(AccountId account) { return accounts_.at(account.value).balance_minor; }

  // The durable deny list membership of the book's cards.
  bool listed(const CardId& card) const { return denied_.count(card) != 0; }
  void set_listed(const CardId& card, bool listed);

  // A record the builder follows beside a cached card as it builds groups,
  // like the card's balances (an adjusted tap's: tap_adjustments.h): its
  // value as built, groups not yet durable included; nullptr when none is
  // remembered (read it from the ledger). Forgotten when the card is
  // dropped, so after a reload it is read from the ledger again.
  const std::string* remembered(const CardId& card, const std::string& key) const;
  void remember(const CardId& card, const std::string& key, std::string value);

 private:
  CardEntry& cache(StoredCard card);
  std::int64_t ledger_balance(AccountId account);
  AccountMirror* mirror(AccountId account);
  void release_mirror(AccountId account);
  // Joins `entry` to its record's account slot (created with `state` if new).
  void attach(CardEntry& entry, std::string state);
  void detach(CardEntry& entry);
  AccountSlot* slot_of(const CardId& card);

  const ledger::Ledger& ledger_;
  Log& log_;
  std::size_t cache_max_;
  bool with_atc_;
  CardTable<CardEntry> cards_;
  std::deque<CardId> order_;  // load order, for eviction
  std::unordered_map<std::uint64_t, AccountMirror> accounts_;
  std::unordered_map<CardId, AccountSlot, CardIdHash> slots_;  // by account key
  std::unordered_set<CardId, CardIdHash> denied_;
  // key -> (the card it was remembered beside, value); rare (adjusted taps).
  std::unordered_map<std::string, std::pair<CardId, std::string>> remembered_;
  std::atomic<std::size_t> cached_{0};
};

}  // namespace citycard::engine
