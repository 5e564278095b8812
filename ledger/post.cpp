// Posting: validate and apply in memory, write once, synced.
#include <array>
#include <cassert>
#include <unordered_map>

#include <rocksdb/write_batch.h>

#include "citycard/limits.h"
#include "rocks_ledger.h"

namespace citycard::ledger {

namespace {

struct KeyHash {
  std::size_t operator()(const IdempotencyKey& key) const noexcept {
    std::uint64_t h = key.source * 0x9E3779B97F4A7C15ull ^ (key.sequence + 0x632BE59BD9B4E019ull);
    return static_cast<std::size_t>(h ^ (static_cast<std::uint64_t>(key.origin) << 56) ^ (h >> 29));
  }
};

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
  }
  return Status::ok();
}

}  // namespace

Status RocksLedger::apply_transfer(const Transfer& transfer, std::vector<Undo>& undo) {
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
  AccountState& from = accounts_[debit];
  AccountState& to = accounts_[credit];
  if (from.stored.spec.asset != transfer.asset || to.stored.spec.asset != transfer.asset) {
    return Status::invalid_argument("transfer in " + std::string(asset_name(transfer.asset)) + " between " +
                                    account_name(transfer.debit_account) + " (" +
                                    std::string(asset_name(from.stored.spec.asset)) + ") and " +
                                    account_name(transfer.credit_account) + " (" +
                                    std::string(asset_name(to.stored.spec.asset)) + ")");
  }

  std::int64_t from_balance = 0;
  std::int64_t to_balance = 0;
  if (__builtin_sub_overflow(from.stored.balance_minor, transfer.amount_minor, &from_balance) ||
      __builtin_add_overflow(to.stored.balance_minor, transfer.amount_minor, &to_balance)) {
    return Status::refused("balance overflow on " + account_name(transfer.debit_account));
  }
  const bool service_given = (transfer.flags & transfer_flag_service_given) != 0;
  if (from_balance < from.stored.spec.balance_floor_minor && !service_given) {
    return Status::refused(account_name(transfer.debit_account) + " has " + std::to_string(from.stored.balance_minor) +
                           ", " + std::to_string(transfer.amount_minor) + " would take it below its floor of " +
                           std::to_string(from.stored.spec.balance_floor_minor));
  }
  if (to_balance > to.stored.spec.balance_ceiling_minor) {
    return Status::refused(account_name(transfer.credit_account) + " would exceed its ceiling of " +
                           std::to_string(to.stored.spec.balance_ceiling_minor));
  }

  undo.push_back({debit, from.stored});
  undo.push_back({credit, to.stored});
  from.stored.balance_minor = from_balance;
  from.stored.debits_posted_minor += transfer.amount_minor;
  from.stored.transfer_count += 1;
  to.stored.balance_minor = to_balance;
  to.stored.credits_posted_minor += transfer.amount_minor;
  to.stored.transfer_count += 1;
  return Status::ok();
}

void RocksLedger::roll_back(std::vector<Undo>& undo, std::size_t to_size) {
  while (undo.size() > to_size) {
    accounts_[undo.back().index].stored = undo.back().before;
    undo.pop_back();
  }
}

