// RocksLedger: the Ledger on RocksDB. Internal to ledger/.
//
// Design (see docs/ledger.md): every account's balance lives in memory (a
// dense vector, ~80 bytes an account), so posting never reads an account
// from disk. A batch is validated and applied in memory with an undo log,
// then written as one synced WriteBatch: transfers appended under increasing
// sequence keys, two history index entries, the idempotency entry, and the
// touched accounts' new balances (once per account per batch). If the write
// fails, the undo log restores memory and nothing is reported posted.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "encoding.h"
#include "ledger/ledger.h"

namespace citycard::ledger {

class RocksLedger final : public Ledger {
 public:
  enum Family : std::size_t { f_default, f_accounts, f_transfers, f_idempotency, f_history, f_cards, f_records, family_count };

  RocksLedger(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> families, bool read_only);
  ~RocksLedger() override;

  Status load();  // reads accounts, names and the last sequence into memory

  Result<std::vector<GroupOutcome>> post(const std::vector<PostingGroup>& batch) override;
  Result<AccountId> create_account(const AccountSpec& spec) override;
  Result<AccountId> ensure_named_account(std::string_view name, const AccountSpec& spec) override;
  Result<OperatorRecord> register_operator(OperatorId id, std::string_view name) override;
  Result<std::vector<CardRecord>> issue_cards(const std::vector<NewCard>& cards) override;
  Status put_records(const std::vector<RecordWrite>& records, const std::vector<CardRecord>& card_updates) override;

  std::optional<Account> account(AccountId id) const override;
  std::optional<AccountId> named_account(std::string_view name) const override;
  Result<CardRecord> card(const CardId& card) const override;
  Result<CardRecord> card_of_account(AccountId account) const override;
  Result<OperatorRecord> operator_record(OperatorId id) const override;
  std::vector<OperatorRecord> operators() const override;
  Result<HistoryPage> history(AccountId account, std::uint64_t before_sequence, std::size_t limit) const override;
  Result<StoredTransfer> transfer_at(std::uint64_t sequence) const override;
  Result<std::vector<StoredTransfer>> transfers_for(const IdempotencyKey& key) const override;
  Result<std::string> record(RecordSpace space, std::string_view key) const override;
  std::uint64_t last_sequence() const override;
  std::uint64_t account_count() const override;
  std::unique_ptr<Snapshot> snapshot() const override;
  VerifyReport verify() const override;

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* family(Family family) const { return families_[family]; }

 private:
  struct AccountState {
    encoding::StoredAccount stored;
    std::uint64_t dirty_stamp = 0;  // == batch stamp when already queued for writing
    bool exists = false;
  };
  struct Undo {
    std::uint64_t index;
    encoding::StoredAccount before;
  };

  Status write_synced(rocksdb::WriteBatch& batch);
  Status check_writable() const;
  // Applies one transfer to memory, logging the old states; a refusal names the limit.
  Status apply_transfer(const Transfer& transfer, std::vector<Undo>& undo);
  void roll_back(std::vector<Undo>& undo, std::size_t to_size);
  AccountId allocate_account(const AccountSpec& spec, rocksdb::WriteBatch& batch);
  Result<CardRecord> read_card(rocksdb::ReadOptions options, const CardId& card) const;

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  bool read_only_;

  mutable std::mutex mutex_;            // guards everything below
  std::vector<AccountState> accounts_;  // index = account id; [0] unused
  std::map<std::string, AccountId, std::less<>> names_;
  std::uint64_t last_sequence_ = 0;
  std::uint64_t batch_stamp_ = 0;
};

}  // namespace citycard::ledger
