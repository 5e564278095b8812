// Reads: balances from memory, everything else from RocksDB.
#include "citycard/limits.h"
#include "rocks_ledger.h"

namespace citycard::ledger {

namespace {

Result<StoredTransfer> decode_stored(std::uint64_t sequence, std::string_view value) {
  auto decoded = encoding::decode_transfer(value);
  if (!decoded) return Status::corruption("transfer " + std::to_string(sequence) + " is unreadable");
  return StoredTransfer{sequence, decoded->key, decoded->leg, decoded->transfer};
}

Result<StoredTransfer> read_transfer(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                                     const rocksdb::ReadOptions& options, std::uint64_t sequence) {
  std::string value;
  auto status = db->Get(options, family, encoding::sequence_key(sequence), &value);
  if (status.IsNotFound()) return Status::not_found("no transfer " + std::to_string(sequence));
  if (!status.ok()) return Status::io_error("reading transfer: " + status.ToString());
  return decode_stored(sequence, value);
}

Result<std::string> read_record(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                                const rocksdb::ReadOptions& options, RecordSpace space, std::string_view key) {
  std::string value;
  auto status = db->Get(options, family, encoding::record_key(static_cast<std::uint8_t>(space), key), &value);
  if (status.IsNotFound()) return Status::not_found("no record");
  if (!status.ok()) return Status::io_error("reading record: " + status.ToString());
  return value;
}

class RocksSnapshot final : public Snapshot {
 public:
  RocksSnapshot(const RocksLedger& ledger, std::uint64_t last_sequence)
      : ledger_(ledger), snapshot_(ledger.db()->GetSnapshot()), last_sequence_(last_sequence) {
    options_.snapshot = snapshot_;
  }
  ~RocksSnapshot() override { ledger_.db()->ReleaseSnapshot(snapshot_); }

  std::uint64_t last_sequence() const override { return last_sequence_; }

  Status scan_transfers(std::uint64_t from_sequence, std::uint64_t to_sequence,
                        const std::function<bool(const StoredTransfer&)>& visit) const override {
    rocksdb::ReadOptions options = options_;
    options.fill_cache = false;  // a day's scan must not evict the hot set
    options.readahead_size = 2u << 20;
    std::unique_ptr<rocksdb::Iterator> it(ledger_.db()->NewIterator(options, ledger_.family(RocksLedger::f_transfers)));
    for (it->Seek(encoding::sequence_key(from_sequence)); it->Valid(); it->Next()) {
      if (it->key().size() != 8) return Status::corruption("transfer key of unexpected size");
      std::uint64_t sequence = encoding::get_be64(it->key().data());
      if (sequence > to_sequence) break;
      auto stored = decode_stored(sequence, it->value().ToStringView());
      if (!stored) return stored.status();
      if (!visit(*stored)) return Status::ok();
    }
    if (!it->status().ok()) return Status::io_error("scanning transfers: " + it->status().ToString());
    return Status::ok();
  }

  Status scan_records(RecordSpace space, std::string_view prefix,
                      const std::function<bool(std::string_view, std::string_view)>& visit) const override {
    std::string start = encoding::record_key(static_cast<std::uint8_t>(space), prefix);
    std::unique_ptr<rocksdb::Iterator> it(ledger_.db()->NewIterator(options_, ledger_.family(RocksLedger::f_records)));
    for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
      if (!visit(it->key().ToStringView().substr(1), it->value().ToStringView())) break;
    }
    if (!it->status().ok()) return Status::io_error("scanning records: " + it->status().ToString());
    return Status::ok();
  }

  Result<Account> account(AccountId id) const override {
    std::string value;
    auto status = ledger_.db()->Get(options_, ledger_.family(RocksLedger::f_accounts), encoding::account_key(id), &value);
    if (status.IsNotFound()) return Status::not_found("no account " + std::to_string(id.value));
    if (!status.ok()) return Status::io_error("reading account: " + status.ToString());
    auto stored = encoding::decode_account(value);
    if (!stored) return Status::corruption("account " + std::to_string(id.value) + " is unreadable");
    return Account{id, stored->spec, stored->balance_minor, stored->debits_posted_minor, stored->credits_posted_minor,
                   stored->transfer_count};
  }

