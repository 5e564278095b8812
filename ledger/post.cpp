// Posting: prepare (validate against the writer's view, build the write),
// then commit (write once, synced; publish to readers).
#include <algorithm>
#include <array>
#include <cassert>
#include <unordered_map>

#include <rocksdb/write_batch.h>

#include "citycard/check.h"
#include "citycard/limits.h"
#include "rocks_ledger.h"

namespace citycard::ledger {

namespace {

std::string account_name(AccountId id) { return "account " + std::to_string(id.value); }

Status check_group_shape(const PostingGroup& group) {
  if (group.transfers.size() > limits::group_transfers_max) {
    return Status::invalid_argument("group " + group.key.to_string() + " has " +
                                    std::to_string(group.transfers.size()) + " transfers, at most " +
                                    std::to_string(limits::group_transfers_max));
  }
  if (group.outcome.size() > encoding::outcome_bytes_max) {
    return Status::invalid_argument("group " + group.key.to_string() + " outcome exceeds 1 KiB");
  }
  for (const auto& record : group.records) {
    if (record.space == RecordSpace::names) {
      return Status::invalid_argument("account names are written by ensure_named_account only");
    }
    if (record.space == RecordSpace::audit_chain) {
      return Status::invalid_argument("audit chain links are written by the ledger only");
    }
  }
  return Status::ok();
}

}  // namespace

encoding::StoredAccount& RocksLedger::stage(std::uint64_t index, std::uint64_t stamp, std::vector<std::uint64_t>& staged) {
  AccountState& state = accounts_[index];
  if (state.staged_stamp != stamp) {
    state.staged = state.latest;
    state.staged_stamp = stamp;
    staged.push_back(index);
  }
  return state.staged;
}

Status RocksLedger::apply_transfer(const Transfer& transfer, std::uint64_t stamp, std::vector<Undo>& undo,
                                   std::vector<std::uint64_t>& staged) {
  const auto debit = transfer.debit_account.value;
  const auto credit = transfer.credit_account.value;
  if (transfer.amount_minor <= 0) {
    return Status::invalid_argument("amount " + std::to_string(transfer.amount_minor) + " is not positive");
  }
  if (transfer.amount_minor > limits::transfer_amount_minor_max) {
    return Status::invalid_argument("amount " + std::to_string(transfer.amount_minor) + " exceeds the limit of " +
                                    std::to_string(limits::transfer_amount_minor_max));
  }
  if (debit == credit) return Status::invalid_argument("debit and credit are the same " + account_name(transfer.debit_account));
  if (debit >= accounts_.size() || !accounts_[debit].exists) return Status::not_found("no " + account_name(transfer.debit_account));
  if (credit >= accounts_.size() || !accounts_[credit].exists) return Status::not_found("no " + account_name(transfer.credit_account));
  encoding::StoredAccount& from = stage(debit, stamp, staged);
  encoding::StoredAccount& to = stage(credit, stamp, staged);
  if (from.spec.asset != transfer.asset || to.spec.asset != transfer.asset) {
    return Status::invalid_argument("transfer in " + std::string(asset_name(transfer.asset)) + " between " +
                                    account_name(transfer.debit_account) + " (" +
                                    std::string(asset_name(from.spec.asset)) + ") and " +
                                    account_name(transfer.credit_account) + " (" +
                                    std::string(asset_name(to.spec.asset)) + ")");
  }

  std::int64_t from_balance = 0;
  std::int64_t to_balance = 0;
  if (__builtin_sub_overflow(from.balance_minor, transfer.amount_minor, &from_balance) ||
      __builtin_add_overflow(to.balance_minor, transfer.amount_minor, &to_balance)) {
    return Status::refused("balance overflow on " + account_name(transfer.debit_account));
  }
  // A service given, and the close's repricing of one, are money already
  // spent: the wallet goes into debt rather than the record being wrong.
  const bool service_given = (transfer.flags & (transfer_flag_service_given | transfer_flag_repriced)) != 0;
  if (from_balance < from.spec.balance_floor_minor && !service_given) {
    return Status::refused(account_name(transfer.debit_account) + " has " + std::to_string(from.balance_minor) +
                           ", " + std::to_string(transfer.amount_minor) + " would take it below its floor of " +
                           std::to_string(from.spec.balance_floor_minor));
  }
  if (to_balance > to.spec.balance_ceiling_minor && !(transfer.flags & transfer_flag_repriced)) {
    return Status::refused(account_name(transfer.credit_account) + " would exceed its ceiling of " +
                           std::to_string(to.spec.balance_ceiling_minor));
  }

  undo.push_back({debit, from});
  undo.push_back({credit, to});
  from.balance_minor = from_balance;
  from.debits_posted_minor += transfer.amount_minor;
  from.transfer_count += 1;
  to.balance_minor = to_balance;
  to.credits_posted_minor += transfer.amount_minor;
  to.transfer_count += 1;
  return Status::ok();
}

void RocksLedger::roll_back(std::vector<Undo>& undo, std::size_t to_size) {
  CITYCARD_CHECK(undo.size() >= to_size && (undo.size() - to_size) % 2 == 0);  // both sides of each transfer
  while (undo.size() > to_size) {
    accounts_[undo.back().index].staged = undo.back().before;
    undo.pop_back();
  }
}

namespace {

// What a batch did to the accounts it staged, against what its posted groups
// say they moved: per asset, balances change by nothing in sum, and debits
// and credits each grow by exactly the posted amounts (a group that failed
// and was not fully rolled back would show here).
struct AssetSums {
  std::array<std::int64_t, asset_count + 1> balance{};
  std::array<std::int64_t, asset_count + 1> debits{};
  std::array<std::int64_t, asset_count + 1> credits{};
};

std::size_t asset_slot(Asset asset) {
  const auto slot = static_cast<std::size_t>(asset);
  CITYCARD_CHECK(slot >= 1 && slot <= static_cast<std::size_t>(asset_count));
  return slot;
}

}  // namespace

Result<std::vector<GroupOutcome>> RocksLedger::post(const std::vector<PostingGroup>& batch) {
  if (Status valid = check_batch(batch); !valid) return valid;
  // Beside a pipelined writer (the engine's committer) a batch prepared here
  // must also be the next one committed, or that writer's commit would find
  // it in front of its own and fail: wait until nothing is pending and keep
  // every other prepare out until this batch is durable.
  auto write_lock = quiesce();
  auto prepared = prepare_locked(batch);
  if (!prepared) return prepared.status();
  if (Status committed = commit(**prepared); !committed) return committed;
  return std::move((*prepared)->outcomes);
}

std::unique_lock<std::mutex> RocksLedger::quiesce() const {
  std::unique_lock lock(prepare_mutex_);
  std::unique_lock pending(pending_mutex_);
  pending_changed_.wait(pending, [this] { return pending_.empty(); });
  return lock;
}

std::optional<GroupOutcome> RocksLedger::pending_outcome(const IdempotencyKey& key, bool unknown_only) const {
  std::lock_guard lock(pending_mutex_);
  for (const Prepared* prepared : pending_) {
    const std::uint32_t* group = nullptr;
    if (unknown_only) {
      if (prepared->posted_unknown.count(key) == 0) continue;
    }
    for (const auto& [posted, index] : prepared->posted) {
      if (posted == key) group = &index;
    }
    if (group != nullptr) {
      GroupOutcome outcome = prepared->outcomes[*group];
      outcome.duplicate = true;
      return outcome;
    }
  }
  return std::nullopt;
}

Result<GroupOutcome> RocksLedger::earlier_outcome(const Prepared& batch, const std::vector<GroupOutcome>& outcomes,
                                                  const IdempotencyKey& key, std::string_view encoded_key) const {
  for (auto it = batch.posted.rbegin(); it != batch.posted.rend(); ++it) {
    if (it->first == key) {
      GroupOutcome outcome = outcomes[it->second];
      outcome.duplicate = true;
      return outcome;
    }
  }
  if (auto pending = pending_outcome(key, false)) return std::move(*pending);
  std::string value;
  auto status = db_->Get(rocksdb::ReadOptions(), family(f_idempotency), rocksdb::Slice(encoded_key.data(), encoded_key.size()), &value);
  if (!status.ok()) {
    // The window says it posted: not finding it means the disk lost it.
    return Status::corruption("idempotency entry of " + key.to_string() + " is missing: " + status.ToString());
  }
  auto stored = encoding::decode_idempotency(value);
  if (!stored) return Status::corruption("idempotency entry of " + key.to_string() + " is unreadable");
  GroupOutcome outcome;
  outcome.posted = true;
  outcome.duplicate = true;
  outcome.first_sequence = stored->first_sequence;
  outcome.transfer_count = stored->count;
  outcome.outcome = std::move(stored->outcome);
  return outcome;
}

Status RocksLedger::check_batch(const std::vector<PostingGroup>& batch) const {
  if (Status writable = check_writable(); !writable) return writable;
  if (batch.size() > limits::batch_groups_max) {
    return Status::invalid_argument("batch of " + std::to_string(batch.size()) + " groups exceeds " +
                                    std::to_string(limits::batch_groups_max));
  }
  return Status::ok();
}

Result<std::unique_ptr<PreparedPost>> RocksLedger::prepare(const std::vector<PostingGroup>& batch) {
  if (Status valid = check_batch(batch); !valid) return valid;
  std::lock_guard prepare_lock(prepare_mutex_);
  {
    std::unique_lock pending(pending_mutex_);
    pending_changed_.wait(pending, [this] { return pending_.size() < prepared_posts_max || poisoned_; });
  }
  return prepare_locked(batch);
}

Result<std::unique_ptr<PreparedPost>> RocksLedger::prepare_locked(const std::vector<PostingGroup>& batch) {
  if (Status writable = check_writable(); !writable) return writable;
  const std::uint64_t stamp = ++batch_stamp_;
  auto prepared = std::make_unique<Prepared>();
  prepared->ledger = this;
  prepared->posted.reserve(batch.size());
  prepared->write = rocksdb::WriteBatch(batch.size() * 320);  // a tap's group writes ~300 bytes
  // A read that fails once the windows have moved leaves the writer's view
  // ahead of the disk: the ledger refuses writes until reopened.
  auto fail = [this](Status status) {
    poisoned_ = true;
    return status;
  };
  std::vector<GroupOutcome>& outcomes = prepared->outcomes;
  outcomes.resize(batch.size());

  // Whether a key posted before: its source's window knows for all but keys
  // below it (late uploads, keys from before the ledger opened, operator
  // actions retried much later); those are looked up in the batches still
  // being committed, then on disk, together.
  std::vector<std::string> keys(batch.size());
  std::vector<SourceState*> sources(batch.size());
  std::vector<SourceKey> touched;
  std::vector<std::size_t> lookups;
  for (std::size_t g = 0; g < batch.size(); ++g) {
    const IdempotencyKey& key = batch[g].key;
    keys[g] = encoding::group_key(key);
    SourceState& source = sources_[SourceKey{key.origin, key.source}];
    sources[g] = &source;
    if (source.batch_stamp != stamp) {
      source.batch_stamp = stamp;
      source.mark_before = source.window.mark();
      touched.push_back(SourceKey{key.origin, key.source});
    }
    if (source.window.known(key.sequence) != SequenceWindow::Known::unknown) continue;
    if (auto pending = pending_outcome(key, true)) {
      outcomes[g] = std::move(*pending);
      continue;
    }
    lookups.push_back(g);
  }
  std::vector<rocksdb::Slice> lookup_keys;
  for (std::size_t g : lookups) lookup_keys.emplace_back(keys[g]);
  std::vector<rocksdb::PinnableSlice> found(lookups.size());
  std::vector<rocksdb::Status> found_status(lookups.size());
  if (!lookups.empty()) {
    db_->MultiGet(rocksdb::ReadOptions(), family(f_idempotency), lookups.size(), lookup_keys.data(), found.data(),
                  found_status.data());
  }

  // Sized up front: grown from nothing, these were reallocated (and faulted
  // into fresh memory) several times a batch.
  std::size_t transfers = 0;
  for (const PostingGroup& group : batch) transfers += group.transfers.size();
  std::vector<Undo> undo;
  undo.reserve(2 * transfers);
  std::vector<std::uint64_t> staged;  // accounts whose staged state this batch uses
  staged.reserve(2 * transfers);
  std::vector<std::pair<std::uint64_t, std::string>> history;  // account -> offsets in this block
  history.reserve(2 * transfers);
  std::vector<std::pair<std::string_view, std::string>> idempotency;  // key, value: written in key order
  idempotency.reserve(batch.size());
  rocksdb::WriteBatch& write = prepared->write;
  const std::uint64_t block_first = prepared_sequence_ + 1;
  std::uint64_t next_sequence = block_first;
  encoding::BlockWriter block;
  std::size_t lookup_index = 0;
  std::array<std::int64_t, asset_count + 1> posted_amount{};

  for (std::size_t g = 0; g < batch.size(); ++g) {
    const PostingGroup& group = batch[g];
    GroupOutcome& outcome = outcomes[g];
    if (outcome.duplicate) continue;  // found in a batch still being committed
    const bool looked_up = lookup_index < lookups.size() && lookups[lookup_index] == g;
    const std::size_t lookup = looked_up ? lookup_index++ : 0;
    SequenceWindow& window = sources[g]->window;
    const SequenceWindow::Known known = window.known(group.key.sequence);

    if (known == SequenceWindow::Known::posted ||
        (known == SequenceWindow::Known::unknown && prepared->posted_unknown.count(group.key) != 0)) {
      auto earlier = earlier_outcome(*prepared, outcomes, group.key, keys[g]);
      if (!earlier) return fail(earlier.status());
      outcome = std::move(*earlier);
      continue;
    }
    if (looked_up && found_status[lookup].ok()) {
      auto stored = encoding::decode_idempotency(found[lookup].ToStringView());
      if (!stored) return fail(Status::corruption("idempotency entry of " + group.key.to_string() + " is unreadable"));
      outcome.posted = true;
      outcome.duplicate = true;
      outcome.first_sequence = stored->first_sequence;
      outcome.transfer_count = stored->count;
      outcome.outcome = std::move(stored->outcome);
      continue;
    }
    if (looked_up && !found_status[lookup].IsNotFound()) {
      return fail(Status::io_error("idempotency lookup failed: " + found_status[lookup].ToString()));
    }
    if (Status shape = check_group_shape(group); !shape) {
      outcome.reason = shape;
      continue;
    }

    const std::size_t undo_mark = undo.size();
    Status applied;
    for (std::size_t t = 0; t < group.transfers.size() && applied.is_ok(); ++t) {
      applied = apply_transfer(group.transfers[t], stamp, undo, staged);
      if (!applied) {
        std::string where = "transfer " + std::to_string(t) + " of " + group.key.to_string() + ": " + applied.message();
        applied = applied.code() == StatusCode::refused ? Status::refused(where) : Status::invalid_argument(where);
      }
    }
    if (!applied) {
      roll_back(undo, undo_mark);
      outcome.reason = applied;
      continue;
    }

    const std::uint64_t first_sequence = next_sequence;
    for (std::size_t t = 0; t < group.transfers.size(); ++t) {
      const Transfer& transfer = group.transfers[t];
      posted_amount[asset_slot(transfer.asset)] += transfer.amount_minor;
      const std::uint64_t sequence = next_sequence++;
      block.add(group.key, static_cast<std::uint32_t>(t), transfer);
      const auto offset = static_cast<std::uint32_t>(sequence - block_first);
      for (AccountId account : {transfer.debit_account, transfer.credit_account}) {
        AccountState& state = accounts_[account.value];
        if (state.history_stamp != stamp) {
          state.history_stamp = stamp;
          state.history_slot = static_cast<std::uint32_t>(history.size());
          history.emplace_back(account.value, std::string());
          mark_changed(account.value);
        }
        coding::put_le<std::uint32_t>(history[state.history_slot].second, offset);
      }
    }
    const auto count = static_cast<std::uint32_t>(group.transfers.size());
    idempotency.emplace_back(keys[g], encoding::encode_idempotency(count ? first_sequence : 0, count, group.outcome));
    for (const CardRecord& card : group.card_updates) {
      write.Put(family(f_cards), encoding::card_key(card.card), encoding::encode_card(card));
    }
    for (const RecordWrite& record : group.records) put_record(write, record);
    if (known == SequenceWindow::Known::unknown) prepared->posted_unknown.insert(group.key);
    window.record(group.key.sequence);
    outcome.posted = true;
    outcome.first_sequence = count ? first_sequence : 0;
    outcome.transfer_count = count;
    outcome.outcome = group.outcome;
    prepared->posted.emplace_back(group.key, static_cast<std::uint32_t>(g));
  }

  // Idempotency keys in order: one reader's keys arrive nearly in order, and
  // the memtable's insert hint (per reader) then finds each place at once.
  std::sort(idempotency.begin(), idempotency.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [key, value] : idempotency) {
    write.Put(family(f_idempotency), rocksdb::Slice(key.data(), key.size()), value);
  }

  const std::uint64_t transfer_count = next_sequence - block_first;
  if (transfer_count > 0) {
    CITYCARD_CHECK_EQ(block.count(), transfer_count);
    write.Put(family(f_log), encoding::sequence_key(block_first), block.finish());
    // In key order, so each memtable insert starts its search where the last ended.
    std::sort(history.begin(), history.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [account, offsets] : history) {
      std::string key = encoding::history_key(AccountId{account}, block_first);
      write.Put(family(f_history), key, offsets);
    }
  }
  for (const SourceKey& source : touched) {
    SourceState& state = sources_[source];
    if (state.window.mark() > state.mark_before) {
      // A new source is registered with its first batch; after that the
      // record only needs to stay within reach (see mark_write_stride).
      if (state.mark_written == 0 || state.window.mark() - state.mark_written >= mark_write_stride) {
        std::string value;
        coding::put_be<std::uint64_t>(value, state.window.mark());
        write.Put(family(f_default), encoding::high_water_key(source.origin, source.source), value);
        state.mark_written = state.window.mark();
      }
      prepared->marks.emplace_back(source, state.window.mark());
    }
  }
  if (write.Count() > 0) {
    // At most doubling a big batch's write; a small one's by a fixed amount.
    add_checkpoint_chunk(write, std::max<std::size_t>(options_.checkpoint_accounts_per_batch, transfer_count));
  }
  AssetSums sums;
  for (std::uint64_t index : staged) {
    const AccountState& state = accounts_[index];
    const std::size_t slot = asset_slot(state.staged.spec.asset);
    CITYCARD_CHECK(state.staged.spec.asset == state.latest.spec.asset);
    sums.balance[slot] += state.staged.balance_minor - state.latest.balance_minor;
    sums.debits[slot] += state.staged.debits_posted_minor - state.latest.debits_posted_minor;
    sums.credits[slot] += state.staged.credits_posted_minor - state.latest.credits_posted_minor;
  }
  for (std::size_t slot = 1; slot <= static_cast<std::size_t>(asset_count); ++slot) {
    CITYCARD_CHECK_EQ(sums.balance[slot], 0);
    CITYCARD_CHECK_EQ(sums.debits[slot], posted_amount[slot]);
    CITYCARD_CHECK_EQ(sums.credits[slot], posted_amount[slot]);
  }
  // The batch's account states become the writer's view now, readers' at commit.
  prepared->accounts.reserve(staged.size());
  for (std::uint64_t index : staged) {
    accounts_[index].latest = accounts_[index].staged;
    prepared->accounts.emplace_back(index, accounts_[index].staged);
  }
  CITYCARD_CHECK_GE(next_sequence, block_first);
  CITYCARD_CHECK_EQ(block_first, prepared_sequence_ + 1);
  prepared_sequence_ = next_sequence - 1;
  prepared->first_sequence = block_first;
  prepared->last_sequence = prepared_sequence_;
  transfers_since_checkpoint_ += transfer_count;
  maybe_start_checkpoint();
  {
    std::lock_guard pending(pending_mutex_);
    prepared->number = ++prepared_count_;
    pending_.push_back(prepared.get());
  }
  return std::unique_ptr<PreparedPost>(std::move(prepared));
}

namespace {

// Copies another prepared batch's puts and deletes into the write that
// carries several (RocksDB has no public append of one WriteBatch to another).
class AppendTo final : public rocksdb::WriteBatch::Handler {
 public:
  AppendTo(rocksdb::WriteBatch& to, const std::vector<rocksdb::ColumnFamilyHandle*>& families)
      : to_(to), families_(families) {}
  rocksdb::Status PutCF(std::uint32_t id, const rocksdb::Slice& key, const rocksdb::Slice& value) override {
    auto* handle = family(id);
    return handle == nullptr ? unknown(id) : to_.Put(handle, key, value);
  }
  rocksdb::Status DeleteCF(std::uint32_t id, const rocksdb::Slice& key) override {
    auto* handle = family(id);
    return handle == nullptr ? unknown(id) : to_.Delete(handle, key);
  }
  // Every other kind of entry keeps the Handler's refusal: prepare writes none.

