// Registration changes of readers, built on the shard Engine::admin routes a
// reader id to, so two changes of one reader are ordered; the registry the
// taps are checked against changes once they are durable.
#include "admission.h"
#include "ledger/readers.h"
#include "admin_audit.h"
#include "shard.h"

namespace citycard::engine {

std::optional<ReaderRecord> Shard::reader_now(ReaderId reader) const {
  if (auto pending = readers_pending_.find(reader.value); pending != readers_pending_.end()) return pending->second.first;
  return context_.readers.find(reader);
}

void Shard::build_reader_admin(Item& item) {
  const AdminCommand& command = item.admin();
  AdminResult& result = item.admin_result();
  result = {};
  item.group = {};
  item.group.key = command.key;
  item.card = CardId();
  if (command.key.origin != Origin::operator_action) {
    result.status = Status::invalid_argument("an admin action needs an op:SOURCE:NUMBER key");
    return;
  }
  const ReaderId id = command.reader.id;
  // The same request again (a retry): done already, answered as such.
  auto posted = context_.ledger.posted(command.key);
  if (!posted) {
    result.status = posted.status();
    return;
  }
  if (posted->has_value()) {
    auto stored = ledger::load_reader(context_.ledger, id);
    if (!stored) {
      result.status = stored.status();
      return;
    }
    result.status = Status::ok();
    result.duplicate = true;
    result.reader = *stored;
    return;
  }
  const auto kind = command.action == AdminAction::reader_add ? rules::ReaderChangeKind::add : rules::ReaderChangeKind::set_status;
  bool operator_registered = false;
  if (kind == rules::ReaderChangeKind::add) {
    auto found = context_.ledger.operator_record(command.reader.operator_id);
    if (!found && found.status().code() != StatusCode::not_found) {
      result.status = found.status();
      return;
    }
    operator_registered = found.has_value();
  }
  auto change = rules::plan_reader_change(kind, command.reader, reader_now(id), operator_registered);
  if (!change) {
    result.status = change.status();
    return;
  }
  const ReaderRecord& next = change->after;
  item.group.records.push_back(ledger::reader_record_write(next));
  item.group.records.push_back(audit_record(admin_audit_entry(command, change->audit)));
  auto& pending = readers_pending_[id.value];
  pending.first = next;
  ++pending.second;
  result.status = Status::ok();
  result.reader = next;
}

void Shard::settle_reader_admin(Item& item, const ledger::GroupOutcome& outcome) {
  const ReaderId id = item.admin().reader.id;
  AdminResult result = item.admin_result();
  if (outcome.posted && !outcome.duplicate) {
    context_.readers.put(result.reader);
  } else {
    // Nothing of it was written now: the ledger holds what counts.
    if (outcome.duplicate) result.duplicate = true;
    else result.status = outcome.reason;
    auto stored = ledger::load_reader(context_.ledger, id);
    if (stored) {
      context_.readers.put(*stored);
      result.reader = *stored;
    } else if (stored.status().code() == StatusCode::not_found) {
      context_.readers.erase(id);
    } else {
      context_.log.event("ledger_read_failed", {{"what", "reader"}, {"error", stored.status().to_string()}});
    }
  }
  if (auto pending = readers_pending_.find(id.value); pending != readers_pending_.end() && --pending->second.second == 0) {
    readers_pending_.erase(pending);
  }
  context_.metrics.count_admin(result.status.is_ok());
  context_.log.event("admin", {{"action", std::to_string(static_cast<int>(item.admin().action))},
                               {"reader", std::to_string(id.value)},
                               {"key", item.admin().key.to_string()},
                               {"result", result.status.is_ok() ? (result.duplicate ? "duplicate" : "ok") : result.status.to_string()}});
  item.admin_done(result);
}

}  // namespace citycard::engine
