// The payload of each frame type, as values. Grammar (fixedN little-endian,
// bytes(n) raw; see docs/protocol.md for the rules around them):
//
//   hello          := version_min: byte  version_max: byte  reader: fixed32
//                     agent_length: byte (<= agent_bytes_max)  agent: bytes(agent_length)
//   hello_ack      := version: byte  heartbeat_interval_ms: fixed32
//                     batch_taps_max: fixed16  inflight_batches_max: fixed16
//                     deny_list_version: fixed64  last_sequence: fixed64
//   tap_batch      := batch_id: fixed64  count: fixed16 (1..batch_taps_max)  tap[count]
//   tap            := reader: fixed32  sequence: fixed64
//                     card_length: byte (1..16)  card: bytes(card_length)
//                     media: byte  event_time_us: fixed64 (signed)  mode: byte
//                     operator: fixed32  route: fixed32  location: fixed32
//                     amount_minor: fixed64 (signed)  tap_flags: byte (bit 0 offline)
//                     cryptogram_length: byte (<= 64)  cryptogram: bytes(cryptogram_length)
//                     (the reader's encoded tap proof, docs/card-protocol.md: 58 bytes)
//   decisions      := batch_id: fixed64  count: fixed16 (0..batch_taps_max)  decision[count]
//   decision       := reader: fixed32  sequence: fixed64  outcome: byte (1 approved, 2 refused)
//                     reason: byte (RefusalReason; 0 iff approved)  fare_minor: fixed64
//                     balance_after_minor: fixed64  points_after: fixed64
//                     decision_flags: byte (DecisionFlags)
//   retry_later    := batch_id: fixed64  retry_after_ms: fixed32  why: byte (RetryReason)
//   deny_list_request := from_version: fixed64
//                     [snapshot_version: fixed64 (> 0)  after: card_entry]
//                     (the bracketed tail is optional: present, it continues a snapshot)
//   deny_list_delta := from_version: fixed64  to_version: fixed64
//                     delta_flags: byte (bit 0 full, bit 1 more, bit 2 page)
//                     added_count: fixed16  card_entry[added_count]
//                     removed_count: fixed16  card_entry[removed_count]
//                     (added_count + removed_count <= deny_cards_max; a page has
//                     no full flag, from_version 0 and removed_count 0)
//   card_entry     := length: byte (1..16)  bytes(length)
//   heartbeat      := nonce: fixed64
//   error          := code: fixed16 (ErrorCode)  message_length: fixed16 (<= error_message_bytes_max)
//                     message: bytes(message_length)
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "citycard/ids.h"
#include "citycard/limits.h"
#include "citycard/tap.h"
#include "protocol/frame.h"

