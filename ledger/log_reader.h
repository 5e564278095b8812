// Reading transfers out of the log: a transfer lives in the block of the
// batch that posted it. Keeps an iterator on the last block it read (no
// copy), since neighbours are usually read together. Internal to ledger/;
// not thread-safe (one per reader).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <rocksdb/db.h>

#include "encoding.h"
#include "ledger/ledger.h"

namespace citycard::ledger {

class LogReader {
 public:
  LogReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* log, rocksdb::ReadOptions options)
      : db_(db), log_(log), options_(options) {}

  // The transfer with this sequence; not_found when the log has none.
  Result<StoredTransfer> at(std::uint64_t sequence);

 private:
  Status load_block_with(std::uint64_t sequence);

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* log_;
  rocksdb::ReadOptions options_;
  std::unique_ptr<rocksdb::Iterator> iterator_;
  std::optional<encoding::BlockReader> block_;  // on the iterator's current value
  std::uint64_t block_first_ = 0;
};

// Decodes transfer i of an opened block into a StoredTransfer.
Result<StoredTransfer> transfer_in_block(encoding::BlockReader& block, std::uint64_t block_first, std::uint32_t i);

}  // namespace citycard::ledger
