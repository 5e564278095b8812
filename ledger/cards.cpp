// Cards and operators: who owns which accounts.
#include <set>

#include <rocksdb/write_batch.h>

#include "rocks_ledger.h"

namespace citycard::ledger {

namespace {

// operator_info value := payable:u64 settled:u64 name:bytes
std::string operator_key(OperatorId id) {
  std::string key;
  coding::put_be<std::uint64_t>(key, id.value);
  return key;
}

std::optional<OperatorRecord> decode_operator(OperatorId id, std::string_view value) {
  coding::Reader reader(value);
  OperatorRecord record;
  record.id = id;
  record.payable_account.value = reader.le<std::uint64_t>();
  record.settled_account.value = reader.le<std::uint64_t>();
  record.name = std::string(reader.chars(reader.remaining()));
  if (!reader.ok()) return std::nullopt;
  return record;
}

}  // namespace

Result<OperatorRecord> RocksLedger::register_operator(OperatorId id, std::string_view name) {
  if (Status writable = check_writable(); !writable) return writable;
  if (id.value == 0) return Status::invalid_argument("operator id 0 is reserved");
  if (name.empty() || name.size() > 200) return Status::invalid_argument("operator name must be 1..200 bytes");
  auto write_lock = quiesce();
  if (auto existing = operator_record(id); existing) {
    if (existing->name != name) {
      return Status::already_exists("operator " + std::to_string(id.value) + " is registered as '" + existing->name + "'");
    }
    return existing;
  }
  rocksdb::WriteBatch batch;
  const std::size_t accounts_before = accounts_.size();
  OperatorRecord record;
  record.id = id;
  record.name = std::string(name);
  AccountSpec payable{AccountKind::operator_payable, Asset::twd, balance_floor_none,
                      std::numeric_limits<std::int64_t>::max(), id.value};
  AccountSpec settled = payable;
  settled.kind = AccountKind::operator_settled;
  record.payable_account = allocate_account(payable, batch);
  record.settled_account = allocate_account(settled, batch);
  std::string value;
  coding::put_le<std::uint64_t>(value, record.payable_account.value);
  coding::put_le<std::uint64_t>(value, record.settled_account.value);
  value.append(name);
  batch.Put(family(f_records),
            encoding::record_key(static_cast<std::uint8_t>(RecordSpace::operator_info), operator_key(id)), value);
  if (Status written = write_synced(batch); !written) {
    forget_accounts_from(accounts_before);
    return written;
  }
  return record;
}

Result<OperatorRecord> RocksLedger::operator_record(OperatorId id) const {
  std::string value;
  auto status = db_->Get(rocksdb::ReadOptions(), family(f_records),
                         encoding::record_key(static_cast<std::uint8_t>(RecordSpace::operator_info), operator_key(id)),
                         &value);
  if (status.IsNotFound()) return Status::not_found("no operator " + std::to_string(id.value));
  if (!status.ok()) return Status::io_error("reading operator: " + status.ToString());
  auto record = decode_operator(id, value);
  if (!record) return Status::corruption("operator " + std::to_string(id.value) + " is unreadable");
  return *record;
}

std::vector<OperatorRecord> RocksLedger::operators() const { return operators_at(rocksdb::ReadOptions()); }

std::vector<OperatorRecord> RocksLedger::operators_at(const rocksdb::ReadOptions& options) const {
  std::vector<OperatorRecord> out;
  std::string prefix = encoding::record_key(static_cast<std::uint8_t>(RecordSpace::operator_info), "");
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_records)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() != 9) continue;
    OperatorId id{static_cast<std::uint32_t>(coding::load_be<std::uint64_t>(it->key().data() + 1))};
    if (auto record = decode_operator(id, it->value().ToStringView())) out.push_back(*record);
  }
  return out;
}

