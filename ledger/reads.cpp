// Reads: balances from memory, everything else from RocksDB.
#include <cstring>
#include <limits>

#include "citycard/limits.h"
#include "log_reader.h"
#include "rocks_ledger.h"

namespace citycard::ledger {

namespace {

Result<std::string> read_record(const RocksLedger& ledger, const rocksdb::ReadOptions& options, RecordSpace space,
                                std::string_view key) {
  std::string value;
  auto status = ledger.db()->Get(options, ledger.record_family(space), RocksLedger::record_key(space, key), &value);
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
    std::unique_ptr<rocksdb::Iterator> it(ledger_.db()->NewIterator(options, ledger_.family(RocksLedger::f_log)));
    it->SeekForPrev(encoding::sequence_key(std::max<std::uint64_t>(from_sequence, 1)));
    if (!it->Valid()) it->SeekToFirst();
    for (; it->Valid(); it->Next()) {
      if (it->key().size() != 8) return Status::corruption("log key of unexpected size");
      const std::uint64_t first = coding::load_be<std::uint64_t>(it->key().data());
      if (first > to_sequence) break;
      auto block = encoding::BlockReader::open(it->value().ToStringView());
      if (!block) return Status::corruption("log block at " + std::to_string(first) + " is unreadable");
      for (std::uint32_t i = 0; i < block->count(); ++i) {
        const std::uint64_t sequence = first + i;
        if (sequence < from_sequence) continue;
        if (sequence > to_sequence) return Status::ok();
        auto stored = transfer_in_block(*block, first, i);
        if (!stored) return stored.status();
        if (!visit(*stored)) return Status::ok();
      }
    }
    if (!it->status().ok()) return Status::io_error("scanning transfers: " + it->status().ToString());
    return Status::ok();
  }

  Status scan_records(RecordSpace space, std::string_view prefix,
                      const std::function<bool(std::string_view, std::string_view)>& visit) const override {
    return scan_records_from(space, prefix, prefix, visit);
  }

  Status scan_records_from(RecordSpace space, std::string_view prefix, std::string_view from,
                           const std::function<bool(std::string_view, std::string_view)>& visit) const override {
    const std::string start = RocksLedger::record_key(space, prefix);
    const std::size_t space_bytes = start.size() - prefix.size();
    const std::string seek = from > prefix ? RocksLedger::record_key(space, from) : start;
    rocksdb::ReadOptions options = options_;
    options.total_order_seek = true;  // card states are hashed by card: a scan crosses prefixes
    std::unique_ptr<rocksdb::Iterator> it(ledger_.db()->NewIterator(options, ledger_.record_family(space)));
    for (it->Seek(seek); it->Valid() && it->key().starts_with(start); it->Next()) {
      if (!visit(it->key().ToStringView().substr(space_bytes), it->value().ToStringView())) break;
    }
    if (!it->status().ok()) return Status::io_error("scanning records: " + it->status().ToString());
    return Status::ok();
  }

  Status scan_cards(const std::function<bool(const CardRecord&)>& visit) const override {
    rocksdb::ReadOptions options = options_;
    options.fill_cache = false;  // one pass over every card: keep the cache for point reads
    std::unique_ptr<rocksdb::Iterator> it(ledger_.db()->NewIterator(options, ledger_.family(RocksLedger::f_cards)));
    for (it->Seek("C"); it->Valid() && it->key().starts_with("C"); it->Next()) {
      auto card = encoding::decode_card(it->value().ToStringView());
      if (!card) return Status::corruption("card record " + CardId::from_bytes(reinterpret_cast<const std::uint8_t*>(it->key().data() + 1),
                                                                               it->key().size() - 1).to_string() + " is unreadable");
      if (!visit(*card)) break;
    }
    if (!it->status().ok()) return Status::io_error("scanning cards: " + it->status().ToString());
    return Status::ok();
  }

