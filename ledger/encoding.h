// The ledger's on-disk format. Keys are big-endian so that RocksDB's byte
// order is numeric order; values are little-endian fixed-width fields
// (written and read with citycard/coding.h).
//
// column family "log"          key := first_sequence:be64         (one entry per posted batch)
//                              value := log block, written in format 2 since ledger format 5:
//   block (2) := header:u32 (count | 0x80000000) compact_transfer[count] skip:u32[ceil(count / 16)]
//     skip[k] := the byte offset in the block of transfer 16k, so any transfer is at most 15 from one
//     compact_transfer := origin:u8 source:varint sequence:varint leg:varint debit:varint credit:varint
//                         asset:u8 amount:svarint code:varint flags:varint rule_set:varint
//                         event_us:svarint mode:u8 operator:varint route:varint location:varint
//                         (varints LEB128, svarints zigzag: coding.h; ~35 bytes a transfer)
//   block (1) := count:u32 transfer[count]   (ledgers before format 5; still read)
//     transfer := group_key leg:u32 debit:u64 credit:u64 asset:u8 amount:i64 code:u16 flags:u16
//                 rule_set:u32 event_us:i64 mode:u8 operator:u32 route:u32 location:u32   (75 bytes)
//   Sequences are global and gap-free from 1: entry k starts where entry k-1 ended.
// column family "idempotency"  key := group_key
//                              value := first_sequence:u64 count:u32 posted_outcome:bytes
// column family "history"      key := account_id:be64 ~block_first_sequence:be64  (newest first)
//                              value := offset:u32 *        (sequence - block_first, ascending)
// column family "accounts"     key := account_id:be64
//                              value := account, written in format 2 since ledger format 5:
//   account (2) := 0x82 kind:u8 asset:u8 floor:svarint ceiling:svarint owner:varint balance:svarint
//                  debits:svarint credits:svarint count:varint applied_through:varint   (~25 bytes)
//   account (1) := kind:u8 asset:u8 floor:i64 ceiling:i64 owner:u64 balance:i64
//                  debits:i64 credits:i64 count:u64 applied_through:u64   (66 bytes; before format 5, still read)
//   An account record holds the account as of sequence applied_through; later
//   transfers are replayed from the log on open (balances are checkpointed,
//   not written with every batch).
// column family "cards"        key := 'C' card_bytes   value := card_record
//                              key := 'A' account_id:be64  value := card_bytes    (reverse index)
// column family "records"      key := space:u8 user_key   value := user bytes   (every space but card_state)
// column family "card_states"  key := user_key (card bytes) value := user bytes   (RecordSpace::card_state)
// default column family        "format" -> "citycard-ledger/5"
//                              "replay_from" -> sequence:be64   (every account record is current
//                                                                 as of at least this sequence)
//                              'H' group_key_prefix(origin, source) -> sequence:be64
//                                 (at most the highest sequence posted by that source, and within
//                                 a few thousand of it; open raises it to the source's highest
//                                 idempotency key, and a sequence above that is new)
//
// group_key   := origin:u8 source:be64 sequence:be64                    (17 bytes)
// card_record := id:card wallet:u64 points:u64 category:u8 media:u8 status:u8
//                linked_to:card replaced_by:card
//                [from_day:i32 until_day:i32 [district:u16 [bonus_points:u64]]]
//                (each optional part only when it or one after it is set)
// card        := size:u8 bytes[size]        (size <= 16; 0 = none)
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "citycard/account.h"
#include "citycard/card.h"
#include "citycard/coding.h"
#include "citycard/ids.h"
#include "citycard/transfer.h"

