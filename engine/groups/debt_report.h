// `citycard report debt`: the cards whose wallet is below zero (an overdraft
// the card was issued with, or a fare taken offline), how much, and since
// when -- the event time of the transfer that last took the wallet from zero
// or more to below zero, found by walking the wallet's history back from its
// balance. For the card office's letters and the council's question of how
// long debts stay open.
//
// Cost: one pass over the cards (scan_cards), and for each card in debt its
// history back to the crossing (usually a page). Memory: the entries only.
#pragma once

#include <cstdint>
#include <vector>

#include "citycard/card.h"
#include "citycard/status.h"
#include "citycard/time.h"
#include "ledger/ledger.h"

namespace citycard::engine {

struct DebtEntry {
  CardId card;             // the primary card of the wallet
  AccountId wallet;
  RiderCategory category = RiderCategory::general;
  std::int64_t balance_minor = 0;  // < 0
  EventTime since;         // the transfer that took the wallet below zero (and it stayed there)
  std::uint64_t since_sequence = 0;
};

// The cards in debt, most in debt first (then by card id). The ledger should
// be one that does not change while this runs (opened read-only, or stopped):
// balances and history are read from it directly. corruption when a wallet's
// history does not lead back to a balance of zero or more (verify names why).
Result<std::vector<DebtEntry>> read_debt_report(const ledger::Ledger& ledger);

}  // namespace citycard::engine
