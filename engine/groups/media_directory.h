// Which account each medium belongs to. The rating state (caps, transfer
// windows, welfare points, open journeys, visit counts) belongs to the
// account, and an account is named by its primary card: a card with no
// `linked_to` is its own account; a linked medium (a mobile NFC card, a
// co-branded credit card, a card merged into another person's account)
// belongs to its `linked_to`. The state is stored under the account key
// (RecordSpace::card_state keyed by the primary's id) and every medium of
// the account reads and writes that one state.
//
// The engine routes taps and card-office actions by account key, so one
// shard owns an account's state; it needs medium -> account before dispatch.
// MediaDirectory holds the media that are not their own account (~27k of
// 1.3M cards): read once per submitted batch, changed when a link, unlink
// or merge is durable.
//
// Threading: every call may come from any thread. table() is a pointer
// copy under a mutex; set()/erase() copy the table (rare: card-office
// actions), so a reader never waits for longer than that pointer copy.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "citycard/card.h"
#include "citycard/status.h"
#include "hashing.h"
#include "ledger/ledger.h"

namespace citycard::engine {

// The account a card record belongs to: its primary's id, or its own.
inline CardId account_key(const CardRecord& record) { return record.linked_to.empty() ? record.card : record.linked_to; }

class MediaDirectory {
 public:
  using Table = std::unordered_map<CardId, CardId, CardIdHash>;  // medium -> account key

  MediaDirectory() : table_(std::make_shared<Table>()) {}
  explicit MediaDirectory(Table table) : table_(std::make_shared<Table>(std::move(table))) {}

  // Every linked medium of the ledger's cards (one pass over the cards).
  static Result<Table> scan(const ledger::Ledger& ledger);

  std::shared_ptr<const Table> table() const;
  // The account key of `card` in `table`: its primary, or itself.
  static const CardId& account_in(const Table& table, const CardId& card) {
    auto found = table.find(card);
    return found == table.end() ? card : found->second;
  }
  CardId account_of(const CardId& card) const { return account_in(*table(), card); }
  // The media linked to `account` (not the primary itself), in no order.
  std::vector<CardId> media_of(const CardId& account) const;

  // Every entry at once (the engine's start).
  void reset(Table table);
  // `medium` now belongs to `account` (its own id: it is a primary again).
  void set(const CardId& medium, const CardId& account);
  std::size_t size() const { return table()->size(); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Table> table_;
};

}  // namespace citycard::engine
