// verify: proves the ledger's invariants from what is on disk.
//   1. the log is gap-free and every transfer in it is readable and positive;
//   2. no transfer references a missing account, or one of another asset;
//   3. each account record equals the replay of its transfers up to the
//      sequence it is current to, and the balances served from memory equal
//      the replay of the whole log;
//   4. every asset sums to zero;
//   5. idempotency entries and transfers match, both ways;
//   6. history entries and transfers match, both ways;
//   7. every card's accounts exist and have the right kind;
//   8. the audit chain is whole: numbered without gaps, every link's hash
//      right and following the one before, its audit record equal to it.
#include <array>
#include <cstring>
#include <map>

#include "log_reader.h"
#include "rocks_ledger.h"

namespace citycard::ledger {

namespace {

constexpr std::size_t problems_max = 1000;  // keep the report readable on a badly damaged ledger

struct Replay {
  std::int64_t debits = 0;
  std::int64_t credits = 0;
  std::uint64_t count = 0;
  bool operator==(const Replay&) const = default;
};

class Problems {
 public:
  explicit Problems(VerifyReport& report) : report_(report) {}
  void add(std::string kind, std::string detail) {
    if (report_.problems.size() < problems_max) report_.problems.push_back({std::move(kind), std::move(detail)});
  }

 private:
  VerifyReport& report_;
};

std::string describe(const Replay& replay) {
  return std::to_string(replay.credits - replay.debits) + " (" + std::to_string(replay.count) + " transfers)";
}

}  // namespace

VerifyReport RocksLedger::verify() const {
  VerifyReport report;
  Problems problems(report);
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  options.total_order_seek = true;  // whole families, across prefixes

  // Memory and the snapshot between two writes, so they match.
  std::vector<std::optional<Replay>> memory;
  std::vector<std::int64_t> memory_balance;
  std::uint64_t memory_last_sequence = 0;
  const rocksdb::Snapshot* snapshot = nullptr;
  {
    std::lock_guard prepare_lock(prepare_mutex_);  // no other writer
    std::lock_guard commit_lock(commit_mutex_);    // between two commits
    snapshot = db_->GetSnapshot();
    options.snapshot = snapshot;
    memory_last_sequence = last_sequence_;
    memory.resize(accounts_.size());
    memory_balance.resize(accounts_.size());
    for (std::size_t id = 1; id < accounts_.size(); ++id) {
      if (!accounts_[id].exists) continue;
      const auto& stored = accounts_[id].stored;
      memory[id] = Replay{stored.debits_posted_minor, stored.credits_posted_minor, stored.transfer_count};
      memory_balance[id] = stored.balance_minor;
      if (stored.balance_minor != stored.credits_posted_minor - stored.debits_posted_minor) {
        problems.add("balance_mismatch", "account " + std::to_string(id) + " in memory: balance " +
                                             std::to_string(stored.balance_minor) + " is not credits - debits");
      }
    }
  }

  // Account records.
  std::vector<std::optional<encoding::StoredAccount>> stored;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_accounts)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != 8) { problems.add("bad_key", "account key of " + std::to_string(it->key().size()) + " bytes"); continue; }
      std::uint64_t id = coding::load_be<std::uint64_t>(it->key().data());
      auto account = encoding::decode_account(it->value().ToStringView());
      if (!account) { problems.add("unreadable", "account " + std::to_string(id)); continue; }
      if (id >= 1'000'000'000) { problems.add("bad_key", "account id " + std::to_string(id)); continue; }
      if (stored.size() <= id) stored.resize(id + 1);
      stored[id] = *account;
      ++report.accounts;
    }
  }
  auto account_exists = [&](AccountId id) { return id.value < stored.size() && stored[id.value].has_value(); };
  auto compare_record = [&](std::size_t id, const Replay& replay) {
    const auto& record = *stored[id];
    Replay as_stored{record.debits_posted_minor, record.credits_posted_minor, record.transfer_count};
    if (!(as_stored == replay) || record.balance_minor != record.credits_posted_minor - record.debits_posted_minor) {
      problems.add("balance_mismatch", "account " + std::to_string(id) + " stores balance " +
                                           std::to_string(record.balance_minor) + " (" +
                                           std::to_string(record.transfer_count) + " transfers) as of transfer " +
                                           std::to_string(record.applied_through) + ", replay gives " + describe(replay));
    }
  };

  // Replay the log in order.
  std::vector<Replay> replay(stored.size());
  std::vector<bool> compared(stored.size(), false);
  std::uint64_t history_entries_expected = 0;
  bool history_damaged = false;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_log)));
    std::uint64_t expected_sequence = 1;
    std::optional<IdempotencyKey> group;
    std::uint64_t group_first = 0;
    std::uint32_t group_count = 0;
    auto check_group = [&]() {
      if (!group) return;
      std::string value;
      auto status = db_->Get(options, family(f_idempotency), encoding::group_key(*group), &value);
      auto entry = status.ok() ? encoding::decode_idempotency(value) : std::nullopt;
      if (!entry) {
        problems.add("idempotency_missing", "transfers " + std::to_string(group_first) + ".." +
                                                std::to_string(group_first + group_count - 1) + " of " +
                                                group->to_string() + " have no idempotency entry");
      } else if (entry->first_sequence != group_first || entry->count != group_count) {
        problems.add("idempotency_mismatch", group->to_string() + " says transfers " +
                                                 std::to_string(entry->first_sequence) + "+" + std::to_string(entry->count) +
                                                 ", ledger has " + std::to_string(group_first) + "+" +
                                                 std::to_string(group_count));
      }
    };
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != 8) { problems.add("bad_key", "log key of " + std::to_string(it->key().size()) + " bytes"); continue; }
      const std::uint64_t first = coding::load_be<std::uint64_t>(it->key().data());
      if (first != expected_sequence) {
        problems.add("sequence_gap", "expected transfer " + std::to_string(expected_sequence) + ", found " + std::to_string(first));
      }
      auto block = encoding::BlockReader::open(it->value().ToStringView());
      if (!block) { problems.add("unreadable", "log block at transfer " + std::to_string(first)); continue; }
      const std::uint32_t count = block->count();
      expected_sequence = first + count;
      std::map<std::uint64_t, std::string> expected_history;  // account -> offsets
      for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint64_t sequence = first + i;
        ++report.transfers;
        auto decoded = block->at(i);
        if (!decoded) { problems.add("unreadable", "transfer " + std::to_string(sequence)); continue; }
        const Transfer& transfer = decoded->transfer;
        if (!group || *group != decoded->key || decoded->leg != group_count) {
          check_group();
          group = decoded->key;
          group_first = sequence;
          group_count = 0;
          if (decoded->leg != 0) {
            problems.add("idempotency_mismatch", "transfer " + std::to_string(sequence) + " starts group " +
                                                     decoded->key.to_string() + " at leg " + std::to_string(decoded->leg));
          }
        }
        ++group_count;
        if (transfer.amount_minor <= 0) {
          problems.add("bad_amount", "transfer " + std::to_string(sequence) + " moves " + std::to_string(transfer.amount_minor));
        }
        bool accounts_ok = true;
        for (AccountId id : {transfer.debit_account, transfer.credit_account}) {
          if (!account_exists(id)) {
            problems.add("missing_account", "transfer " + std::to_string(sequence) + " references missing account " +
                                                std::to_string(id.value));
            accounts_ok = false;
            continue;
          }
          if (stored[id.value]->spec.asset != transfer.asset) {
            problems.add("asset_mismatch", "transfer " + std::to_string(sequence) + " in " +
                                               std::string(asset_name(transfer.asset)) + " touches account " +
                                               std::to_string(id.value) + " in " +
                                               std::string(asset_name(stored[id.value]->spec.asset)));
          }
          coding::put_le<std::uint32_t>(expected_history[id.value], static_cast<std::uint32_t>(i));
        }
        if (!accounts_ok) continue;
        for (int side = 0; side < 2; ++side) {
          const std::uint64_t id = side == 0 ? transfer.debit_account.value : transfer.credit_account.value;
          // The record is current to applied_through: compare before going past it.
          if (!compared[id] && sequence > stored[id]->applied_through) {
            compare_record(id, replay[id]);
            compared[id] = true;
          }
          (side == 0 ? replay[id].debits : replay[id].credits) += transfer.amount_minor;
          replay[id].count += 1;
        }
      }
      history_entries_expected += expected_history.size();
      for (const auto& [account, offsets] : expected_history) {
        std::string value;
        auto status = db_->Get(options, family(f_history), encoding::history_key(AccountId{account}, first), &value);
        if (!status.ok() || value != offsets) history_damaged = true;
        if (!status.ok()) {
          problems.add("history_missing", "account " + std::to_string(account) + " has no history entry for the block at transfer " + std::to_string(first));
        } else if (value != offsets) {
          problems.add("history_mismatch", "account " + std::to_string(account) + " history for the block at transfer " + std::to_string(first) + " disagrees with the log");
        }
      }
    }
    check_group();
    if (expected_sequence - 1 != memory_last_sequence) {
      problems.add("sequence_gap", "the log ends at transfer " + std::to_string(expected_sequence - 1) +
                                       ", the ledger says " + std::to_string(memory_last_sequence));
    }
  }

  // Records not yet compared are current to the end of the log; memory must
  // equal the whole replay; each asset sums to zero.
  std::array<std::int64_t, asset_count + 1> sums{};
  for (std::size_t id = 1; id < stored.size(); ++id) {
    if (!stored[id]) continue;
    if (!compared[id]) compare_record(id, replay[id]);
    if (id >= memory.size() || !memory[id]) {
      problems.add("missing_account", "account " + std::to_string(id) + " is stored but not loaded");
      continue;
    }
    if (!(*memory[id] == replay[id])) {
      problems.add("balance_mismatch", "account " + std::to_string(id) + " serves " + describe(*memory[id]) +
                                           ", replay gives " + describe(replay[id]));
    }
    sums[static_cast<std::size_t>(stored[id]->spec.asset)] += memory_balance[id];
  }
  for (int asset = 1; asset <= asset_count; ++asset) {
    if (sums[asset] != 0) {
      problems.add("asset_sum", std::string(asset_name(static_cast<Asset>(asset))) + " balances sum to " +
                                    std::to_string(sums[asset]) + ", not 0");
    }
  }

  LogReader log(db_.get(), family(f_log), options);

  // Idempotency entries must point at transfers of their own group.
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_idempotency)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report.idempotency_keys;
      coding::Reader key_reader(it->key().ToStringView());
      auto key = encoding::decode_group_key(key_reader);
      auto entry = encoding::decode_idempotency(it->value().ToStringView());
      if (!key || !entry) { problems.add("unreadable", "idempotency entry"); continue; }
      for (std::uint32_t leg = 0; leg < entry->count; ++leg) {
        auto transfer = log.at(entry->first_sequence + leg);
        if (!transfer || transfer->key != *key || transfer->leg != leg) {
          problems.add("idempotency_orphan", key->to_string() + " leg " + std::to_string(leg) + " names transfer " +
                                                 std::to_string(entry->first_sequence + leg) + ", which is not its own");
          break;
        }
      }
    }
  }

  // Every expected history entry was checked above; if the history holds
  // other entries too, find those that name transfers not touching them.
  std::uint64_t history_entries = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_history)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++history_entries;
  }
  if (history_entries != history_entries_expected || history_damaged) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_history)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != encoding::history_key_bytes || it->value().size() % 4 != 0) {
        problems.add("bad_key", "history entry");
        continue;
      }
      const std::uint64_t account = coding::load_be<std::uint64_t>(it->key().data());
      const std::uint64_t block_first = encoding::history_key_block_first(it->key().ToStringView());
      for (std::size_t k = 0; k < it->value().size() / 4; ++k) {
        const auto offset = coding::load_le<std::uint32_t>(it->value().data() + k * 4);
        auto transfer = log.at(block_first + offset);
        if (!transfer || (transfer->transfer.debit_account.value != account && transfer->transfer.credit_account.value != account)) {
          problems.add("history_orphan", "history of account " + std::to_string(account) + " names transfer " +
                                             std::to_string(block_first + offset) + ", which does not touch it");
          break;
        }
      }
    }
  }

  // Cards.
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_cards)));
    for (it->Seek("C"); it->Valid() && it->key().starts_with("C"); it->Next()) {
      ++report.cards;
      auto card = encoding::decode_card(it->value().ToStringView());
      if (!card) { problems.add("unreadable", "card record"); continue; }
      auto check = [&](AccountId id, AccountKind kind) {
        if (!account_exists(id) || stored[id.value]->spec.kind != kind) {
          problems.add("card_account", "card " + card->card.to_string() + " names account " + std::to_string(id.value) +
                                           ", which is not a " + std::string(account_kind_name(kind)));
        }
      };
      check(card->wallet_account, AccountKind::card_wallet);
      check(card->points_account, AccountKind::card_points);
      if (card->bonus_points_account.value != 0) check(card->bonus_points_account, AccountKind::card_bonus_points);
    }
  }

  verify_audit_chain(options, report);  // 8. the audit trail's hash chain (audit_chain.h)

  db_->ReleaseSnapshot(snapshot);
  return report;
}

}  // namespace citycard::ledger
