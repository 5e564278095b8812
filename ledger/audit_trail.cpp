// The ledger's side of the audit chain (audit_chain.h): appending links in
// the same write as their records, finding the head on open, and checking
// the whole chain in verify().
#include "rocks_ledger.h"

#include "citycard/check.h"

namespace citycard::ledger {
namespace {

std::string chain_prefix() { return encoding::record_key(static_cast<std::uint8_t>(RecordSpace::audit_chain), ""); }

}  // namespace

void RocksLedger::put_record(rocksdb::WriteBatch& write, const RecordWrite& record) {
  if (record.change == RecordChange::erase) {
    // check_record_writes keeps erasures out of the audit trail, so no link is owed.
    CITYCARD_CHECK(record.space != RecordSpace::audit && record.space != RecordSpace::audit_chain);
    write.Delete(record_family(record.space), record_key(record.space, record.key));
    return;
  }
  write.Put(record_family(record.space), record_key(record.space, record.key), record.value);
  if (record.space != RecordSpace::audit) return;
  AuditLink link = make_audit_link(audit_next_, audit_head_, record.key, record.value);
  write.Put(family(f_records), record_key(RecordSpace::audit_chain, audit_chain_key(link.number)), encode_audit_link(link));
  audit_head_ = link.hash;
  ++audit_next_;
}

Status RocksLedger::load_audit_head() {
  const std::string prefix = chain_prefix();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family(f_records)));
  it->SeekForPrev(prefix + std::string(8, '\xff'));
  if (!it->status().ok()) return Status::io_error("reading the audit chain: " + it->status().ToString());
  if (!it->Valid() || !it->key().starts_with(prefix)) return Status::ok();  // no link yet
  auto link = decode_audit_link(it->value().ToStringView());
  if (!link || it->key().size() != prefix.size() + 8 || coding::load_be<std::uint64_t>(it->key().data() + prefix.size()) != link->number) {
    return Status::corruption("the last audit chain link is unreadable; run verify");
  }
  audit_next_ = link->number + 1;
  audit_head_ = link->hash;
  return Status::ok();
}

// Every link readable, numbered 1, 2, ... under its own key, hashed right,
// pointing at its predecessor's hash, and its audit record equal to its body.
void RocksLedger::verify_audit_chain(const rocksdb::ReadOptions& options, VerifyReport& report) const {
  constexpr std::size_t problems_max = 1000;
  auto add = [&report](std::string kind, std::string detail) {
    if (report.problems.size() < problems_max) report.problems.push_back({std::move(kind), std::move(detail)});
  };
  const std::string prefix = chain_prefix();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family(f_records)));
  std::uint64_t expected = 1;
  AuditHash previous{};
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string where = it->key().size() == prefix.size() + 8
                                  ? "audit entry " + std::to_string(coding::load_be<std::uint64_t>(it->key().data() + prefix.size()))
                                  : "an audit chain key of " + std::to_string(it->key().size()) + " bytes";
    auto link = decode_audit_link(it->value().ToStringView());
    if (!link) {
      add("audit_chain", where + " is unreadable");
      previous = AuditHash{};
      ++expected;
      continue;
    }
    ++report.audit_entries;
    if (link->number != expected || where != "audit entry " + std::to_string(link->number)) {
      add("audit_chain", where + " carries number " + std::to_string(link->number) + ", expected " + std::to_string(expected) +
                             " (an entry is missing or was moved)");
    }
    if (audit_link_hash(link->number, link->prev_hash, link->key, link->body) != link->hash) {
      add("audit_chain", where + " (" + link->key + ") does not match its hash: it was edited");
    } else if (link->prev_hash != previous) {
      add("audit_chain", where + " (" + link->key + ") does not follow the hash of the entry before it: an earlier entry was edited or removed");
    }
    std::string record;
    auto found = db_->Get(options, family(f_records), record_key(RecordSpace::audit, link->key), &record);
    if (!found.ok() || record != link->body) {
      add("audit_chain", where + ": the audit record " + link->key + (found.ok() ? " differs from the entry" : " is missing"));
    }
    previous = link->hash;
    expected = link->number + 1;
  }
  if (!it->status().ok()) add("audit_chain", "reading the audit chain: " + it->status().ToString());
}

}  // namespace citycard::ledger
