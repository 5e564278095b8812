// A tap as the reader stores and uploads it: the Tap plus the card's proof.
//
// queued_tap := reader:u32 sequence:u64 card_length:u8 card:16 media:u8
//               event_time_us:i64 mode:u8 operator:u32 route:u32 location:u32
//               amount_minor:i64 offline:u8 proof:58                      -- 118 bytes, big-endian
#pragma once

#include "card/bytes.h"
#include "card/cryptogram.h"
#include "citycard/status.h"
#include "citycard/tap.h"

namespace citycard::agent {

struct QueuedTap {
  Tap tap;
  card::TapProof proof;
};

inline constexpr std::size_t queued_tap_bytes = 4 + 8 + 1 + 16 + 1 + 8 + 1 + 4 + 4 + 4 + 8 + 1 + card::proof_bytes;
static_assert(queued_tap_bytes == 118);

card::Bytes encode_queued_tap(const QueuedTap& queued);
// corruption names the field that is out of range.
Result<QueuedTap> decode_queued_tap(card::ByteView bytes);

}  // namespace citycard::agent
