// The citycard card application: identifiers, commands and the card record.
// docs/card-protocol.md is the prose version of this file; keep them together.
//
// record := format:u8(=1) key_version:u8 status:u8 category:u8 media:u8
//           card_id_length:u8 card_id:16 (zero-padded)                 -- 22 bytes
// READ DATA response := record atc:u32                                  -- 26 bytes
// INTERNAL AUTHENTICATE data := transaction                           -- 58 bytes
// transaction := challenge:16 reader_id:u32 sequence:u64 mode:u8 operator:u32
//                route:u32 location:u32 amount_minor:i64 event_time_us:i64
//                offline:u8
// INTERNAL AUTHENTICATE response := atc:u32 cryptogram:16               -- 20 bytes
// All integers big-endian (signed ones two's complement).
#pragma once

#include <array>
#include <cstdint>

#include "apdu.h"
#include "bytes.h"
#include "citycard/card.h"
#include "citycard/ids.h"
#include "citycard/status.h"
#include "citycard/tap.h"

namespace citycard::card {

// Proprietary AID (RID F0 = unregistered) "F0" "CITYCARD" version 01.
inline constexpr std::array<std::uint8_t, 10> application_id{0xF0, 'C', 'I', 'T', 'Y', 'C', 'A', 'R', 'D', 0x01};

inline constexpr std::uint8_t cla_iso = 0x00;
inline constexpr std::uint8_t cla_proprietary = 0x80;
inline constexpr std::uint8_t cla_reader = 0xFF;      // PC/SC pseudo-APDUs answered by the reader
inline constexpr std::uint8_t ins_select = 0xA4;
inline constexpr std::uint8_t ins_read_data = 0xB0;
inline constexpr std::uint8_t ins_internal_authenticate = 0x88;
inline constexpr std::uint8_t ins_get_data = 0xCA;    // with CLA FF: GET UID

inline constexpr std::size_t challenge_bytes = 16;
inline constexpr std::size_t record_bytes = 22;
inline constexpr std::size_t read_data_bytes = record_bytes + 4;
// The transaction the card signs: every field of the Tap the engine rates,
// except the card's own (card id and media are in the signed record).
inline constexpr std::size_t transaction_bytes = challenge_bytes + 4 + 8 + 1 + 4 + 4 + 4 + 8 + 8 + 1;
inline constexpr std::size_t auth_request_bytes = transaction_bytes;
inline constexpr std::size_t auth_response_bytes = 4 + 16;
inline constexpr std::uint8_t record_format = 1;
static_assert(record_bytes == 6 + CardId::bytes_max);
static_assert(auth_request_bytes == 58);

using Challenge = std::array<std::uint8_t, challenge_bytes>;

// What the card stores about itself. The engine's records are authoritative;
// the category is a hint for offline decisions, the status lets a card
// office block a card on its next online tap.
struct CardData {
  std::uint8_t key_version = 1;
  CardStatus status = CardStatus::active;
  RiderCategory category = RiderCategory::general;
  Media media = Media::physical_card;
  // The identity the engine knows the card by; equal to the UID for a
  // physical card, a stable token for a mobile medium (whose UID is random).
  CardId card_id;

  bool operator==(const CardData&) const = default;
};

Bytes encode_record(const CardData& record);
// corruption if the format byte, an enum value or the id length is out of range.
Result<CardData> decode_record(ByteView bytes);

// The reader's side of each command.
CommandApdu get_uid_command();
CommandApdu select_command();
CommandApdu read_data_command();
// The tap's transaction fields (id, mode, operator, route, location,
// amount, event time, offline flag) behind the challenge; tap.card and
// tap.media are not read.
Bytes encode_transaction(const Challenge& challenge, const Tap& tap);
// What the card reads back: the challenge and the Tap's transaction fields
// (card and media left empty). invalid_argument on a wrong length or an
// offline byte other than 0/1; mode is not range-checked (the card signs
// what it was asked; the engine refuses an unknown mode).
struct Transaction {
  Challenge challenge{};
  Tap tap;
};
Result<Transaction> decode_transaction(ByteView bytes);
CommandApdu internal_authenticate_command(const Challenge& challenge, const Tap& tap);

}  // namespace citycard::card
