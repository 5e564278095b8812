// The reader registry as the ledger stores it: one record per registered
// reader in RecordSpace::readers, written like every other record (in a
// posting group by the engine, or with put_records on a stopped ledger).
//
// key   := reader_id:be32                      (numeric order)
// value := format:u8(=1) operator:u32 kind:u8 modes:u16 route:u32 location:u32
//          amount_max:i64 offline_max:i64 status:u8             (33 bytes, little-endian)
#pragma once

#include <string>
#include <vector>

#include "citycard/reader.h"
#include "citycard/status.h"
#include "ledger/ledger.h"

namespace citycard::ledger {

inline constexpr std::size_t reader_record_bytes = 33;

std::string reader_key(ReaderId id);
std::string encode_reader(const ReaderRecord& reader);
// corruption naming the reader when the value is not a reader record.
Result<ReaderRecord> decode_reader(ReaderId id, std::string_view value);
RecordWrite reader_record_write(const ReaderRecord& reader);

// not_found when the reader is not registered.
Result<ReaderRecord> load_reader(const Ledger& ledger, ReaderId id);
// Every registered reader (any status), in id order.
Result<std::vector<ReaderRecord>> load_readers(const Ledger& ledger);

}  // namespace citycard::ledger