 private:
  rocksdb::ColumnFamilyHandle* family(std::uint32_t id) const {
    for (auto* handle : families_) {
      if (handle->GetID() == id) return handle;
    }
    return nullptr;
  }
  static rocksdb::Status unknown(std::uint32_t id) {
    return rocksdb::Status::InvalidArgument("column family " + std::to_string(id) + " is not the ledger's");
  }
  rocksdb::WriteBatch& to_;
  const std::vector<rocksdb::ColumnFamilyHandle*>& families_;
};

}  // namespace

Status RocksLedger::commit(std::span<PreparedPost* const> posts) {
  std::vector<Prepared*> batches;
  batches.reserve(posts.size());
  for (PreparedPost* base : posts) {
    auto* prepared = dynamic_cast<Prepared*>(base);
    if (prepared == nullptr || prepared->ledger != this) return Status::invalid_argument("not a batch prepared by this ledger");
    batches.push_back(prepared);
  }
  if (batches.empty()) return Status::invalid_argument("no prepared batch to commit");
  std::lock_guard commit_lock(commit_mutex_);
  {
    std::lock_guard pending(pending_mutex_);
    if (pending_.size() < batches.size() || !std::equal(batches.begin(), batches.end(), pending_.begin())) {
      return Status::invalid_argument("prepared batches are committed in the order they were prepared");
    }
  }
  auto finish = [&](Status status) {
    {
      std::lock_guard pending(pending_mutex_);
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(batches.size()));
      committed_count_ += batches.size();
    }
    pending_changed_.notify_all();
    return status;
  };
  if (poisoned_) return finish(Status::io_error("an earlier ledger write failed; reopen the ledger"));
  // The first batch's write carries the others: it is not reused after.
  rocksdb::WriteBatch& write = batches.front()->write;
  for (std::size_t i = 1; i < batches.size(); ++i) {
    const std::uint32_t before = write.Count();
    AppendTo append(write, families_);
    rocksdb::Status copied = batches[i]->write.Iterate(&append);
    CITYCARD_CHECK(copied.ok());  // prepare builds only puts and deletes of the ledger's families
    CITYCARD_CHECK_EQ(write.Count(), before + batches[i]->write.Count());
  }
  if (write.Count() > 0) {
    if (Status written = write_synced(write); !written) {
      poisoned_ = true;
      return finish(written);
    }
  }
  {
    std::lock_guard lock(mutex_);
    for (const Prepared* prepared : batches) {
      for (const auto& [index, state] : prepared->accounts) accounts_[index].stored = state;
      for (const auto& [source, sequence] : prepared->marks) {
        auto& current = high_water_[source];
        current = std::max(current, sequence);
      }
      // Published in prepare order, gap-free.
      CITYCARD_CHECK_EQ(prepared->first_sequence, last_sequence_ + 1);
      CITYCARD_CHECK_GE(prepared->last_sequence, last_sequence_);
      last_sequence_ = prepared->last_sequence;
    }
  }
  return finish(Status::ok());
}

