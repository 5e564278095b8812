// verify: proves the ledger's invariants from what is on disk, not memory.
//   1. every asset sums to zero over all accounts;
//   2. each account's stored balance and totals equal the replay of its transfers;
//   3. no transfer references a missing account, or one of another asset;
//   4. idempotency entries and transfers match, both ways;
//   5. history entries and transfers match, both ways;
//   6. every card's accounts exist and have the right kind.
#include <array>
#include <unordered_map>

#include "rocks_ledger.h"

namespace citycard::ledger {

namespace {

constexpr std::size_t problems_max = 1000;  // keep the report readable on a badly damaged ledger

struct Replay {
  std::int64_t debits = 0;
  std::int64_t credits = 0;
  std::uint64_t count = 0;
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

}  // namespace

VerifyReport RocksLedger::verify() const {
  VerifyReport report;
  Problems problems(report);
  rocksdb::ReadOptions options;
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  options.snapshot = snapshot;
  options.fill_cache = false;

  // Accounts as stored.
  std::vector<std::optional<encoding::StoredAccount>> stored;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_accounts)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != 8) { problems.add("bad_key", "account key of " + std::to_string(it->key().size()) + " bytes"); continue; }
      std::uint64_t id = encoding::get_be64(it->key().data());
      auto account = encoding::decode_account(it->value().ToStringView());
      if (!account) { problems.add("unreadable", "account " + std::to_string(id)); continue; }
      if (id >= 1'000'000'000) { problems.add("bad_key", "account id " + std::to_string(id)); continue; }
      if (stored.size() <= id) stored.resize(id + 1);
      stored[id] = *account;
      ++report.accounts;
    }
  }
  auto account_exists = [&](AccountId id) { return id.value < stored.size() && stored[id.value].has_value(); };

  // Replay transfers in order.
  std::vector<Replay> replay(stored.size());
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_transfers)));
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
      if (it->key().size() != 8) { problems.add("bad_key", "transfer key of " + std::to_string(it->key().size()) + " bytes"); continue; }
      std::uint64_t sequence = encoding::get_be64(it->key().data());
      ++report.transfers;
      if (sequence != expected_sequence) {
        problems.add("sequence_gap", "expected transfer " + std::to_string(expected_sequence) + ", found " + std::to_string(sequence));
      }
      expected_sequence = sequence + 1;
      auto decoded = encoding::decode_transfer(it->value().ToStringView());
      if (!decoded) { problems.add("unreadable", "transfer " + std::to_string(sequence)); continue; }
      const Transfer& transfer = decoded->transfer;
      if (!group || *group != decoded->key || decoded->leg != group_count) {
        check_group();
        group = decoded->key;
        group_first = sequence;
        group_count = 0;
        if (decoded->leg != 0) problems.add("idempotency_mismatch", "transfer " + std::to_string(sequence) + " starts group " + decoded->key.to_string() + " at leg " + std::to_string(decoded->leg));
      }
      ++group_count;
      if (transfer.amount_minor <= 0) problems.add("bad_amount", "transfer " + std::to_string(sequence) + " moves " + std::to_string(transfer.amount_minor));
      bool accounts_ok = true;
      for (AccountId id : {transfer.debit_account, transfer.credit_account}) {
        if (!account_exists(id)) {
          problems.add("missing_account", "transfer " + std::to_string(sequence) + " references missing account " + std::to_string(id.value));
          accounts_ok = false;
        } else if (stored[id.value]->spec.asset != transfer.asset) {
          problems.add("asset_mismatch", "transfer " + std::to_string(sequence) + " in " + std::string(asset_name(transfer.asset)) + " touches account " + std::to_string(id.value) + " in " + std::string(asset_name(stored[id.value]->spec.asset)));
        }
        std::string history_value;
        if (!db_->Get(options, family(f_history), encoding::history_key(id, sequence), &history_value).ok()) {
          problems.add("history_missing", "account " + std::to_string(id.value) + " has no history entry for transfer " + std::to_string(sequence));
        }
      }
      if (!accounts_ok) continue;
      replay[transfer.debit_account.value].debits += transfer.amount_minor;
      replay[transfer.debit_account.value].count += 1;
      replay[transfer.credit_account.value].credits += transfer.amount_minor;
      replay[transfer.credit_account.value].count += 1;
    }
    check_group();
  }

  // Stored balances against the replay, and the sum per asset.
  std::array<std::int64_t, asset_count + 1> sums{};
  for (std::size_t id = 1; id < stored.size(); ++id) {
    if (!stored[id]) continue;
    const auto& account = *stored[id];
    const Replay& r = replay[id];
    sums[static_cast<std::size_t>(account.spec.asset)] += account.balance_minor;
    if (account.balance_minor != r.credits - r.debits || account.debits_posted_minor != r.debits ||
        account.credits_posted_minor != r.credits || account.transfer_count != r.count) {
      problems.add("balance_mismatch", "account " + std::to_string(id) + " stores balance " +
                                           std::to_string(account.balance_minor) + " (" + std::to_string(account.transfer_count) +
                                           " transfers), replay gives " + std::to_string(r.credits - r.debits) + " (" +
                                           std::to_string(r.count) + " transfers)");
    }
  }
  for (int asset = 1; asset <= asset_count; ++asset) {
    if (sums[asset] != 0) {
      problems.add("asset_sum", std::string(asset_name(static_cast<Asset>(asset))) + " balances sum to " +
                                    std::to_string(sums[asset]) + ", not 0");
    }
  }

  // Idempotency entries must point at transfers of their own group.
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_idempotency)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report.idempotency_keys;
      encoding::Reader key_reader(it->key().ToStringView());
      auto key = encoding::decode_group_key(key_reader);
      auto entry = encoding::decode_idempotency(it->value().ToStringView());
      if (!key || !entry) { problems.add("unreadable", "idempotency entry"); continue; }
      for (std::uint32_t leg = 0; leg < entry->count; ++leg) {
        std::string value;
        auto status = db_->Get(options, family(f_transfers), encoding::sequence_key(entry->first_sequence + leg), &value);
        auto transfer = status.ok() ? encoding::decode_transfer(value) : std::nullopt;
        if (!transfer || transfer->key != *key || transfer->leg != leg) {
          problems.add("idempotency_orphan", key->to_string() + " leg " + std::to_string(leg) + " names transfer " +
                                                 std::to_string(entry->first_sequence + leg) + ", which is not its own");
          break;
        }
      }
    }
  }

  // History entries must name transfers that touch their account.
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_history)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != encoding::history_key_bytes) { problems.add("bad_key", "history key"); continue; }
      std::uint64_t account = encoding::get_be64(it->key().data());
      std::uint64_t sequence = encoding::get_be64(it->key().data() + 8);
      std::string value;
      auto status = db_->Get(options, family(f_transfers), encoding::sequence_key(sequence), &value);
      auto transfer = status.ok() ? encoding::decode_transfer(value) : std::nullopt;
      if (!transfer || (transfer->transfer.debit_account.value != account && transfer->transfer.credit_account.value != account)) {
        problems.add("history_orphan", "history of account " + std::to_string(account) + " names transfer " +
                                           std::to_string(sequence) + ", which does not touch it");
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
    }
  }

  db_->ReleaseSnapshot(snapshot);
  return report;
}

}  // namespace citycard::ledger
