// The served deny list across restarts: which cards are on it when the
// engine starts, and which versions it may go on serving. Internal to
// engine/core; docs/engine.md "The deny list across restarts" argues it.
//
// Versions are epoch << 40 | sequence. Within an epoch the sequence counts
// the changes served; readers hold versions and ask for deltas from them. An
// epoch continues across a restart only when the last stop was clean (its
// state saved after every change was durable and served) and the "deny/"
// records still hold exactly the set served at that version; otherwise the
// next epoch starts and every reader's version is unknown to it, so each
// gets a full snapshot: a reader never gets a delta from a version whose
// meaning the engine cannot prove.
//
// Records (RecordSpace::engine), beside "deny/<card>" (deny_records.h):
//   "deny_list/state"   := format: byte (1)  epoch: fixed64  sequence: fixed64
//                          clean: byte (0 running or crashed, 1 stopped cleanly)
//                          cards: fixed64  digest: fixed64 (sum of CardIdHash over the cards)
//   "deny_list/history" := first_sequence: fixed64  count: fixed32  change[count]
//                          (written at a clean stop: the changes first_sequence..
//                          first_sequence+count-1 of the state's epoch)
//   change              := added: byte (0 | 1)  length: byte (1..16)  card: bytes(length)
// Little-endian, ledger/encoding.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citycard/ids.h"
#include "citycard/status.h"
#include "engine/net/memory_deny_list.h"
#include "ledger/ledger.h"

namespace citycard::engine {

inline constexpr unsigned deny_sequence_bits = 40;
inline constexpr std::uint64_t deny_sequence_mask = (std::uint64_t{1} << deny_sequence_bits) - 1;
inline constexpr std::uint64_t deny_epoch_max = (std::uint64_t{1} << (64 - deny_sequence_bits)) - 1;
inline constexpr std::uint64_t deny_version(std::uint64_t epoch, std::uint64_t sequence) {
  return epoch << deny_sequence_bits | sequence;
}
static_assert(deny_version(1, 0) == 0x100'0000'0000ULL);

struct DenyListStart {
  std::uint64_t epoch = 0;
  std::uint64_t version = 0;       // served from now on
  std::size_t cards = 0;
  std::size_t listed = 0;          // cards on the ledger's list that were not served before
  std::size_t unlisted = 0;        // cards served before that the ledger no longer lists
  std::size_t history = 0;         // changes kept from before the restart, for deltas
  bool continued = false;          // the epoch of the last clean stop goes on
  std::string new_epoch_because;   // when not continued: why
};

// At start, before anything is served: `listed` is the set the ledger's
// truth lists now (listed_cards_in_ledger). Loads the last saved state and
// the "deny/" records, fills `list` (the epoch's history, then the changes
// made while the engine was stopped as new versions; or a new epoch holding
// `listed`), and writes in one synced write the "deny/" records that change
// and the state marked running (clean 0), so a crash from here on starts a
// new epoch. Errors: the ledger's; corruption for an unreadable state record
// (nothing is then written).
Result<DenyListStart> open_deny_list(ledger::Ledger& ledger, const std::vector<CardId>& listed,
                                     net::MemoryDenyList& list);

// At a clean stop, after the last change is durable and applied to `list`:
// saves its version, cards digest and history, marked clean. A failure only
// costs readers a full snapshot after the next start.
Status save_deny_list(ledger::Ledger& ledger, const net::MemoryDenyList& list);

}  // namespace citycard::engine