Result<std::vector<CardRecord>> RocksLedger::issue_cards(const std::vector<NewCard>& cards,
                                                         const std::vector<RecordWrite>& records) {
  if (Status writable = check_writable(); !writable) return writable;
  if (Status allowed = check_record_writes(records); !allowed) return allowed;
  auto write_lock = quiesce();
  const std::size_t accounts_before = accounts_.size();
  rocksdb::WriteBatch batch;
  std::vector<CardRecord> issued;
  issued.reserve(cards.size());
  std::set<CardId> in_batch;
  auto fail = [&](Status status) -> Result<std::vector<CardRecord>> {
    forget_accounts_from(accounts_before);
    return status;
  };
  for (const NewCard& card : cards) {
    if (card.card.empty()) return fail(Status::invalid_argument("card id is empty"));
    if (card.overdraft_minor < 0) return fail(Status::invalid_argument("overdraft must not be negative"));
    if (card.wallet_ceiling_minor <= 0) return fail(Status::invalid_argument("wallet ceiling must be positive"));
    if (!in_batch.insert(card.card).second || read_card(rocksdb::ReadOptions(), card.card)) {
      return fail(Status::already_exists("card " + card.card.to_string() + " is already issued"));
    }
    CardRecord record;
    record.card = card.card;
    record.category = card.category;
    record.media = card.media;
    record.status = CardStatus::active;
    if (!card.linked_to.empty()) {
      auto primary = read_card(rocksdb::ReadOptions(), card.linked_to);
      if (!primary) return fail(Status::not_found("card " + card.linked_to.to_string() + " to link to is not issued"));
      // One level: a medium names its account's primary, never another medium.
      if (!primary->linked_to.empty()) {
        return fail(Status::invalid_argument("card " + card.linked_to.to_string() + " is itself a medium of " +
                                             primary->linked_to.to_string() + "; link to that card"));
      }
      record.wallet_account = primary->wallet_account;
      record.points_account = primary->points_account;
      record.bonus_points_account = primary->bonus_points_account;
      record.linked_to = card.linked_to;
    } else {
      AccountSpec wallet{AccountKind::card_wallet, Asset::twd, -card.overdraft_minor, card.wallet_ceiling_minor, 0};
      AccountSpec points{AccountKind::card_points, Asset::points, 0, std::numeric_limits<std::int64_t>::max(), 0};
      AccountSpec bonus{AccountKind::card_bonus_points, Asset::points, 0, std::numeric_limits<std::int64_t>::max(), 0};
      record.wallet_account = allocate_account(wallet, batch);
      record.points_account = allocate_account(points, batch);
      record.bonus_points_account = allocate_account(bonus, batch);
      std::string card_bytes(reinterpret_cast<const char*>(card.card.data()), card.card.size());
      batch.Put(family(f_cards), encoding::card_by_account_key(record.wallet_account), card_bytes);
      batch.Put(family(f_cards), encoding::card_by_account_key(record.points_account), card_bytes);
      batch.Put(family(f_cards), encoding::card_by_account_key(record.bonus_points_account), card_bytes);
    }
    batch.Put(family(f_cards), encoding::card_key(record.card), encoding::encode_card(record));
    issued.push_back(record);
  }
  if (Status written = write_with_records(batch, records); !written) return fail(written);
  return issued;
}

Result<CardRecord> RocksLedger::create_card_accounts(const NewCard& card) {
  if (Status writable = check_writable(); !writable) return writable;
  if (card.overdraft_minor < 0) return Status::invalid_argument("overdraft must not be negative");
  if (card.wallet_ceiling_minor <= 0) return Status::invalid_argument("wallet ceiling must be positive");
  auto write_lock = quiesce();
  auto record = read_card(rocksdb::ReadOptions(), card.card);
  if (!record) return record.status();
  const std::size_t accounts_before = accounts_.size();
  rocksdb::WriteBatch batch;
  AccountSpec wallet{AccountKind::card_wallet, Asset::twd, -card.overdraft_minor, card.wallet_ceiling_minor, 0};
  AccountSpec points{AccountKind::card_points, Asset::points, 0, std::numeric_limits<std::int64_t>::max(), 0};
  AccountSpec bonus{AccountKind::card_bonus_points, Asset::points, 0, std::numeric_limits<std::int64_t>::max(), 0};
  record->wallet_account = allocate_account(wallet, batch);
  record->points_account = allocate_account(points, batch);
  record->bonus_points_account = allocate_account(bonus, batch);
  std::string card_bytes(reinterpret_cast<const char*>(card.card.data()), card.card.size());
  batch.Put(family(f_cards), encoding::card_by_account_key(record->wallet_account), card_bytes);
  batch.Put(family(f_cards), encoding::card_by_account_key(record->points_account), card_bytes);
  batch.Put(family(f_cards), encoding::card_by_account_key(record->bonus_points_account), card_bytes);
  if (Status written = write_synced(batch); !written) {
    forget_accounts_from(accounts_before);
    return written;
  }
  return *record;
}

