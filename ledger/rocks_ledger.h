// RocksLedger: the Ledger on RocksDB. Internal to ledger/.
//
// Design (docs/ledger.md): every account lives in memory (a dense vector),
// so posting never reads an account from disk. A batch is validated and
// applied in memory with an undo log, then written as one synced WriteBatch:
// one log block holding all its transfers, one idempotency entry per group,
// one history entry per account touched, and the high-water mark of each
// reader. Balances are not written per batch: a checkpoint pass writes the
// changed accounts a chunk per batch, each stamped with the sequence it is
// current to, and open() replays the log after that. If a write fails, the
// undo log restores memory and nothing is reported posted.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "encoding.h"
#include "ledger/ledger.h"
#include "audit_chain.h"
#include "checkpoint_pass.h"
#include "sequence_window.h"
#include "storage_listener.h"

namespace citycard::ledger {

// Ledger::open with RocksDB's file access going through `env` (tests inject
// faults with it); nullptr: the default.
Result<std::unique_ptr<Ledger>> open_with_env(const std::string& path, const Options& options, rocksdb::Env* env);

class RocksLedger final : public Ledger {
 public:
  enum Family : std::size_t {
    f_default, f_accounts, f_log, f_idempotency, f_history, f_cards, f_records, f_card_states, family_count
  };

  RocksLedger(std::string path, std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> families,
              const Options& options, std::shared_ptr<StorageListener> storage_listener);
  ~RocksLedger() override;

  // Reads accounts, names, high-water marks, and replays the log tail.
  Status load();

  Result<std::vector<GroupOutcome>> post(const std::vector<PostingGroup>& batch) override;
  Result<std::unique_ptr<PreparedPost>> prepare(const std::vector<PostingGroup>& batch) override;
  using Ledger::commit;
  Status commit(std::span<PreparedPost* const> prepared) override;
  Status recover() override;
  Result<AccountId> create_account(const AccountSpec& spec) override;
  Result<AccountId> ensure_named_account(std::string_view name, const AccountSpec& spec) override;
  Result<OperatorRecord> register_operator(OperatorId id, std::string_view name) override;
  using Ledger::issue_cards;
  Result<CardRecord> create_card_accounts(const NewCard& card) override;
  Result<std::vector<CardRecord>> issue_cards(const std::vector<NewCard>& cards,
                                              const std::vector<RecordWrite>& records) override;
  Status put_records(const std::vector<RecordWrite>& records, const std::vector<CardRecord>& card_updates) override;

  std::optional<Account> account(AccountId id) const override;
  std::optional<AccountId> named_account(std::string_view name) const override;
  Result<CardRecord> card(const CardId& card) const override;
  Result<CardRecord> card_of_account(AccountId account) const override;
  Result<OperatorRecord> operator_record(OperatorId id) const override;
  std::vector<OperatorRecord> operators() const override;
  Result<HistoryPage> history(AccountId account, std::uint64_t before_sequence, std::size_t limit) const override;
  Result<StoredTransfer> transfer_at(std::uint64_t sequence) const override;
  Result<std::optional<GroupOutcome>> posted(const IdempotencyKey& key) const override;
  std::uint64_t highest_sequence(Origin origin, std::uint64_t source) const override;
  Result<std::vector<StoredTransfer>> transfers_for(const IdempotencyKey& key) const override;
  Result<std::vector<StoredTransfer>> transfers_for_at(const rocksdb::ReadOptions& options, const IdempotencyKey& key) const;
  Result<std::string> record(RecordSpace space, std::string_view key) const override;
  std::uint64_t last_sequence() const override;
  std::uint64_t account_count() const override;
  const std::string& upgraded_from() const override { return upgraded_from_; }
  void set_upgraded_from(std::string format) { upgraded_from_ = std::move(format); }
  std::unique_ptr<Snapshot> snapshot() const override;
  VerifyReport verify() const override;
  StorageActivity storage_activity() const override;
  FlushBacklog flush_backlog() const override;

  // operators() and card_of_account() as of `options` (a snapshot's).
  std::vector<OperatorRecord> operators_at(const rocksdb::ReadOptions& options) const;
  Result<CardRecord> card_of_account_at(const rocksdb::ReadOptions& options, AccountId account) const;

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* family(Family family) const { return families_[family]; }
  // Where a record lives: card states in their own family under the bare
  // key (written every tap, hashed memtable), the rest in "records" under
  // space byte + key.
  rocksdb::ColumnFamilyHandle* record_family(RecordSpace space) const {
    return family(space == RecordSpace::card_state ? f_card_states : f_records);
  }
  static std::string record_key(RecordSpace space, std::string_view key) {
    return space == RecordSpace::card_state ? std::string(key) : encoding::record_key(static_cast<std::uint8_t>(space), key);
  }