namespace citycard::protocol {

inline constexpr std::size_t agent_bytes_max = 64;
// The tap's proof as the reader forwards it: card::encode_proof() makes 58
// bytes (docs/card-protocol.md); 64 leaves room for a longer MAC later.
inline constexpr std::size_t cryptogram_bytes_max = 64;
inline constexpr std::size_t error_message_bytes_max = 1024;
inline constexpr std::size_t deny_cards_max = 2048;  // added + removed in one delta frame

struct Hello {
  std::uint8_t version_min = protocol_version_min;
  std::uint8_t version_max = protocol_version;
  ReaderId reader;    // what the reader believes it is; must match its certificate
  std::string agent;  // software name and version, for logs
  bool operator==(const Hello&) const = default;
};

struct HelloAck {
  std::uint8_t version = protocol_version;
  std::uint32_t heartbeat_interval_ms = 0;  // send something at least this often
  std::uint16_t batch_taps_max = 0;         // taps per batch this engine accepts
  std::uint16_t inflight_batches_max = 0;   // unanswered batches per connection
  std::uint64_t deny_list_version = 0;      // the engine's current deny list version
  // The highest sequence the engine holds for this reader (0: none): a
  // reader never numbers a new tap at or below it.
  std::uint64_t last_sequence = 0;
  bool operator==(const HelloAck&) const = default;
};

// The card's proof of the tap, as the reader forwards it: the encoded
// card::TapProof (record, counter, challenge, CMAC cryptogram; 58 bytes).
// Opaque to the protocol; the engine decodes and re-verifies it. Empty for a
// tap without a card proof (tools, tests).
struct Cryptogram {
  std::array<std::uint8_t, cryptogram_bytes_max> bytes{};
  std::uint8_t size = 0;
  // Equal when the first `size` bytes are; bytes past size do not count.
  bool operator==(const Cryptogram& other) const {
    auto used = bytes.begin() + std::min<std::size_t>(size, bytes.size());
    return size == other.size && std::equal(bytes.begin(), used, other.bytes.begin());
  }
};

// One tap as a reader sends it.
struct TapRecord {
  Tap tap;
  Cryptogram cryptogram;
  bool operator==(const TapRecord& other) const;
};

struct TapBatch {
  std::uint64_t batch_id = 0;  // chosen by the reader; echoed in decisions / retry_later
  std::vector<TapRecord> taps;
  bool operator==(const TapBatch&) const = default;
};

enum class Outcome : std::uint8_t { approved = 1, refused = 2 };

// Bits of decision_flags.
struct DecisionFlags {
  static constexpr std::uint8_t replayed = 0x01;     // the original decision of an earlier submission
  static constexpr std::uint8_t debt = 0x02;         // offline ride given; the wallet went negative
  static constexpr std::uint8_t deny_listed = 0x04;  // the card is now on the deny list
  static constexpr std::uint8_t late = 0x08;         // booked into the next open business day
  // An uploaded offline tap the engine would not rate (its event time is
  // implausible): nothing moved; it is kept for the card office to review.
  static constexpr std::uint8_t review = 0x10;
  static constexpr std::uint8_t all = 0x1F;
};

struct DecisionRecord {
  TapId tap;
  Outcome outcome = Outcome::approved;
  RefusalReason reason = RefusalReason::none;
  std::int64_t fare_minor = 0;           // charged to the wallet (0 when refused)
  std::int64_t balance_after_minor = 0;  // wallet balance after this tap
  std::int64_t points_after = 0;         // points balance after this tap
  std::uint8_t flags = 0;                // DecisionFlags
  bool operator==(const DecisionRecord&) const = default;
};

struct Decisions {
  std::uint64_t batch_id = 0;
  std::vector<DecisionRecord> decisions;  // in the order of the batch's taps
  bool operator==(const Decisions&) const = default;
};

enum class RetryReason : std::uint8_t {
  connection_busy = 1,  // too many unanswered batches on this connection
  engine_busy = 2,      // the engine's queues are full
  shutting_down = 3,
  // The engine's ledger cannot write (a full disk, a failed sync): nothing
  // of the batch is durable that was not before; reads and the deny list
  // are still served. The reader decides offline and uploads later.
  storage_unavailable = 4,
};

struct RetryLater {
  std::uint64_t batch_id = 0;
  std::uint32_t retry_after_ms = 0;
  RetryReason why = RetryReason::engine_busy;
  bool operator==(const RetryLater&) const = default;
};

struct DenyListRequest {
  std::uint64_t from_version = 0;  // the reader's complete list; 0: it has none, send everything
  // Continuing a snapshot (both set, or neither): its version (to_version of
  // its first page) and the last card received; the pages come in ascending
  // card order. When the engine can no longer serve that snapshot it answers
  // as to from_version alone.
  std::uint64_t snapshot_version = 0;
  CardId after;  // empty: not continuing a snapshot
  bool continues_snapshot() const noexcept { return !after.empty(); }
  bool operator==(const DenyListRequest&) const = default;
};

struct DenyListDelta {
  static constexpr std::uint8_t flag_full = 0x01;  // a snapshot (its first page): drop the local list first
  static constexpr std::uint8_t flag_more = 0x02;  // more follows: ask again (from to_version, or for the next page)
  // A later page of the snapshot at to_version: its cards (added) follow the
  // request's `after` in ascending order. Sent only to a request that
  // continues a snapshot; never with flag_full.
  static constexpr std::uint8_t flag_page = 0x04;
  static constexpr std::uint8_t flags_all = flag_full | flag_more | flag_page;
  std::uint64_t from_version = 0;
  std::uint64_t to_version = 0;
  std::uint8_t flags = 0;
  std::vector<CardId> added;
  std::vector<CardId> removed;
  bool operator==(const DenyListDelta&) const = default;
};

struct Heartbeat {
  std::uint64_t nonce = 0;
  bool operator==(const Heartbeat&) const = default;
};

struct ErrorFrame {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  bool operator==(const ErrorFrame&) const = default;
};

using Message = std::variant<Hello, HelloAck, TapBatch, Decisions, RetryLater, DenyListRequest, DenyListDelta,
                             Heartbeat, ErrorFrame>;

FrameType frame_type_of(const Message& message) noexcept;

// Largest encodings, pinned so a full batch always fits one frame.
inline constexpr std::size_t tap_bytes_max = 4 + 8 + 1 + CardId::bytes_max + 1 + 8 + 1 + 4 + 4 + 4 + 8 + 1 + 1 +
                                             cryptogram_bytes_max;
inline constexpr std::size_t decision_bytes = 4 + 8 + 1 + 1 + 8 + 8 + 8 + 1;
static_assert(8 + 2 + limits::batch_taps_max * tap_bytes_max <= payload_bytes_max,
              "a full tap batch must fit one frame");
static_assert(8 + 2 + limits::batch_taps_max * decision_bytes <= payload_bytes_max,
              "a full decisions frame must fit one frame");
static_assert(8 + 8 + 1 + 2 + 2 + deny_cards_max * (1 + CardId::bytes_max) <= payload_bytes_max,
              "a full deny list delta must fit one frame");
inline constexpr std::size_t deny_list_request_bytes_max = 8 + 8 + 1 + CardId::bytes_max;
static_assert(deny_list_request_bytes_max == 33 && deny_list_request_bytes_max <= payload_bytes_max);
static_assert(tap_bytes_max == 125);
static_assert(limits::batch_taps_max <= 0xFFFF);

}  // namespace citycard::protocol
