// A card's transfers as the card office reads them: the admin op history
// (engine running) and `citycard history` on a stopped ledger answer with
// this one function, so both show the same lines.
#pragma once

#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "citycard/ids.h"
#include "citycard/status.h"
#include "ledger/ledger.h"

namespace citycard::engine {

// {"card", "entries", "next_cursor"}: the wallet's and the points
// account's transfers merged newest first, older than `before` (0: from the
// newest), at most `limit`; next_cursor is the `before` of the next page, 0
// when there is no more. An entry: {"sequence", "id" (ref/leg),
// "event_time_us", "code", "asset", "amount_minor" (signed for the card),
// "mode", "operator", "location", "rule_set_version", "flags"}, and for an
// adjustment "note": the tap it corrects and the reason, from its audit
// entry ("tap:17:5: charged twice"). A card that moved between accounts
// (link, unlink, merge: account_moves.h) also shows the transfers of the
// accounts it left, and "moves": [{"ref", "time_us", "how", "account"}],
// oldest first; a linked medium has "account" (its primary), a replaced
// card "replaced_by". A transfer between two of the card's accounts shows
// once, as money out. not_found for an unknown card.
Result<nlohmann::json> card_history_json(const ledger::Ledger& ledger, const CardId& card, std::size_t limit,
                                         std::uint64_t before);

}  // namespace citycard::engine