 private:
  struct AccountState {
    encoding::StoredAccount stored;    // durable: what readers see (published by commit)
    encoding::StoredAccount latest;    // after every prepared batch (the writer's view)
    encoding::StoredAccount staged;    // prepare() in progress: valid when staged_stamp == batch stamp
    std::uint64_t staged_stamp = 0;
    std::uint64_t history_stamp = 0;   // == batch stamp when it has a history entry in this batch
    std::uint32_t history_slot = 0;    // its entry in batch_history_
    bool exists = false;
  };
  struct Undo {
    std::uint64_t index;
    encoding::StoredAccount before;
  };
  struct SourceKey {
    Origin origin;
    std::uint64_t source;
    bool operator==(const SourceKey&) const = default;
  };
  struct SourceHash {
    std::size_t operator()(const SourceKey& key) const noexcept {
      return static_cast<std::size_t>(key.source * 0x9E3779B97F4A7C15ull) ^ static_cast<std::size_t>(key.origin);
    }
  };
  struct KeyHash {
    std::size_t operator()(const IdempotencyKey& key) const noexcept {
      std::uint64_t h = key.source * 0x9E3779B97F4A7C15ull ^ (key.sequence + 0x632BE59BD9B4E019ull);
      return static_cast<std::size_t>(h ^ (static_cast<std::uint64_t>(key.origin) << 56) ^ (h >> 29));
    }
  };
  // A batch between prepare() and commit().
  struct Prepared final : PreparedPost {
    const RocksLedger* ledger = nullptr;
    std::uint64_t number = 0;  // prepare order; commit() takes them in it
    rocksdb::WriteBatch write;
    std::vector<std::pair<std::uint64_t, encoding::StoredAccount>> accounts;  // published at commit
    std::vector<std::pair<SourceKey, std::uint64_t>> marks;                   // raised at commit
    std::uint64_t first_sequence = 0;  // of its first transfer (last_sequence + 1 when it has none)
    std::uint64_t last_sequence = 0;
    std::vector<std::pair<IdempotencyKey, std::uint32_t>> posted;  // key, its group: searched on rare duplicates
    std::unordered_set<IdempotencyKey, KeyHash> posted_unknown;    // posted below its source's window
  };
  // The writer's view of a source: its window, and whether this batch touched it.
  struct SourceState {
    SequenceWindow window;
    std::uint64_t batch_stamp = 0;
    std::uint64_t mark_before = 0;  // the mark when this batch first touched it
    std::uint64_t mark_written = 0;  // the 'H' value last put in a batch (0: none yet)
  };
  // A source's 'H' record is a lower bound of its mark, rewritten only when
  // the mark passed it by this much: one random-key memtable insert a batch
  // cost the commit thread a tenth of a core at 20k taps/s. Open raises each
  // mark to the source's highest idempotency key, so the bound is enough.
  static constexpr std::uint64_t mark_write_stride = 4096;
  // The outcome of a key known to have posted: in this batch, one being
  // committed, or (read) on disk.
  Result<GroupOutcome> earlier_outcome(const Prepared& batch, const std::vector<GroupOutcome>& outcomes,
                                       const IdempotencyKey& key, std::string_view encoded_key) const;
  // Writers other than prepare/commit (issuing cards, accounts, records):
  // holds prepare_mutex_ once every prepared batch is committed.
  std::unique_lock<std::mutex> quiesce() const;
  // What a pending (prepared, uncommitted) batch posted under `key`; with
  // `unknown_only`, only keys posted below their window (a hash lookup).
  std::optional<GroupOutcome> pending_outcome(const IdempotencyKey& key, bool unknown_only) const;

