// The record of every tap the engine decides (approved, refused, identity,
// late), written in the same group as its decision (RecordSpace::tap_records):
// who, when, where, what the reader was told and what money moved. Usage
// reports, door logs and "why was I charged this?" read these; a day's
// records are also the inputs to rate that day again.
//
// Key (17 bytes, so that one business day's records are one range):
//   business_day:u32 BE (days since epoch + 2^31)  origin:u8  reader:u32 BE  sequence:u64 BE
// origin tells a tap's own decision from the service-given one made for it
// later (an offline resubmission of a tap refused online): both are kept.
//
// Value, version 1 (varints are LEB128, signed ones zigzag; coding.h):
//   format:u8 (= 1)  flags:u8  card_size:u8 card:card_size bytes  account:varint
//   category:u8 (0: card unknown)  media:u8  mode:u8  outcome:u8  reason:u8
//   event_time_us:svarint  arrival_minus_event_us:svarint  operator:varint
//   route:varint  location:varint  amount_minor:svarint  fare_minor:svarint
//   subsidy_minor:svarint  points_redeemed:svarint  rule_set_version:varint
// flags: bit 0 offline (the reader admitted the rider without the engine);
//        bit 1 anonymised (tap_retention.h): `card` holds the card's keyed
//        token (tap_token.h, tap_token_bytes) and account is 0. Records
//        written before the bit existed have it clear and read as before.
// Later versions may append fields; a reader of version 1 refuses trailing bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "citycard/ids.h"
#include "citycard/status.h"
#include "citycard/tap.h"
#include "citycard/time.h"
#include "ledger/ledger.h"
#include "protocol/messages.h"

namespace citycard::engine {

inline constexpr std::uint8_t tap_record_format_version = 1;
inline constexpr std::size_t tap_record_key_bytes = 4 + 1 + 4 + 8;

struct RecordedTap {
  Origin origin = Origin::tap;        // tap, or service_given
  std::int32_t business_day = 0;      // of the tap's event time, by the rule set that rated it
  Tap tap;                            // as the reader sent it (id, card, media, times, place, amount, offline)
  EventTime arrival;                  // when the engine received it (0: not known)
  AccountId account;                  // the card's wallet account; 0 when the card is unknown
  std::uint8_t category = 0;          // RiderCategory; 0 when the card is unknown
  protocol::Outcome outcome = protocol::Outcome::refused;
  RefusalReason reason = RefusalReason::none;
  std::int64_t fare_minor = 0;        // what the rider paid from the wallet (the decision's fare)
  std::int64_t subsidy_minor = 0;     // what the city paid operators for this tap (subsidy, points subsidy)
  std::int64_t points_redeemed = 0;   // welfare points the rider spent
  std::uint32_t rule_set_version = 0; // 0 when no rule set rated it (refused before rating)
  // The retention run replaced the card by its token (tap.card) and cleared
  // the account, which would name the card too.
  bool anonymised = false;

  bool operator==(const RecordedTap& other) const;
};

std::string tap_record_key(std::int32_t business_day, Origin origin, TapId tap);
// The first key of a business day's records and the first key after them.
std::string tap_records_day_begin(std::int32_t business_day);
std::string tap_records_day_end(std::int32_t business_day);
// The business day a record's key is of; nullopt for a key of another size.
std::optional<std::int32_t> tap_record_key_day(std::string_view key);

std::string encode_recorded_tap(const RecordedTap& record);
// corruption, naming the problem, for a key or value not of this format.
Result<RecordedTap> decode_recorded_tap(std::string_view key, std::string_view value);

ledger::RecordWrite tap_record_write(const RecordedTap& record);

// The business day of the ledger's oldest tap record; nullopt when there is none.
Result<std::optional<std::int32_t>> first_tap_record_day(const ledger::Snapshot& snapshot);

}  // namespace citycard::engine
