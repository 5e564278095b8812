// Card-office actions that change a card, as the engine's shards carry them
// out (admin_api.h turns JSON lines into these). Each becomes one posting
// group through the card's shard, so it is ordered with the card's taps and
// durable before it is answered.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "citycard/card.h"
#include "citycard/ids.h"
#include "citycard/reader.h"
#include "citycard/status.h"
#include "citycard/time.h"
#include "citycard/transfer.h"

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
  // A correction of the card's wallet (group_adjust.cpp): amount_minor > 0
  // credits it (the rider was overcharged), < 0 debits it (a charge the
  // card missed); `tap` names the tap it corrects, if any. A reason is
  // required. Waits for a second supervisor over four_eyes_minor, as a
  // refund does.
  adjust = 9,
  // A request refused before any rule ran (the role table), that is no card
  // action: only its audit entry (outcome refused) is written
  // (refusals.h). `op` names it, `refusal` says why.
  record_refusal = 10,
  // One account, many media (media_directory.h, group_accounts.cpp). Each
  // is carried out through the shard of the account that keeps the money.
  link = 11,    // card (a primary with no media of its own) joins new_card's account: balances move
  unlink = 12,  // card (a linked medium) leaves its account: fresh accounts, zero balance, fresh state
  merge = 13,   // card's account (its primary) joins new_card's: balances, debt, state, media move
  // The card's category and its eligibility period (eligibility.h): the
  // welfare office's import, one card at a time through its shard.
  set_category = 14,
  // The close's overnight repricing (repricing.h): `transfers` move the
  // difference between what tap `key` names (rpt:/rps:) posted and what it
  // costs re-rated in event order, on day `reprice_day`. No clerk asks for
  // it; the close's own audit entry says what repricing did.
  reprice = 15,
  // Auto top-up from the co-branded credit card (group_auto_top_up.cpp):
  // `auto_top_up` switches it on with the card's threshold, amount and
  // daily limit, checked against the rule set in force at `time`, or off.
  // Kept in the rating state of the card's account; no money moves.
  set_auto_top_up = 16,
};

constexpr bool is_reader_action(AdminAction action) noexcept {
  return action == AdminAction::reader_add || action == AdminAction::reader_status;
}

// What set_auto_top_up asks for. Amounts in the rule set's minor unit.
struct AutoTopUpSetting {
  bool enabled = false;
  std::int64_t threshold_minor = 0;  // top up when a charge would leave less (>= 0)
  std::int64_t amount_minor = 0;     // one top-up (> 0)
  std::int64_t daily_max_minor = 0;  // the most auto top-up money per business day (>= amount)
  bool operator==(const AutoTopUpSetting&) const = default;
};

struct AdminCommand {
  AdminAction action = AdminAction::top_up;
  CardId card;
  CardId new_card;                     // replace; link: the primary; merge: the survivor
  CardStatus status = CardStatus::active;  // set_status
  std::int64_t amount_minor = 0;       // top_up, refund (> 0); adjust (signed, not 0)
  RiderCategory category = RiderCategory::general;  // set_category, with its period:
  std::int32_t category_from_day = no_category_day;
  std::int32_t category_until_day = no_category_day;
  std::optional<std::uint16_t> district;  // set_category: the residence district; none = unchanged
  AutoTopUpSetting auto_top_up;        // set_auto_top_up
  IdempotencyKey key;                  // op:SOURCE:NUMBER; repeat it to retry safely
  EventTime time;                      // when the operator acted
  std::string operator_name;           // the signed-in clerk who acted (audit_entry.h); empty: none
  std::string clerk_role;              // that clerk's role name
  std::string reason;                  // the clerk's reason, for the audit trail; may be empty
  ReaderRecord reader;                 // reader_add: the registration; reader_status: id and status
  std::optional<TapId> tap;            // adjust: the tap it corrects; none: a goodwill correction
  // Not ok: the request was refused before any rule ran (the role table);
  // the group builder only records the refusal (refusals.h) and answers it.
  Status refusal;
  std::string op;                      // record_refusal: the admin op or command refused
  std::vector<Transfer> transfers;     // reprice: the correction, account ids resolved
  std::int32_t reprice_day = 0;        // reprice: the business day repriced
  AccountId reprice_paying_card;       // reprice: the card account paying in the repriced tap (0: none)
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
  std::vector<CardId> media_moved;     // link, merge, replace: the media that changed account
  ReaderRecord reader;                 // reader actions: the registration after the action
};

}  // namespace citycard::engine