  // The record is current to its applied_through; the transfers after it, up
  // to this snapshot, are found through the account's history entries.
  Result<Account> account(AccountId id) const override {
    std::string value;
    auto status = ledger_.db()->Get(options_, ledger_.family(RocksLedger::f_accounts), encoding::account_key(id), &value);
    if (status.IsNotFound()) return Status::not_found("no account " + std::to_string(id.value));
    if (!status.ok()) return Status::io_error("reading account: " + status.ToString());
    auto stored = encoding::decode_account(value);
    if (!stored) return Status::corruption("account " + std::to_string(id.value) + " is unreadable");
    Account account{id, stored->spec, stored->balance_minor, stored->debits_posted_minor, stored->credits_posted_minor,
                    stored->transfer_count};
    std::unique_ptr<rocksdb::Iterator> it(ledger_.db()->NewIterator(options_, ledger_.family(RocksLedger::f_history)));
    LogReader log(ledger_.db(), ledger_.family(RocksLedger::f_log), options_);
    // Newest first, down to the blocks the record already holds (checkpoints
    // are taken between batches, so no block straddles applied_through).
    for (it->Seek(encoding::history_key(id, std::numeric_limits<std::uint64_t>::max())); it->Valid(); it->Next()) {
      if (it->key().size() != encoding::history_key_bytes || coding::load_be<std::uint64_t>(it->key().data()) != id.value) break;
      const std::uint64_t block_first = encoding::history_key_block_first(it->key().ToStringView());
      if (block_first <= stored->applied_through) break;
      for (std::size_t k = 0; k < it->value().size() / 4; ++k) {
        const auto offset = coding::load_le<std::uint32_t>(it->value().data() + k * 4);
        const std::uint64_t sequence = block_first + offset;
        if (sequence <= stored->applied_through || sequence > last_sequence_) continue;
        auto transfer = log.at(sequence);
        if (!transfer) return transfer.status();
        const Transfer& t = transfer->transfer;
        if (t.debit_account == id) {
          account.balance_minor -= t.amount_minor;
          account.debits_posted_minor += t.amount_minor;
        }
        if (t.credit_account == id) {
          account.balance_minor += t.amount_minor;
          account.credits_posted_minor += t.amount_minor;
        }
        account.transfer_count += 1;
      }
    }
    if (!it->status().ok()) return Status::io_error("reading history: " + it->status().ToString());
    return account;
  }

  Result<std::string> record(RecordSpace space, std::string_view key) const override {
    return read_record(ledger_, options_, space, key);
  }

  std::vector<OperatorRecord> operators() const override { return ledger_.operators_at(options_); }

  Result<std::vector<StoredTransfer>> transfers_for(const IdempotencyKey& key) const override {
    return ledger_.transfers_for_at(options_, key);
  }

  Result<CardRecord> card_of_account(AccountId account) const override {
    return ledger_.card_of_account_at(options_, account);
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
  const std::uint64_t below = before_sequence == 0 ? std::numeric_limits<std::uint64_t>::max() : before_sequence;
  rocksdb::ReadOptions options;
  options.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_history)));
  LogReader log(db_.get(), family(f_log), rocksdb::ReadOptions());
  // Newest first: from the newest block that starts below the cursor, forward.
  it->Seek(encoding::history_key(account, below - 1));
  HistoryPage page;
  bool more = false;
  for (; it->Valid(); it->Next()) {
    if (it->key().size() != encoding::history_key_bytes || it->value().size() % 4 != 0) {
      return Status::corruption("history entry of account " + std::to_string(account.value) + " is unreadable");
    }
    if (coding::load_be<std::uint64_t>(it->key().data()) != account.value) break;
    const std::uint64_t block_first = encoding::history_key_block_first(it->key().ToStringView());
    const std::size_t offsets = it->value().size() / 4;
    for (std::size_t k = offsets; k-- > 0;) {
      const auto offset = coding::load_le<std::uint32_t>(it->value().data() + k * 4);
      const std::uint64_t sequence = block_first + offset;
      if (sequence >= below) continue;
      if (page.entries.size() == limit) { more = true; break; }
      auto stored = log.at(sequence);
      if (!stored) {
        return Status::corruption("history of account " + std::to_string(account.value) + " names " + stored.status().message());
      }
      page.entries.push_back(std::move(*stored));
    }
    if (more) break;
  }
  if (!it->status().ok()) return Status::io_error("reading history: " + it->status().ToString());
  if (!more && page.entries.size() == limit && it->Valid()) {
    it->Next();
    more = it->Valid() && coding::load_be<std::uint64_t>(it->key().data()) == account.value;
  }
  if (more) page.next_cursor = page.entries.back().sequence;
  return page;
}