Status RocksLedger::check_record_writes(const std::vector<RecordWrite>& records) const {
  for (const RecordWrite& record : records) {
    if (record.space == RecordSpace::names) {
      return Status::invalid_argument("account names are written by ensure_named_account only");
    }
    if (record.space == RecordSpace::audit_chain) {
      return Status::invalid_argument("audit chain links are written by the ledger only");
    }
    if (record.change == RecordChange::erase && record.space == RecordSpace::audit) {
      return Status::invalid_argument("the audit trail is append-only: its records are never erased");
    }
  }
  return Status::ok();
}

Status RocksLedger::write_with_records(rocksdb::WriteBatch& batch, const std::vector<RecordWrite>& records) {
  // The chain advances only if the write lands: a failed write leaves no link.
  const std::uint64_t audit_next = audit_next_;
  const AuditHash audit_head = audit_head_;
  for (const RecordWrite& record : records) put_record(batch, record);
  Status written = write_synced(batch);
  if (!written) {
    audit_next_ = audit_next;
    audit_head_ = audit_head;
  }
  return written;
}

Status RocksLedger::put_records(const std::vector<RecordWrite>& records, const std::vector<CardRecord>& card_updates) {
  if (Status writable = check_writable(); !writable) return writable;
  if (Status allowed = check_record_writes(records); !allowed) return allowed;
  rocksdb::WriteBatch batch;
  for (const CardRecord& card : card_updates) {
    auto existing = read_card(rocksdb::ReadOptions(), card.card);
    if (!existing) return existing.status();
    if (existing->wallet_account != card.wallet_account || existing->points_account != card.points_account ||
        existing->bonus_points_account != card.bonus_points_account) {
      return Status::invalid_argument("card " + card.card.to_string() + ": accounts of a card never change");
    }
    batch.Put(family(f_cards), encoding::card_key(card.card), encoding::encode_card(card));
  }
  auto write_lock = quiesce();
  return write_with_records(batch, records);
}

Result<CardRecord> RocksLedger::read_card(rocksdb::ReadOptions options, const CardId& card) const {
  std::string value;
  auto status = db_->Get(options, family(f_cards), encoding::card_key(card), &value);
  if (status.IsNotFound()) return Status::not_found("unknown card " + card.to_string());
  if (!status.ok()) return Status::io_error("reading card " + card.to_string() + ": " + status.ToString());
  auto record = encoding::decode_card(value);
  if (!record) return Status::corruption("card " + card.to_string() + " record is unreadable");
  return *record;
}

Result<CardRecord> RocksLedger::card(const CardId& card) const { return read_card(rocksdb::ReadOptions(), card); }

Result<CardRecord> RocksLedger::card_of_account(AccountId account) const {
  return card_of_account_at(rocksdb::ReadOptions(), account);
}

Result<CardRecord> RocksLedger::card_of_account_at(const rocksdb::ReadOptions& options, AccountId account) const {
  std::string value;
  auto status = db_->Get(options, family(f_cards), encoding::card_by_account_key(account), &value);
  if (status.IsNotFound()) return Status::not_found("account " + std::to_string(account.value) + " belongs to no card");
  if (!status.ok()) return Status::io_error("reading card index: " + status.ToString());
  if (value.empty() || value.size() > CardId::bytes_max) return Status::corruption("card index entry is unreadable");
  return read_card(options, CardId::from_bytes(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
}

}  // namespace citycard::ledger