Result<std::vector<GroupOutcome>> RocksLedger::post(const std::vector<PostingGroup>& batch) {
  if (Status writable = check_writable(); !writable) return writable;
  if (batch.size() > limits::batch_groups_max) {
    return Status::invalid_argument("batch of " + std::to_string(batch.size()) + " groups exceeds " +
                                    std::to_string(limits::batch_groups_max));
  }
  std::lock_guard lock(mutex_);
  const std::uint64_t stamp = ++batch_stamp_;

  // One MultiGet finds every key that posted in an earlier batch.
  std::vector<std::string> keys;
  keys.reserve(batch.size());
  for (const auto& group : batch) keys.push_back(encoding::group_key(group.key));
  std::vector<rocksdb::Slice> key_slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> found(batch.size());
  std::vector<rocksdb::Status> found_status(batch.size());
  db_->MultiGet(rocksdb::ReadOptions(), family(f_idempotency), batch.size(), key_slices.data(), found.data(),
                found_status.data());

  std::vector<GroupOutcome> outcomes(batch.size());
  std::unordered_map<IdempotencyKey, std::size_t, KeyHash> posted_here;
  std::vector<Undo> undo;
  std::vector<std::uint64_t> dirty;
  rocksdb::WriteBatch write;
  std::uint64_t next_sequence = last_sequence_ + 1;
  std::string value;
  std::array<char, encoding::history_key_bytes> history_key{};

  for (std::size_t g = 0; g < batch.size(); ++g) {
    const PostingGroup& group = batch[g];
    GroupOutcome& outcome = outcomes[g];

    if (auto earlier = posted_here.find(group.key); earlier != posted_here.end()) {
      outcome = outcomes[earlier->second];
      outcome.duplicate = true;
      continue;
    }
    if (found_status[g].ok()) {
      auto stored = encoding::decode_idempotency(found[g].ToStringView());
      if (!stored) return Status::corruption("idempotency entry of " + group.key.to_string() + " is unreadable");
      outcome.posted = true;
      outcome.duplicate = true;
      outcome.first_sequence = stored->first_sequence;
      outcome.transfer_count = stored->count;
      outcome.outcome = std::move(stored->outcome);
      continue;
    }
    if (!found_status[g].IsNotFound()) {
      roll_back(undo, 0);
      return Status::io_error("idempotency lookup failed: " + found_status[g].ToString());
    }
    if (Status shape = check_group_shape(group); !shape) {
      outcome.reason = shape;
      continue;
    }

    const std::size_t undo_mark = undo.size();
    Status applied;
    for (std::size_t t = 0; t < group.transfers.size() && applied.is_ok(); ++t) {
      applied = apply_transfer(group.transfers[t], undo);
      if (!applied) applied = Status(applied.code() == StatusCode::refused
                                         ? Status::refused("transfer " + std::to_string(t) + " of " + group.key.to_string() + ": " + applied.message())
                                         : Status::invalid_argument("transfer " + std::to_string(t) + " of " + group.key.to_string() + ": " + applied.message()));
    }
    if (!applied) {
      roll_back(undo, undo_mark);
      outcome.reason = applied;
      continue;
    }

    for (std::size_t u = undo_mark; u < undo.size(); ++u) {
      AccountState& state = accounts_[undo[u].index];
      if (state.dirty_stamp != stamp) {
        state.dirty_stamp = stamp;
        dirty.push_back(undo[u].index);
      }
    }
    const std::uint64_t first_sequence = next_sequence;
    for (std::size_t t = 0; t < group.transfers.size(); ++t) {
      const Transfer& transfer = group.transfers[t];
      const std::uint64_t sequence = next_sequence++;
      char sequence_key[8];
      for (int i = 7, s = 0; i >= 0; --i, s += 8) sequence_key[i] = static_cast<char>(sequence >> s);
      value.clear();
      encoding::encode_transfer(value, group.key, static_cast<std::uint32_t>(t), transfer);
      write.Put(family(f_transfers), rocksdb::Slice(sequence_key, 8), value);
      for (AccountId account : {transfer.debit_account, transfer.credit_account}) {
        for (int i = 7, s = 0; i >= 0; --i, s += 8) history_key[i] = static_cast<char>(account.value >> s);
        std::copy(sequence_key, sequence_key + 8, history_key.data() + 8);
        write.Put(family(f_history), rocksdb::Slice(history_key.data(), history_key.size()), rocksdb::Slice());
      }
    }
    const auto count = static_cast<std::uint32_t>(group.transfers.size());
    write.Put(family(f_idempotency), keys[g], encoding::encode_idempotency(first_sequence, count, group.outcome));
    for (const CardRecord& card : group.card_updates) {
      write.Put(family(f_cards), encoding::card_key(card.card), encoding::encode_card(card));
    }
    for (const RecordWrite& record : group.records) {
      write.Put(family(f_records), encoding::record_key(static_cast<std::uint8_t>(record.space), record.key), record.value);
    }
    outcome.posted = true;
    outcome.first_sequence = count ? first_sequence : 0;
    outcome.transfer_count = count;
    outcome.outcome = group.outcome;
    posted_here.emplace(group.key, g);
  }

  if (write.Count() == 0) return outcomes;
  for (std::uint64_t index : dirty) {
    write.Put(family(f_accounts), encoding::account_key(AccountId{index}), encoding::encode_account(accounts_[index].stored));
  }
  if (Status written = write_synced(write); !written) {
    roll_back(undo, 0);
    return written;
  }
  last_sequence_ = next_sequence - 1;
  return outcomes;
}

AccountId RocksLedger::allocate_account(const AccountSpec& spec, rocksdb::WriteBatch& batch) {
  AccountId id{accounts_.size()};
  AccountState state;
  state.stored.spec = spec;
  state.exists = true;
  accounts_.push_back(state);
  batch.Put(family(f_accounts), encoding::account_key(id), encoding::encode_account(state.stored));
  return id;
}

Result<AccountId> RocksLedger::create_account(const AccountSpec& spec) {
  if (Status writable = check_writable(); !writable) return writable;
  std::lock_guard lock(mutex_);
  rocksdb::WriteBatch batch;
  AccountId id = allocate_account(spec, batch);
  if (Status written = write_synced(batch); !written) {
    accounts_.pop_back();
    return written;
  }
  return id;
}

Result<AccountId> RocksLedger::ensure_named_account(std::string_view name, const AccountSpec& spec) {
  if (Status writable = check_writable(); !writable) return writable;
  if (name.empty() || name.size() > 200) return Status::invalid_argument("account name must be 1..200 bytes");
  std::lock_guard lock(mutex_);
  if (auto it = names_.find(name); it != names_.end()) {
    const auto& existing = accounts_[it->second.value].stored.spec;
    if (existing.kind != spec.kind || existing.asset != spec.asset) {
      return Status::already_exists("account '" + std::string(name) + "' exists with another kind or asset");
    }
    return it->second;
  }
  rocksdb::WriteBatch batch;
  AccountId id = allocate_account(spec, batch);
  std::string id_value;
  encoding::put_be64(id_value, id.value);
  batch.Put(family(f_records), encoding::record_key(static_cast<std::uint8_t>(RecordSpace::names), name), id_value);
  if (Status written = write_synced(batch); !written) {
    accounts_.pop_back();
    return written;
  }
  names_.emplace(std::string(name), id);
  return id;
}

}  // namespace citycard::ledger
