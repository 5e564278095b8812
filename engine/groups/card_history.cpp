#include "card_history.h"

#include <algorithm>

#include "account_moves.h"
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
  // The accounts it spends from now, and those it left (link, merge,
  // unlink: account_moves.h), so its old transfers stay readable.
  auto moves = load_medium_moves(ledger, card_id);
  if (!moves) return moves.status();
  std::vector<AccountId> accounts{card->wallet_account, card->points_account};
  if (card->bonus_points_account.value != 0) accounts.push_back(card->bonus_points_account);
  for (const MediumMove& move : *moves) {
    for (AccountId former : {move.former_wallet, move.former_points}) {
      if (std::find(accounts.begin(), accounts.end(), former) == accounts.end()) accounts.push_back(former);
    }
  }
  std::vector<ledger::StoredTransfer> entries;
  bool more = false;
  for (AccountId account : accounts) {
    auto page = ledger.history(account, before, limit);
    if (!page) return page.status();
    for (auto& entry : page->entries) {
      // A balance moved between two of its own accounts shows once.
      const bool seen = std::any_of(entries.begin(), entries.end(), [&](const auto& other) {
        return other.sequence == entry.sequence;
      });
      if (!seen) entries.push_back(entry);
    }
    more = more || page->next_cursor != 0;
  }
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.sequence > b.sequence; });
  more = more || entries.size() > limit;
  if (entries.size() > limit) entries.resize(limit);
  auto own = [&](AccountId account) { return std::find(accounts.begin(), accounts.end(), account) != accounts.end(); };
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& entry : entries) {
    const Transfer& t = entry.transfer;
    const bool out = own(t.debit_account);
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
    if (t.flags & transfer_flag_repriced) {
      // The close's repricing (repricing.h): the key names the tap it corrects.
      const IdempotencyKey tap{entry.key.origin == Origin::repriced_tap ? Origin::tap : Origin::service_given,
                               entry.key.source, entry.key.sequence};
      row["note"] = tap.to_string() + ": repriced in event order at the close of its day";
    }
    rows.push_back(std::move(row));
  }
  const std::uint64_t next = more && !entries.empty() ? entries.back().sequence : 0;
  nlohmann::json out{{"card", card->card.to_string()}, {"entries", rows}, {"next_cursor", next}};
  if (!card->linked_to.empty()) out["account"] = card->linked_to.to_string();
  if (!moves->empty()) {
    nlohmann::json moved = nlohmann::json::array();
    for (const MediumMove& move : *moves) {
      moved.push_back({{"ref", move.ref}, {"time_us", move.time.unix_us}, {"how", move.how}, {"account", move.account.to_string()}});
    }
    out["moves"] = moved;
  }
  if (card->status == CardStatus::replaced) out["replaced_by"] = card->replaced_by.to_string();
  return out;
}

}  // namespace citycard::engine