void RocksLedger::mark_changed(std::uint64_t index) { checkpoint_pass_.mark_changed(index); }

void RocksLedger::maybe_start_checkpoint() {
  if (checkpoint_pass_.in_progress()) return;
  if (transfers_since_checkpoint_ < options_.checkpoint_interval_transfers) return;
  checkpoint_sequence_ = prepared_sequence_;
  checkpoint_pass_.start();
  transfers_since_checkpoint_ = 0;
}

void RocksLedger::add_checkpoint_chunk(rocksdb::WriteBatch& batch, std::size_t accounts_max) {
  if (!checkpoint_pass_.in_progress()) return;
  // Each record as the writer sees it now: current to every prepared batch,
  // which lands before (or with) this write, so replay skips what it holds.
  checkpoint_pass_.take(accounts_max, [&](std::uint64_t index) {
    if (index >= accounts_.size() || !accounts_[index].exists) return;  // forgotten after a failed write
    encoding::StoredAccount record = accounts_[index].latest;
    CITYCARD_CHECK_GE(prepared_sequence_, checkpoint_sequence_);
    record.applied_through = prepared_sequence_;
    batch.Put(family(f_accounts), encoding::account_key(AccountId{index}), encoding::encode_account(record));
  });
  if (!checkpoint_pass_.in_progress()) {
    // The pass is complete: every record is now current to checkpoint_sequence_ or later.
    std::string value;
    coding::put_be<std::uint64_t>(value, checkpoint_sequence_);
    batch.Put(family(f_default), encoding::replay_from_key, value);
  }
}

