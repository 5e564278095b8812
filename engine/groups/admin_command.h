// Card-office actions that change a card, as the engine's shards carry them
// out (admin_api.h turns JSON lines into these). Each becomes one posting
// group through the card's shard, so it is ordered with the card's taps and
// durable before it is answered.
#pragma once

#include <cstdint>
#include <string>

#include "citycard/card.h"
#include "citycard/ids.h"
#include "citycard/reader.h"
#include "citycard/status.h"
#include "citycard/time.h"

namespace citycard::engine {

enum class AdminAction : std::uint8_t {
  top_up = 1,      // topup_float -> wallet, amount_minor > 0; active cards only
  set_status = 2,  // status = active | blocked | lost; not for replaced cards
  replace = 3,     // issue new_card if missing, move wallet and points to it, old -> replaced
  refund = 4,      // wallet -> refunds, amount_minor > 0, at most the wallet balance
  reader_add = 5,     // register `reader` (rules::validate_registration; id not yet registered)
  reader_status = 6,  // reader.id's status = reader.status (suspended <-> active; retired for good)
  // Four eyes (approvals.h): key = the waiting refund's reference, card =
  // its card; carried out through the card's shard like the refund itself.
  approve = 7,     // post the refund (the wallet check applies now), mark it approved
  reject = 8,      // mark it rejected; no money moves
};

constexpr bool is_reader_action(AdminAction action) noexcept {
  return action == AdminAction::reader_add || action == AdminAction::reader_status;
}

struct AdminCommand {
  AdminAction action = AdminAction::top_up;
  CardId card;
  CardId new_card;                     // replace
  CardStatus status = CardStatus::active;  // set_status
  std::int64_t amount_minor = 0;       // top_up, refund
  IdempotencyKey key;                  // op:SOURCE:NUMBER; repeat it to retry safely
  EventTime time;                      // when the operator acted
  std::string operator_name;           // the signed-in clerk who acted (audit_entry.h); empty: none
  std::string clerk_role;              // that clerk's role name
  std::string reason;                  // the clerk's reason, for the audit trail; may be empty
  ReaderRecord reader;                 // reader_add: the registration; reader_status: id and status
};

struct AdminResult {
  Status status;                       // not ok: nothing changed
  bool duplicate = false;              // the key had been used; nothing changed now
  bool pending = false;                // refund: recorded, waiting for a second supervisor; no money moved
  CardId card;
  CardStatus card_status = CardStatus::active;
  std::int64_t wallet_minor = 0;       // after the action (of the new card for replace)
  std::int64_t points = 0;
  std::int64_t moved_wallet_minor = 0; // replace: what moved
  std::int64_t moved_points = 0;
  ReaderRecord reader;                 // reader actions: the registration after the action
};

}  // namespace citycard::engine
