// CardState: everything rating needs to know about one card between taps.
// The engine keeps it in the ledger as opaque bytes (encode/decode below) and
// passes it to rate(); rate() returns the next one. Wallet and points balances
// are the ledger's balances of the card's accounts, mirrored here so rating
// can decide without reading the ledger; the engine overwrites them with the
// ledger's values if the two ever differ (card office actions move money
// without a tap).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "citycard/card.h"
#include "citycard/programme.h"
#include "citycard/status.h"
#include "citycard/tap.h"
#include "rules_types.h"

namespace citycard::rules {

// A transfer decided at the start of a leg, applied when its price is final.
// Rider price = max(0, (use_own_price ? own price : 0) + ab_minor - subtract_minor).
struct TransferAdjust {
  Index rule = no_index;          // transfer from the leg before; no_index: none
  Index late_rule = no_index;     // a late leg: transfer into the leg after it, rated earlier
  bool use_own_price = true;
  std::int64_t ab_minor = 0;
  std::int64_t subtract_minor = 0;
  bool operator==(const TransferAdjust&) const = default;
};

// A recently priced transit leg, for transfer windows (GTFS transfer rules).
// A card keeps the last few so that a late offline leg can be paired with the
// legs around it in event time, as if it had arrived in order.
struct LegMemory {
  std::uint32_t rule_set_version = 0;   // 0: empty slot; indexes below are of this version
  Index network = no_index;
  Index leg_group = no_index;
  std::int64_t start_us = 0;            // departure validation (board / tap in)
  std::int64_t end_us = 0;              // arrival validation (alight / tap out); = start if none
  std::int64_t rider_price_minor = 0;   // the leg's own rider price before caps
  std::int64_t journey_price_minor = 0; // rider prices of the journey up to and including it
  std::uint8_t transfers_used = 0;      // transfers in the journey so far
  bool late_paired = false;             // a late, earlier leg already transferred into it
  bool used_as_from = false;            // a later leg already transferred from it
  bool operator==(const LegMemory&) const = default;
};

// A bus ride on a board_and_alight network or a metro trip, started and not
// yet ended. Records what has been posted so far so the end can settle.
struct OpenJourney {
  bool open = false;
  OperatorId operator_id;
  std::uint32_t route = 0;
  std::uint32_t location = 0;           // boarding stop / entry station
  std::int64_t start_us = 0;
  std::int64_t rider_paid_minor = 0;    // wallet -> operator so far
  std::int64_t subsidy_paid_minor = 0;  // city -> operator so far, all programmes
  std::int64_t rider_price_start_minor = 0;  // standalone rider price at the start (one unit)
  TransferAdjust transfer;
  // Of subsidy_paid_minor, what each programme paid (citycard/programme.h): a
  // later tap refunds each programme what it overpaid. Journeys stored before
  // programmes (format v1, v2) read with it all under `unattributed`.
  ProgrammeAmounts programme_paid_minor{};
  bool operator==(const OpenJourney&) const = default;
};

struct OpenRental {
  bool open = false;
  OperatorId operator_id;
  std::uint32_t location = 0;
  std::int64_t start_us = 0;
  bool operator==(const OpenRental&) const = default;
};

struct CapDay {
  std::int32_t business_day = 0;   // days since epoch; 0 with paid 0 = unused slot
  std::int64_t paid_minor = 0;
  bool operator==(const CapDay&) const = default;
};
struct CapMonth {
  std::int32_t month = 0;          // year * 12 + month - 1; 0 = unused slot
  std::int64_t paid_minor = 0;
  bool operator==(const CapMonth&) const = default;
};

// The wallet's money of one business day, for the daily limits: auto
// top-ups given and payments made (Mode::pay). One day is kept, the latest
// rated; a tap of a later day starts both at zero.
struct WalletDay {
  std::int32_t business_day = 0;       // days since epoch; 0 with both 0 = unused
  std::int64_t auto_top_up_minor = 0;  // counted when a daily auto top-up limit applies
  std::int64_t paid_minor = 0;         // counted when a daily payment limit applies
  bool operator==(const WalletDay&) const = default;
};

// The card's own auto top-up threshold when the card office set none.
inline constexpr std::int64_t auto_top_up_threshold_of_rules = -1;

// Venue kinds whose visits are counted for usage rewards.
enum class VisitKind : std::uint8_t { taxi = 0, pool = 1, sports_centre = 2 };
inline constexpr std::size_t visit_kind_count = 3;

struct CardState {
  RiderCategory category = RiderCategory::general;
  Media media = Media::physical_card;
  CardStatus status = CardStatus::active;
  std::int64_t wallet_minor = 0;
  std::int64_t points = 0;
  // The rider's residence district (CardRecord::district), for per-district
  // allotments. Like category, media and status, the card record is its
  // home: the engine sets it from the record before every rating
  // (CardBook::state_of). Unlike them it is not in the encoded state (no
  // format change); decode gives no_district.
  std::uint16_t district = no_district;
  // Auto top-up from the co-branded credit card, as the card office set it
  // (AdminAction::set_auto_top_up). Stored with the account's state; it
  // applies when the tapping medium is one wallet.auto_top_up.media allows.
  bool auto_top_up_enabled = false;       // co-branded credit card holders who opted in
  std::int64_t auto_top_up_amount_minor = 0;  // 0: the rule set's default
  // -1 (auto_top_up_threshold_of_rules): the rule set's threshold.
  std::int64_t auto_top_up_threshold_minor = auto_top_up_threshold_of_rules;
  // The most auto top-up money per business day; 0: the rule set's
  // (wallet.auto_top_up.daily_max_minor; 0 there too: no limit).
  std::int64_t auto_top_up_daily_max_minor = 0;
  WalletDay wallet_day;                   // today's auto top-ups and payments, for those limits