Status RocksLedger::write_full_checkpoint() {
  auto drain_pass = [this]() -> Status {
    while (checkpoint_pass_.in_progress()) {
      rocksdb::WriteBatch batch;
      add_checkpoint_chunk(batch, 65536);
      if (Status status = write_synced(batch); !status) return status;
    }
    return Status::ok();
  };
  // Finish the pass in progress, then write everything changed since.
  if (Status status = drain_pass(); !status) return status;
  transfers_since_checkpoint_ = options_.checkpoint_interval_transfers;
  maybe_start_checkpoint();
  if (Status status = drain_pass(); !status) return status;
  rocksdb::WriteBatch batch;
  std::string value;
  coding::put_be<std::uint64_t>(value, prepared_sequence_);
  batch.Put(family(f_default), encoding::replay_from_key, value);
  return write_synced(batch);
}

AccountId RocksLedger::allocate_account(const AccountSpec& spec, rocksdb::WriteBatch& batch) {
  AccountState state;
  state.stored.spec = spec;
  state.stored.applied_through = prepared_sequence_;
  state.latest = state.stored;
  state.exists = true;
  AccountId id{0};
  {
    std::lock_guard lock(mutex_);
    id = AccountId{accounts_.size()};
    accounts_.push_back(state);
  }
  batch.Put(family(f_accounts), encoding::account_key(id), encoding::encode_account(state.stored));
  return id;
}

