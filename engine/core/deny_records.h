// The engine's durable deny list: one record per card that was ever listed,
// RecordSpace::engine, key "deny/" + card id bytes, value "1" (listed) or
// "0" (no longer). Written in the same posting group as the change that
// lists or unlists the card, so the list and the ledger never disagree.
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

ledger::RecordWrite deny_record(const CardId& card, bool listed);
// The cards listed now, scanning the engine records of a snapshot.
Result<std::vector<CardId>> load_denied_cards(const ledger::Ledger& ledger);

// The card proof counters accepted for a card (atc_window.h): key "atc/" +
// card id bytes, value AtcWindow::encode().
inline constexpr std::string_view atc_record_prefix = "atc/";
ledger::RecordWrite atc_record(const CardId& card, const AtcWindow& window);
// Empty when the card has no record (or an unreadable one).
AtcWindow load_atc(const ledger::Ledger& ledger, const CardId& card);

}  // namespace citycard::engine
