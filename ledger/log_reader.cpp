#include "log_reader.h"

#include <memory>

namespace citycard::ledger {

Result<StoredTransfer> transfer_in_block(encoding::BlockReader& block, std::uint64_t block_first, std::uint32_t i) {
  auto decoded = block.at(i);
  if (!decoded) return Status::corruption("transfer " + std::to_string(block_first + i) + " is unreadable");
  return StoredTransfer{block_first + i, decoded->key, decoded->leg, decoded->transfer};
}

Status LogReader::load_block_with(std::uint64_t sequence) {
  if (block_ && sequence >= block_first_ && sequence < block_first_ + block_->count()) return Status::ok();
  if (!iterator_) iterator_.reset(db_->NewIterator(options_, log_));
  block_.reset();
  rocksdb::Iterator* it = iterator_.get();
  it->SeekForPrev(encoding::sequence_key(sequence));
  if (!it->status().ok()) return Status::io_error("reading the log: " + it->status().ToString());
  if (!it->Valid()) return Status::not_found("no transfer " + std::to_string(sequence));
  if (it->key().size() != 8) return Status::corruption("log key of unexpected size");
  const std::uint64_t first = coding::load_be<std::uint64_t>(it->key().data());
  auto block = encoding::BlockReader::open(it->value().ToStringView());
  if (!block) return Status::corruption("log block at " + std::to_string(first) + " is unreadable");
  if (sequence >= first + block->count()) return Status::not_found("no transfer " + std::to_string(sequence));
  block_ = *block;
  block_first_ = first;
  return Status::ok();
}

Result<StoredTransfer> LogReader::at(std::uint64_t sequence) {
  if (sequence == 0) return Status::not_found("no transfer 0");
  if (Status loaded = load_block_with(sequence); !loaded) return loaded;
  return transfer_in_block(*block_, block_first_, static_cast<std::uint32_t>(sequence - block_first_));
}

}  // namespace citycard::ledger
