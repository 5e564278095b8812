#include "log_reader.h"

#include <memory>

namespace citycard::ledger {

Result<StoredTransfer> transfer_in_block(std::string_view block, std::uint64_t block_first, std::uint32_t i) {
  auto decoded = encoding::decode_transfer(encoding::block_transfer(block, i));
  if (!decoded) return Status::corruption("transfer " + std::to_string(block_first + i) + " is unreadable");
  return StoredTransfer{block_first + i, decoded->key, decoded->leg, decoded->transfer};
}

Status LogReader::load_block_with(std::uint64_t sequence) {
  if (block_count_ != 0 && sequence >= block_first_ && sequence < block_first_ + block_count_) return Status::ok();
  if (!iterator_) iterator_.reset(db_->NewIterator(options_, log_));
  block_count_ = 0;
  rocksdb::Iterator* it = iterator_.get();
  it->SeekForPrev(encoding::sequence_key(sequence));
  if (!it->status().ok()) return Status::io_error("reading the log: " + it->status().ToString());
  if (!it->Valid()) return Status::not_found("no transfer " + std::to_string(sequence));
  if (it->key().size() != 8) return Status::corruption("log key of unexpected size");
  const std::uint64_t first = coding::load_be<std::uint64_t>(it->key().data());
  auto count = encoding::block_count(it->value().ToStringView());
  if (!count) return Status::corruption("log block at " + std::to_string(first) + " is unreadable");
  if (sequence >= first + *count) return Status::not_found("no transfer " + std::to_string(sequence));
  block_ = it->value().ToStringView();
  block_first_ = first;
  block_count_ = *count;
  return Status::ok();
}

Result<StoredTransfer> LogReader::at(std::uint64_t sequence) {
  if (sequence == 0) return Status::not_found("no transfer 0");
  if (Status loaded = load_block_with(sequence); !loaded) return loaded;
  return transfer_in_block(block_, block_first_, static_cast<std::uint32_t>(sequence - block_first_));
}

}  // namespace citycard::ledger
