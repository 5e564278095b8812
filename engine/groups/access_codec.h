// The access lists (rules/access_lists.h) as ledger records
// (RecordSpace::access), one record per role, door group and meeting, so a
// change rewrites one record (with its audit entry, in one write).
//
// Key: kind "/" name, kind one of "role", "group", "meeting"; name 1..32 of
// [a-z0-9._-] starting with a letter or digit (access_name_valid).
//
// Value, version 1 (varints LEB128, signed ones zigzag; coding.h):
//   value   := format:u8 (= 1) kind:u8 body
//   kind    := 1 role | 2 group | 3 meeting (the key's kind)
//   role    := count:varint card[count]                  (sorted, distinct)
//   group   := count:varint point[count] count:varint admit[count]
//   meeting := point start:svarint end:svarint           (local minutes since
//              1970-01-01T00:00, start < end)
//              count:varint card[count] count:varint name[count]
//   point   := 1 reader:varint (> 0) | 2 operator:varint location:varint
//   admit   := 1 category:u8 | 2 card | 3 name ; count:varint window[count]
//   window  := days:u8 (bits 0..6 Mon..Sun, not 0) from:varint to:varint
//              (minutes of the local day, from < to <= 1440)
//   card    := size:u8 (1..16) bytes[size]
//   name    := size:u8 (1..32) chars[size]
// Trailing bytes are corruption; a later version may append fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "access_lists.h"
#include "citycard/status.h"
#include "ledger/ledger.h"

namespace citycard::engine {

inline constexpr std::uint8_t access_record_format_version = 1;
inline constexpr std::size_t access_name_bytes_max = 32;

// 1..32 of [a-z0-9._-], starting with a letter or digit.
bool access_name_valid(std::string_view name) noexcept;

std::string access_role_key(std::string_view name);
std::string access_group_key(std::string_view name);
std::string access_meeting_key(std::string_view name);

std::string encode_access_role(const rules::Role& role);
std::string encode_access_group(const rules::DoorGroup& group);
std::string encode_access_meeting(const rules::Meeting& meeting);

// Decodes one record into `lists` (appended; the caller sorts). corruption
// naming the key and the problem for a record not of this format.
Status decode_access_record(std::string_view key, std::string_view value, rules::AccessLists& lists);

// Every list in the snapshot, each kind sorted by name.
Result<rules::AccessLists> read_access_lists(const ledger::Snapshot& snapshot);

}  // namespace citycard::engine
