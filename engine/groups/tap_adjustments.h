// Adjustments that name a tap (`citycard card adjust --tap READER:SEQUENCE`,
// admin op card_adjust with "tap"): what the tap charged the card, per
// operator, as its transfers in the ledger say, and what adjustments have
// moved against it since, kept in a record beside it.
//
// The money rule (group_adjust.cpp): a credit comes back from the operators
// that received the tap's fare, in the order the tap paid them, and never
// more from one operator than the tap paid it plus what earlier adjustments
// naming the tap debited to it; a debit goes to the operator the tap paid
// first (the one whose ride it was).
//
// Record (RecordSpace::engine, key "adjusted/" "tap:R:S"), written in the
// group of every adjustment naming the tap, a JSON object:
//   {"operators": [{"operator": id, "credited_minor": n, "debited_minor": n}, ...]}
// credited_minor: paid back to the card from the operator's payable;
// debited_minor: paid to it from the card; both >= 0, over every
// adjustment naming the tap.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "citycard/card.h"
#include "citycard/ids.h"
#include "citycard/status.h"
#include "citycard/tap.h"
#include "ledger/ledger.h"

namespace citycard::engine {

inline constexpr std::string_view tap_adjusted_prefix = "adjusted/";

// "17:5" or "tap:17:5" (as history shows it); nullopt for anything else.
std::optional<TapId> parse_tap_reference(std::string_view text);
// "tap:17:5"
std::string tap_reference(TapId tap);

struct OperatorAdjusted {
  OperatorId operator_id;
  std::int64_t credited_minor = 0;
  std::int64_t debited_minor = 0;
};

struct TapAdjusted {
  std::vector<OperatorAdjusted> operators;  // in the order first adjusted
  // The operator's entry, added (zero) if it has none.
  OperatorAdjusted& of(OperatorId operator_id);
  std::int64_t credited_minor() const;
  std::int64_t debited_minor() const;
};

std::string tap_adjusted_key(TapId tap);
std::string encode_tap_adjusted(const TapAdjusted& adjusted);
// corruption naming the tap when the body is not such a record.
Result<TapAdjusted> decode_tap_adjusted(TapId tap, std::string_view body);
// The tap's record, or an empty one when nothing adjusted it yet.
Result<TapAdjusted> load_tap_adjusted(const ledger::Ledger& ledger, TapId tap);

// One operator the tap paid from the card's wallet.
struct OperatorCharged {
  OperatorId operator_id;
  AccountId payable;
  std::int64_t charged_minor = 0;  // net: fares and payments less fare refunds
};

// What a tap did to a card, from its transfers (under tap:R:S, and under
// svc:R:S when a reader gave the ride offline after an online refusal).
struct TapCharge {
  TapId tap;
  // In the order the tap paid them; a tap that paid none from the wallet
  // has the operator its first transfer names, at 0.
  std::vector<OperatorCharged> operators;
  // The operator a debit goes to: the first of `operators`; none (0) when
  // the tap names no registered operator.
  OperatorId debit_operator;
  AccountId debit_payable;
  // The tap's place, copied onto an adjustment's transfers so the
  // operator's settlement line says which ride it corrects.
  Mode mode = Mode::identify;
  std::uint32_t route = 0;
  std::uint32_t location = 0;
};

// The tap's charge to `card`. Errors, each naming the tap: not_found when
// the ledger holds no tap R:S; refused when it moved no money of any card,
// or was another card's (a tap of a card that `card` replaced counts as
// its own, and so does one of a medium linked to it: they share the wallet).
Result<TapCharge> read_tap_charge(const ledger::Ledger& ledger, TapId tap, const CardRecord& card);

}  // namespace citycard::engine