void RocksLedger::forget_accounts_from(std::size_t size) {
  std::lock_guard lock(mutex_);
  accounts_.resize(size);
}

Result<AccountId> RocksLedger::create_account(const AccountSpec& spec) {
  if (Status writable = check_writable(); !writable) return writable;
  auto write_lock = quiesce();
  rocksdb::WriteBatch batch;
  const std::size_t before = accounts_.size();
  AccountId id = allocate_account(spec, batch);
  if (Status written = write_synced(batch); !written) {
    forget_accounts_from(before);
    return written;
  }
  return id;
}

Result<AccountId> RocksLedger::ensure_named_account(std::string_view name, const AccountSpec& spec) {
  if (Status writable = check_writable(); !writable) return writable;
  if (name.empty() || name.size() > 200) return Status::invalid_argument("account name must be 1..200 bytes");
  auto write_lock = quiesce();
  if (auto it = names_.find(name); it != names_.end()) {
    const auto& existing = accounts_[it->second.value].stored.spec;
    if (existing.kind != spec.kind || existing.asset != spec.asset) {
      return Status::already_exists("account '" + std::string(name) + "' exists with another kind or asset");
    }
    return it->second;
  }
  rocksdb::WriteBatch batch;
  const std::size_t before = accounts_.size();
  AccountId id = allocate_account(spec, batch);
  std::string id_value;
  coding::put_be<std::uint64_t>(id_value, id.value);
  batch.Put(family(f_records), encoding::record_key(static_cast<std::uint8_t>(RecordSpace::names), name), id_value);
  if (Status written = write_synced(batch); !written) {
    forget_accounts_from(before);
    return written;
  }
  std::lock_guard lock(mutex_);
  names_.emplace(std::string(name), id);
  return id;
}

}  // namespace citycard::ledger
