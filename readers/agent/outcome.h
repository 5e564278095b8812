// What the reader decided about one presented card, and how it is shown:
// one line for a person, one JSON object per line for a device.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "session/reader_session.h"
#include "citycard/money.h"
#include "citycard/tap.h"
#include "deny_list.h"

namespace citycard::agent {


enum class TapResult : std::uint8_t {
  approved = 1,
  refused = 2,
  tap_again = 3,   // the exchange did not complete (card left early, device fault): rider not admitted
};

struct TapOutcome {
  TapResult result = TapResult::tap_again;
  TapId tap;
  CardId card;                                  // empty if the card could not be read
  RefusalReason reason = RefusalReason::none;
  std::string detail;                           // why, in words, for refusals and tap_again
  bool offline = false;                         // decided by the reader, queued for upload
  std::size_t queued = 0;                       // taps waiting for the engine after this one
  Asset asset = Asset::twd;
  std::optional<std::int64_t> fare_minor;       // from the engine, online only
  std::optional<std::int64_t> balance_minor;
  // The state disk is full: this tap's record took space from the reserve
  // (space_reserve.h), or could not be written at all (then tap_again).
  bool disk_full = false;
};

// The reader's own decision from the card's data and the deny list.
// Approved means: admit, and queue the tap with offline = true.
TapOutcome decide_offline(const card::CardReadout& readout, const DenyList& deny_list);

// "APPROVED  card 04A1B2C3D4E5F6  fare 15 TWD  balance 285 TWD  [tap 17/1001]"
std::string format_line(const TapOutcome& outcome);
// {"result":"approved","card":"04A1...","reader":17,"sequence":1001,...}
std::string format_json(const TapOutcome& outcome);

}  // namespace citycard::agent
