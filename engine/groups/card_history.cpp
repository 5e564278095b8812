#include "card_history.h"

#include <algorithm>

#include "audit_entry.h"

namespace citycard::engine {
namespace {

// What an adjustment corrects and why, from the audit entry under its
// group's key; empty when there is none (an adjustment imported as a
// transfer row names its own ref and no tap).
std::string adjustment_note(const ledger::Ledger& ledger, const IdempotencyKey& key) {
  auto body = ledger.record(ledger::RecordSpace::audit, key.to_string());
  if (!body) return {};
  AuditEntry entry = audit_entry_from_body(key.to_string(), *body);
  if (entry.tap.empty()) return entry.reason;
  return entry.reason.empty() ? entry.tap : entry.tap + ": " + entry.reason;
}

}  // namespace

Result<nlohmann::json> card_history_json(const ledger::Ledger& ledger, const CardId& card_id, std::size_t limit,
                                         std::uint64_t before) {
  auto card = ledger.card(card_id);
  if (!card) return card.status();
  auto wallet = ledger.history(card->wallet_account, before, limit);
  if (!wallet) return wallet.status();
  auto points = ledger.history(card->points_account, before, limit);
  if (!points) return points.status();
  std::vector<ledger::StoredTransfer> entries = wallet->entries;
  entries.insert(entries.end(), points->entries.begin(), points->entries.end());
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.sequence > b.sequence; });
  const bool more = entries.size() > limit || wallet->next_cursor != 0 || points->next_cursor != 0;
  if (entries.size() > limit) entries.resize(limit);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& entry : entries) {
    const Transfer& t = entry.transfer;
    const bool out = t.debit_account == card->wallet_account || t.debit_account == card->points_account;
    nlohmann::json row = {{"sequence", entry.sequence},
                          {"id", entry.key.to_string() + "/" + std::to_string(entry.leg)},
                          {"event_time_us", t.event_time.unix_us},
                          {"code", std::string(transfer_code_name(t.code))},
                          {"asset", std::string(asset_name(t.asset))},
                          {"amount_minor", out ? -t.amount_minor : t.amount_minor},
                          {"mode", std::string(mode_name(t.mode))},
                          {"operator", t.operator_id.value},
                          {"location", t.location},
                          {"rule_set_version", t.rule_set_version},
                          {"flags", t.flags}};
    if (t.code == TransferCode::adjustment) {
      if (std::string note = adjustment_note(ledger, entry.key); !note.empty()) row["note"] = note;
    }
    rows.push_back(std::move(row));
  }
  const std::uint64_t next = more && !entries.empty() ? entries.back().sequence : 0;
  return nlohmann::json{{"card", card->card.to_string()}, {"entries", rows}, {"next_cursor", next}};
}

}  // namespace citycard::engine
