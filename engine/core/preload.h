// Fills the shards' card caches from the ledger before they start: one pass
// over the card records, one over the card states (and one over the proof
// counters when proofs are checked), instead of two or three point reads on
// each card's first tap -- the morning after a restart is the rush hour.
// Internal to engine/core.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "citycard/status.h"
#include "ledger/ledger.h"
#include "shard.h"

namespace citycard::engine {

struct PreloadReport {
  std::size_t cards = 0;   // card records in the ledger
  std::size_t cached = 0;  // taken into a shard's cache (at most card_cache_max each)
  std::size_t states = 0;  // stored card states attached to them
  double seconds = 0;
};

// Call before the shards start. The ledger's error if a scan fails.
// Each card goes to the shard of its account (media_directory.h), and each
// account's state with it; a linked medium's own state record (from before
// states were per account) is not read.
Result<PreloadReport> preload_cards(const ledger::Ledger& ledger, const MediaDirectory& media,
                                    std::vector<std::unique_ptr<Shard>>& shards, bool with_proof_counters);

}  // namespace citycard::engine