  // load() under prepare_mutex_ and mutex_, held by the caller.
  Status load_locked();
  // prepare() without its locking: the caller holds prepare_mutex_ and
  // fewer than prepared_posts_max batches are pending.
  Result<std::unique_ptr<PreparedPost>> prepare_locked(const std::vector<PostingGroup>& batch);
  Status check_batch(const std::vector<PostingGroup>& batch) const;
  Status write_synced(rocksdb::WriteBatch& batch);
  // A synced write's time and its log sync's, from RocksDB's timers.
  void count_write_time(std::chrono::steady_clock::duration elapsed);
  static constexpr std::uint64_t slow_write_micros = 10'000;
  // io_error (no space) while less than free_bytes_min is free: checked
  // before every write, so RocksDB's log never meets a full disk mid-write.
  Status check_room() const;
  // Writes `record` into `write`; an audit record also as the chain's next
  // link (audit_chain.h), advancing audit_next_/audit_head_ (prepare_mutex_).
  void put_record(rocksdb::WriteBatch& write, const RecordWrite& record);
  // Records a caller may write (not account names, not chain links).
  Status check_record_writes(const std::vector<RecordWrite>& records) const;
  // `batch` with `records` added, synced; the audit chain's head moves only
  // if it lands. The caller holds quiesce().
  Status write_with_records(rocksdb::WriteBatch& batch, const std::vector<RecordWrite>& records);
  Status load_audit_head();
  void verify_audit_chain(const rocksdb::ReadOptions& options, VerifyReport& report) const;
  // The 'H' records are lower bounds: raise each mark to its source's last key.
  Status raise_marks_to_idempotency_keys();
  Status check_writable() const;
  // Applies one transfer to the staged account states, logging the old ones;
  // a refusal names the limit.
  Status apply_transfer(const Transfer& transfer, std::uint64_t stamp, std::vector<Undo>& undo,
                        std::vector<std::uint64_t>& staged);
  encoding::StoredAccount& stage(std::uint64_t index, std::uint64_t stamp, std::vector<std::uint64_t>& staged);
  void roll_back(std::vector<Undo>& undo, std::size_t to_size);
  AccountId allocate_account(const AccountSpec& spec, rocksdb::WriteBatch& batch);
  void forget_accounts_from(std::size_t size);  // undoes allocate_account after a failed write
  Result<CardRecord> read_card(rocksdb::ReadOptions options, const CardId& card) const;
  void mark_changed(std::uint64_t index);
  // Checkpointing: start a pass, write part of it into a batch, finish all.
  void maybe_start_checkpoint();
  void add_checkpoint_chunk(rocksdb::WriteBatch& batch, std::size_t accounts_max);
  Status write_full_checkpoint();

  std::string path_;
  std::string upgraded_from_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  Options options_;
  // A write failed inside RocksDB (not refused by check_room): its log file
  // writer may be broken, and RocksDB 7.8 asserts if anything uses it again.
  std::atomic<bool> log_write_failed_{false};
  // Counted by write_synced; RocksDB's background work by the listener.
  std::atomic<std::uint64_t> synced_writes_{0};
  std::atomic<std::uint64_t> log_bytes_written_{0};
  std::atomic<std::uint64_t> write_micros_{0};
  std::atomic<std::uint64_t> log_sync_micros_{0};
  std::atomic<std::uint64_t> slow_writes_in_sync_{0};
  std::atomic<std::uint64_t> slow_writes_elsewhere_{0};
  std::shared_ptr<StorageListener> storage_listener_;

  // Locks, taken in this order:
  // - prepare_mutex_ serialises prepare() and the other writers; it guards
  //   the writer's view (latest/staged states, sources_,
  //   prepared_sequence_, checkpoint bookkeeping);
  // - commit_mutex_ is held by commit() across its synced write, and by
  //   snapshot() and verify() to sit between two commits;
  // - pending_mutex_ guards pending_ (prepared, uncommitted batches, in order);
  // - mutex_ guards what readers see (accounts_' stored states and size,
  //   names_, high_water_, last_sequence_), held briefly, never across I/O,
  //   so reads never wait for a sync.
  // prepare() of batch k+1 runs while commit() of batch k syncs.
  mutable std::mutex prepare_mutex_;
  mutable std::mutex commit_mutex_;
  mutable std::mutex pending_mutex_;
  mutable std::condition_variable pending_changed_;
  std::deque<const Prepared*> pending_;
  std::uint64_t prepared_count_ = 0;
  std::uint64_t committed_count_ = 0;
  std::atomic<bool> poisoned_{false};  // a commit failed: memory no longer matches disk
  mutable std::mutex mutex_;
  std::vector<AccountState> accounts_;  // index = account id; [0] unused
  std::map<std::string, AccountId, std::less<>> names_;
  std::unordered_map<SourceKey, std::uint64_t, SourceHash> high_water_;         // committed
  std::unordered_map<SourceKey, SourceState, SourceHash> sources_;              // prepared (writer's view)
  std::uint64_t last_sequence_ = 0;      // committed
  std::uint64_t prepared_sequence_ = 0;  // after every prepared batch
  std::uint64_t batch_stamp_ = 0;
  std::uint64_t audit_next_ = 1;  // the next audit link's number (prepare_mutex_)
  AuditHash audit_head_{};        // the last link's hash, zeros before the first

  CheckpointPass checkpoint_pass_;
  std::uint64_t checkpoint_sequence_ = 0;  // what the pass in progress is current to
  std::uint64_t transfers_since_checkpoint_ = 0;
};

}  // namespace citycard::ledger