namespace citycard::ledger::encoding {

inline constexpr std::string_view format_key = "format";
// 3: card states in their own family, history keys newest first.
// 4: 'H' is a lower bound, not written with every batch. A /3 ledger is a /4
//    one whose bounds happen to be exact: it is upgraded when opened writable.
// 5: log blocks and account records in format 2 (varints); decisions of format 2 in the
//    idempotency entries (engine/groups/decision_codec.h). A /3 or /4 ledger is
//    read as it is and upgraded when opened writable: its old blocks stay
//    readable, new ones are compact. A build before /5 refuses a /5 ledger.
inline constexpr std::string_view format_value = "citycard-ledger/5";
inline constexpr std::array<std::string_view, 2> format_values_upgradable = {"citycard-ledger/3", "citycard-ledger/4"};
inline constexpr std::string_view replay_from_key = "replay_from";

inline constexpr std::size_t group_key_bytes = 17;
inline constexpr std::size_t account_value_bytes = 66;  // format 1
inline constexpr std::size_t account_value_bytes_max = 3 + 8 * coding::varint_bytes_max;
inline constexpr std::size_t block_header_bytes = 4;
inline constexpr std::size_t transfer_value_bytes = group_key_bytes + 58;
static_assert(transfer_value_bytes == 75);
inline constexpr std::size_t history_key_bytes = 16;
inline constexpr std::size_t outcome_bytes_max = 1024;

// --- keys -----------------------------------------------------------------

std::string account_key(AccountId id);
std::string high_water_key(Origin origin, std::uint64_t source);
std::string sequence_key(std::uint64_t sequence);
// A history key orders an account's entries newest first (the block's first
// sequence is stored inverted), so a page is a forward scan from a Seek.
std::string history_key(AccountId account, std::uint64_t block_first_sequence);
std::uint64_t history_key_block_first(std::string_view key);  // key of history_key_bytes
void append_group_key(std::string& out, const IdempotencyKey& key);
std::string group_key(const IdempotencyKey& key);
std::optional<IdempotencyKey> decode_group_key(coding::Reader& reader);
std::string card_key(const CardId& card);
std::string card_by_account_key(AccountId account);
std::string record_key(std::uint8_t space, std::string_view key);

// --- values ---------------------------------------------------------------

struct StoredAccount {
  AccountSpec spec;
  std::int64_t balance_minor = 0;
  std::int64_t debits_posted_minor = 0;
  std::int64_t credits_posted_minor = 0;
  std::uint64_t transfer_count = 0;
  std::uint64_t applied_through = 0;  // the record reflects transfers up to this sequence
};

std::string encode_account(const StoredAccount& account);
std::optional<StoredAccount> decode_account(std::string_view value);

struct TransferValue {
  IdempotencyKey key;
  std::uint32_t leg = 0;
  Transfer transfer;
};
// A transfer as block format 1 holds it (75 bytes): read in old blocks;
// written only to make them (tests, fuzz seeds).
void encode_fixed_transfer(std::string& out, const IdempotencyKey& key, std::uint32_t leg, const Transfer& transfer);
std::optional<TransferValue> decode_fixed_transfer(std::string_view value);

// A log block being written: the transfers of one posted batch, in format 2.
class BlockWriter {
 public:
  BlockWriter();
  void add(const IdempotencyKey& key, std::uint32_t leg, const Transfer& transfer);
  std::uint32_t count() const { return count_; }
  // The block's bytes (at least one transfer); the writer is spent.
  std::string finish();

 private:
  std::string bytes_;
  std::vector<std::uint32_t> skips_;
  std::uint32_t count_ = 0;
};

// A log block being read, of either format. Remembers where its last read
// ended, so reading transfers in order decodes each once; not thread-safe.
class BlockReader {
 public:
  // nullopt when the header, size or skip table disagree (the transfers
  // themselves are checked as they are read).
  static std::optional<BlockReader> open(std::string_view block);
  std::uint32_t count() const { return count_; }
  // Transfer i (< count); nullopt when its bytes are unreadable.
  std::optional<TransferValue> at(std::uint32_t i);

 private:
  std::string_view block_;
  std::uint32_t count_ = 0;
  bool compact_ = false;
  std::size_t body_end_ = 0;      // compact: where the skip table starts
  std::uint32_t next_index_ = 0;  // compact: the transfer that starts at next_offset_
  std::size_t next_offset_ = 0;   // 0: none remembered
};

// The number of transfers in a block, or nullopt when it is malformed.
std::optional<std::uint32_t> block_count(std::string_view block);

struct IdempotencyValue {
  std::uint64_t first_sequence = 0;
  std::uint32_t count = 0;
  std::string outcome;
};
std::string encode_idempotency(std::uint64_t first_sequence, std::uint32_t count, std::string_view outcome);
std::optional<IdempotencyValue> decode_idempotency(std::string_view value);

// card:id  wallet:u64  points:u64  category:u8  media:u8  status:u8
// linked_to:id  replaced_by:id  [category_from_day:i32  category_until_day:i32  [district:u16]]
// (id = size:u8 bytes; the period only when either day or the district is
// set, until >= from; both days no_category_day only before a district; the
// district only when set, district_min..district_max).
std::string encode_card(const CardRecord& card);
std::optional<CardRecord> decode_card(std::string_view value);

}  // namespace citycard::ledger::encoding