Result<StoredTransfer> RocksLedger::transfer_at(std::uint64_t sequence) const {
  LogReader log(db_.get(), family(f_log), rocksdb::ReadOptions());
  return log.at(sequence);
}

std::uint64_t RocksLedger::highest_sequence(Origin origin, std::uint64_t source) const {
  std::lock_guard lock(mutex_);
  auto mark = high_water_.find(SourceKey{origin, source});
  return mark == high_water_.end() ? 0 : mark->second;
}

Result<std::optional<GroupOutcome>> RocksLedger::posted(const IdempotencyKey& key) const {
  {
    std::lock_guard lock(mutex_);
    auto mark = high_water_.find(SourceKey{key.origin, key.source});
    if (mark == high_water_.end() || key.sequence > mark->second) return std::optional<GroupOutcome>();
  }
  std::string value;
  auto status = db_->Get(rocksdb::ReadOptions(), family(f_idempotency), encoding::group_key(key), &value);
  if (status.IsNotFound()) return std::optional<GroupOutcome>();
  if (!status.ok()) return Status::io_error("reading idempotency entry: " + status.ToString());
  auto entry = encoding::decode_idempotency(value);
  if (!entry) return Status::corruption("idempotency entry of " + key.to_string() + " is unreadable");
  GroupOutcome outcome;
  outcome.posted = true;
  outcome.duplicate = true;
  outcome.first_sequence = entry->first_sequence;
  outcome.transfer_count = entry->count;
  outcome.outcome = std::move(entry->outcome);
  return std::optional<GroupOutcome>(std::move(outcome));
}

Result<std::vector<StoredTransfer>> RocksLedger::transfers_for(const IdempotencyKey& key) const {
  return transfers_for_at(rocksdb::ReadOptions(), key);
}

Result<std::vector<StoredTransfer>> RocksLedger::transfers_for_at(const rocksdb::ReadOptions& options,
                                                                  const IdempotencyKey& key) const {
  std::string value;
  auto status = db_->Get(options, family(f_idempotency), encoding::group_key(key), &value);
  if (status.IsNotFound()) return Status::not_found("nothing posted under " + key.to_string());
  if (!status.ok()) return Status::io_error("reading idempotency entry: " + status.ToString());
  auto entry = encoding::decode_idempotency(value);
  if (!entry) return Status::corruption("idempotency entry of " + key.to_string() + " is unreadable");
  LogReader log(db_.get(), family(f_log), options);
  std::vector<StoredTransfer> out;
  for (std::uint32_t i = 0; i < entry->count; ++i) {
    auto stored = log.at(entry->first_sequence + i);
    if (!stored) return stored.status();
    out.push_back(std::move(*stored));
  }
  return out;
}

Result<std::string> RocksLedger::record(RecordSpace space, std::string_view key) const {
  return read_record(*this, rocksdb::ReadOptions(), space, key);
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
  // Between commits, so last_sequence matches what the snapshot sees.
  std::lock_guard commit_lock(commit_mutex_);
  return std::make_unique<RocksSnapshot>(*this, last_sequence_);
}

}  // namespace citycard::ledger