  Result<std::string> record(RecordSpace space, std::string_view key) const override {
    return read_record(ledger_.db(), ledger_.family(RocksLedger::f_records), options_, space, key);
  }

 private:
  const RocksLedger& ledger_;
  const rocksdb::Snapshot* snapshot_;
  rocksdb::ReadOptions options_;
  std::uint64_t last_sequence_;
};

}  // namespace

std::optional<Account> RocksLedger::account(AccountId id) const {
  std::lock_guard lock(mutex_);
  if (id.value == 0 || id.value >= accounts_.size() || !accounts_[id.value].exists) return std::nullopt;
  const auto& stored = accounts_[id.value].stored;
  return Account{id, stored.spec, stored.balance_minor, stored.debits_posted_minor, stored.credits_posted_minor,
                 stored.transfer_count};
}

std::optional<AccountId> RocksLedger::named_account(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = names_.find(name);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

Result<HistoryPage> RocksLedger::history(AccountId account, std::uint64_t before_sequence, std::size_t limit) const {
  if (limit == 0 || limit > limits::history_page_max) {
    return Status::invalid_argument("history limit must be 1.." + std::to_string(limits::history_page_max));
  }
  if (!this->account(account)) return Status::not_found("no account " + std::to_string(account.value));
  rocksdb::ReadOptions options;
  options.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_history)));
  // Newest first: seek to just below (account, before_sequence) and walk back.
  std::uint64_t upper = before_sequence == 0 ? std::numeric_limits<std::uint64_t>::max() : before_sequence - 1;
  it->SeekForPrev(encoding::history_key(account, upper));
  HistoryPage page;
  for (; it->Valid() && page.entries.size() < limit; it->Prev()) {
    if (it->key().size() != encoding::history_key_bytes) return Status::corruption("history key of unexpected size");
    if (encoding::get_be64(it->key().data()) != account.value) break;
    std::uint64_t sequence = encoding::get_be64(it->key().data() + 8);
    auto stored = read_transfer(db_.get(), family(f_transfers), rocksdb::ReadOptions(), sequence);
    if (!stored) return Status::corruption("history of account " + std::to_string(account.value) + " names " +
                                           stored.status().message());
    page.entries.push_back(std::move(*stored));
  }
  if (!it->status().ok()) return Status::io_error("reading history: " + it->status().ToString());
  if (page.entries.size() == limit && it->Valid() && encoding::get_be64(it->key().data()) == account.value) {
    page.next_cursor = page.entries.back().sequence;
  }
  return page;
}

Result<StoredTransfer> RocksLedger::transfer_at(std::uint64_t sequence) const {
  return read_transfer(db_.get(), family(f_transfers), rocksdb::ReadOptions(), sequence);
}

Result<std::vector<StoredTransfer>> RocksLedger::transfers_for(const IdempotencyKey& key) const {
  std::string value;
  auto status = db_->Get(rocksdb::ReadOptions(), family(f_idempotency), encoding::group_key(key), &value);
  if (status.IsNotFound()) return Status::not_found("nothing posted under " + key.to_string());
  if (!status.ok()) return Status::io_error("reading idempotency entry: " + status.ToString());
  auto entry = encoding::decode_idempotency(value);
  if (!entry) return Status::corruption("idempotency entry of " + key.to_string() + " is unreadable");
  std::vector<StoredTransfer> out;
  for (std::uint32_t i = 0; i < entry->count; ++i) {
    auto stored = transfer_at(entry->first_sequence + i);
    if (!stored) return stored.status();
    out.push_back(std::move(*stored));
  }
  return out;
}

Result<std::string> RocksLedger::record(RecordSpace space, std::string_view key) const {
  return read_record(db_.get(), family(f_records), rocksdb::ReadOptions(), space, key);
}

std::uint64_t RocksLedger::last_sequence() const {
  std::lock_guard lock(mutex_);
  return last_sequence_;
}

std::uint64_t RocksLedger::account_count() const {
  std::lock_guard lock(mutex_);
  return accounts_.size() - 1;
}

std::unique_ptr<Snapshot> RocksLedger::snapshot() const {
  // Taken under the lock so last_sequence matches what the snapshot sees.
  std::lock_guard lock(mutex_);
  return std::make_unique<RocksSnapshot>(*this, last_sequence_);
}

}  // namespace citycard::ledger
