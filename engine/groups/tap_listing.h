// One business day's tap records as the card office reads them: the admin op
// `taps` (engine running) and `citycard taps` on a stopped ledger answer
// with this one function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "citycard/ids.h"
#include "citycard/status.h"
#include "ledger/ledger.h"

namespace citycard::engine {

struct TapListing {
  std::int32_t business_day = 0;
  std::optional<CardId> card;       // only this card's taps
  std::optional<ReaderId> reader;   // only this reader's taps
  std::size_t limit = 100;
  std::string after;                // the previous page's next_cursor; empty: from the start
};

// {"day", "entries", "next_cursor"}: the day's records in key order (by
// origin, reader, sequence), those after `after`, at most `limit`;
// next_cursor is "" when there is no more. An entry names the tap ("tap:R:S",
// or "svc:R:S" for the charge of a ride given offline after an online
// refusal), its card, account, category, media, mode, operator, route,
// location, event and arrival times, outcome, reason, amounts and rule set
// version, and "anonymised"; an anonymised record (tap_retention.h) has
// "token" (the card's keyed token, hex) instead of "card", account 0, and
// no `card` filter finds it. invalid_argument for a malformed cursor; corruption names a
// record that does not decode.
Result<nlohmann::json> tap_listing_json(const ledger::Snapshot& snapshot, const TapListing& listing);

// The listing a request asks for: {"day": "YYYY-MM-DD", "card"?: hex,
// "reader"?: number, "limit"?: 1..limits::history_page_max, "after"?: cursor}.
// The admin op and the CLI on a stopped ledger both read it, so both refuse
// the same requests with the same words.
Result<TapListing> tap_listing_request(const nlohmann::json& request);

}  // namespace citycard::engine
