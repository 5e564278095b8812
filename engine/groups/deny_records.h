// The engine's durable deny list: one record per card that was ever listed,
// RecordSpace::engine, key "deny/" + card id bytes, value "1" (listed) or
// "0" (no longer). Written by the engine only: in the same posting group as
// the change that lists or unlists the card, and at start for what changed
// while it was stopped (deny_list_store.h). So after a clean stop they hold
// exactly the list last served.
//
// What the list should hold is the ledger's truth: a card is listed when its
// status is not active (blocked, lost, replaced) or its wallet is below zero
// (an offline ride taken into debt). The shards keep that while they run
// (Shard::note_listing); at start it is read from the card records and the
// wallets, so changes made without the engine (the CLI on a stopped ledger,
// an import) are on the list too.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "atc_window.h"
#include "citycard/ids.h"
#include "citycard/status.h"
#include "ledger/ledger.h"

namespace citycard::engine {

inline constexpr std::string_view deny_record_prefix = "deny/";
// Uploaded offline taps kept for review (event time out of bounds): key
// "review/" + the tap's key text, value a JSON object (shard_taps.cpp).
inline constexpr std::string_view review_record_prefix = "review/";

ledger::RecordWrite deny_record(const CardId& card, bool listed);
// The cards the "deny/" records list, scanning the engine records of a snapshot.
Result<std::vector<CardId>> load_denied_cards(const ledger::Ledger& ledger);
// The cards the ledger's truth lists (above), ascending: one pass over the
// card records, each wallet's balance from memory. A card whose wallet
// account is missing counts as not in debt (verify reports it).
Result<std::vector<CardId>> listed_cards_in_ledger(const ledger::Ledger& ledger);

// The card proof counters accepted for a card (atc_window.h): key "atc/" +
// card id bytes, value AtcWindow::encode().
inline constexpr std::string_view atc_record_prefix = "atc/";
ledger::RecordWrite atc_record(const CardId& card, const AtcWindow& window);
// Empty when the card has no record (or an unreadable one).
AtcWindow load_atc(const ledger::Ledger& ledger, const CardId& card);

}  // namespace citycard::engine