  // Bonus points (engine/rules/bonus_points.h): the ledger's balance of the
  // account's card_bonus_points, mirrored like points, and the last local
  // month (year * 12 + month - 1) they are valid in; 0 = they never expire.
  std::int64_t bonus_points = 0;
  std::int32_t bonus_expiry_month = 0;
  // Whether the card has a card_bonus_points account: false for a card
  // issued before bonus points had their own (CardRecord::bonus_points_account
  // empty), which neither earns nor spends them. Like district, the card
  // record is its home (CardBook::state_of); not in the encoded state
  // (decode gives true).
  bool bonus_account = true;

  std::int32_t points_month = 0;          // local month of the last allotment; 0 = never
  std::int32_t visits_month = 0;          // local month the visit counters belong to
  std::array<std::uint16_t, visit_kind_count> visits{};

  std::array<LegMemory, legs_kept> recent_legs{};  // ascending start_us; empty slots first
  OpenJourney bus;
  OpenJourney metro;
  OpenRental bike;
  std::array<CapDay, cap_days_kept> cap_days{};
  std::array<CapMonth, cap_months_kept> cap_months{};

  bool operator==(const CardState&) const = default;
};

// Encoded form: encode writes version 5, variable length, at most
// card_state_bytes_max bytes (empty slots and default fields cost nothing;
// grammar in card_state_codec_v2.cpp: v3 is v2 plus each journey's paid
// amounts per programme, v4 is v3 plus two optional groups: the card's auto
// top-up threshold and daily limit, and the wallet's day; v5 is v4 plus one
// optional group: the bonus points and their expiry month). decode reads
// versions 5, 4, 3, 2 and 1 (fixed 496 bytes,
// card_state_codec_v1.cpp) and returns corruption, naming the problem, for
// anything else: other versions, wrong length, bad varints, unknown enums,
// flags or programmes, negative accumulators.
inline constexpr std::uint8_t card_state_format_version = 5;
inline constexpr std::size_t card_state_bytes_max = 870;
std::string encode_card_state(const CardState& state);
Result<CardState> decode_card_state(std::string_view bytes);

}  // namespace citycard::rules
