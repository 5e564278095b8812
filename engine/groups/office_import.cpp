#include "office_import.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "office_audit.h"

namespace citycard::engine {
namespace {

constexpr std::size_t group_batch_max = 1024;

template <typename Integer>
bool parse_integer(const std::string& text, Integer& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// The card an account reference names, if it names one.
std::optional<CardId> card_of_reference(const std::string& reference) {
  if (reference.rfind("card:", 0) != 0) return std::nullopt;
  std::string rest = reference.substr(5);
  return CardId::parse(rest.substr(0, rest.find(':')));
}

}  // namespace

Result<ledger::NewCard> parse_card_row(const std::vector<std::string>& fields) {
  if (fields.size() < 3 || fields.size() > 5) return Status::invalid_argument("expected card,category,media[,overdraft[,linked_to]]");
  ledger::NewCard card;
  auto id = CardId::parse(fields[0]);
  auto category = parse_rider_category(fields[1]);
  auto media = parse_media(fields[2]);
  if (!id) return Status::invalid_argument("'" + fields[0] + "' is not a card id");
  if (!category) return Status::invalid_argument("unknown rider category '" + fields[1] + "'");
  if (!media) return Status::invalid_argument("unknown media '" + fields[2] + "'");
  if (fields.size() >= 4 && !fields[3].empty() && (!parse_integer(fields[3], card.overdraft_minor) || card.overdraft_minor < 0)) {
    return Status::invalid_argument("overdraft '" + fields[3] + "' is not a non-negative number");
  }
  if (fields.size() == 5 && !fields[4].empty()) {
    auto linked = CardId::parse(fields[4]);
    if (!linked) return Status::invalid_argument("linked_to '" + fields[4] + "' is not a card id");
    card.linked_to = *linked;
  }
  card.card = *id;
  card.category = *category;
  card.media = *media;
  return card;
}

namespace {

// A transfer import's groups each carry their own entry, under the group's key.
AuditEntry office_entry(const OfficeActor& actor, std::string ref, std::string action, std::string detail) {
  AuditEntry entry = office_audit_entry(actor, std::move(action), std::move(detail));
  entry.ref = std::move(ref);
  return entry;
}

}  // namespace

Result<IssueReport> issue_cards_once(ledger::Ledger& ledger, const std::vector<ledger::NewCard>& cards,
                                     const OfficeActor& actor) {
  if (cards.size() > card_import_rows_max) {
    return Status::invalid_argument(fmt::format("at most {} cards per import request, got {}", card_import_rows_max, cards.size()));
  }
  IssueReport report;
  std::vector<ledger::NewCard> fresh;
  for (const auto& card : cards) {
    auto existing = ledger.card(card.card);
    if (!existing) {
      if (existing.status().code() != StatusCode::not_found) return existing.status();
      fresh.push_back(card);
    } else if (existing->category == card.category && existing->media == card.media) {
      ++report.already;
    } else {
      report.refused.emplace_back(card.card, fmt::format("card {} is already issued as {}/{}", card.card.to_string(),
                                                         rider_category_name(existing->category), media_name(existing->media)));
    }
  }
  if (!report.refused.empty() || fresh.empty()) return report;
  AuditEntry entry = office_entry(actor, actor.key.to_string(), "card import",
                                  fmt::format("issued {} cards, {} to {}", fresh.size(), fresh.front().card.to_string(),
                                              fresh.back().card.to_string()));
  if (fresh.size() == 1) entry.card = fresh.front().card.to_string();
  // The cards and the entry naming them in one write: the trail never misses
  // an issued card, nor names one that was not issued.
  auto issued = ledger.issue_cards(fresh, {audit_record(entry)});
  if (!issued) return issued.status();
  report.issued = issued->size();
  return report;
}

Result<ledger::OperatorRecord> add_operator(ledger::Ledger& ledger, OperatorId id, const std::string& name,
                                            const OfficeActor& actor) {
  const bool existed = ledger.operator_record(id).has_value();
  auto record = ledger.register_operator(id, name);
  if (!record || existed) return record;
  AuditEntry entry = office_entry(actor, actor.key.to_string(), "operator add",
                                  fmt::format("operator {} '{}': payable account {}, settled account {}", id.value, name,
                                              record->payable_account.value, record->settled_account.value));
  if (Status written = ledger.put_records({audit_record(entry)}, {}); !written) return written;
  return record;
}

Result<TransferRow> parse_transfer_row(const std::vector<std::string>& fields, EventTime default_time) {
  if (fields.size() < 5 || fields.size() > 9) {
    return Status::invalid_argument("expected ref,debit,credit,amount,code[,event_unix_seconds[,mode[,location[,flags]]]]");
  }
  TransferRow row;
  auto key = IdempotencyKey::parse(fields[0]);
  if (!key) return Status::invalid_argument("'" + fields[0] + "' is not a reference (tap:R:N, op:S:N or sys:S:N)");
  row.key = *key;
  row.debit = fields[1];
  row.credit = fields[2];
  // Account references are ASCII names: anything else names no account, and
  // a row goes to a running engine as JSON text, which takes UTF-8 only.
  for (const std::string* side : {&row.debit, &row.credit}) {
    if (side->empty() || !std::all_of(side->begin(), side->end(), [](char c) { return c > ' ' && c < 0x7F; })) {
      return Status::invalid_argument(std::string(side == &row.debit ? "debit" : "credit") + " '" + *side +
                                      "' is not an account reference (card:HEX, operator:N or a system account name)");
    }
  }
  Transfer& transfer = row.transfer;
  if (!parse_integer(fields[3], transfer.amount_minor) || transfer.amount_minor <= 0) {
    return Status::invalid_argument("amount '" + fields[3] + "' is not a positive whole number");
  }
  auto code = parse_transfer_code(fields[4]);
  if (!code) return Status::invalid_argument("unknown transfer code '" + fields[4] + "'");
  transfer.code = *code;
  transfer.event_time = default_time;
  if (fields.size() > 5) {
    std::int64_t seconds = 0;
    constexpr std::int64_t seconds_max = std::numeric_limits<std::int64_t>::max() / us_per_second;
    if (!parse_integer(fields[5], seconds) || seconds < -seconds_max || seconds > seconds_max) {
      return Status::invalid_argument("bad event time '" + fields[5] + "'");
    }
    transfer.event_time = EventTime::from_unix_seconds(seconds);
  }
  if (fields.size() > 6) {
    auto mode = parse_mode(fields[6]);
    if (!mode) return Status::invalid_argument("unknown mode '" + fields[6] + "'");
    transfer.mode = *mode;
  }
  if (fields.size() > 7 && !parse_integer(fields[7], transfer.location)) return Status::invalid_argument("bad location '" + fields[7] + "'");
  if (fields.size() > 8 && !parse_integer(fields[8], transfer.flags)) return Status::invalid_argument("bad flags '" + fields[8] + "'");
  for (const std::string* side : {&row.debit, &row.credit}) {
    if (side->rfind("operator:", 0) == 0) {
      std::string rest = side->substr(9);
      parse_integer(rest.substr(0, rest.find(':')), transfer.operator_id.value);
    }
  }
  return row;
}

std::vector<std::string> split_import_line(std::string_view line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    auto comma = line.find(',', start);
    std::string field(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    while (!field.empty() && (field.back() == '\r' || field.back() == ' ')) field.pop_back();
    while (!field.empty() && field.front() == ' ') field.erase(0, 1);
    fields.push_back(field);
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

Result<AccountId> resolve_account(const ledger::Ledger& ledger, const std::string& reference) {
  if (reference.rfind("card:", 0) == 0) {
    std::string rest = reference.substr(5);
    bool points = false;
    if (auto colon = rest.find(':'); colon != std::string::npos) {
      if (rest.substr(colon + 1) != "points" && rest.substr(colon + 1) != "wallet") {
        return Status::invalid_argument("'" + reference + "': a card account is :wallet or :points");
      }
      points = rest.substr(colon + 1) == "points";
      rest = rest.substr(0, colon);
    }
    auto card_id = CardId::parse(rest);
    if (!card_id) return Status::invalid_argument("'" + rest + "' is not a card id");
    auto card = ledger.card(*card_id);
    if (!card) return card.status();
    return points ? card->points_account : card->wallet_account;
  }
  if (reference.rfind("operator:", 0) == 0) {
    std::string rest = reference.substr(9);
    bool settled = false;
    if (auto colon = rest.find(':'); colon != std::string::npos) {
      if (rest.substr(colon + 1) != "settled" && rest.substr(colon + 1) != "payable") {
        return Status::invalid_argument("'" + reference + "': an operator account is :payable or :settled");
      }
      settled = rest.substr(colon + 1) == "settled";
      rest = rest.substr(0, colon);
    }
    std::uint32_t id = 0;
    if (!parse_integer(rest, id)) return Status::invalid_argument("'" + rest + "' is not an operator id");
    auto record = ledger.operator_record(OperatorId{id});
    if (!record) return record.status();
    return settled ? record->settled_account : record->payable_account;
  }
  if (auto named = ledger.named_account(reference)) return *named;
  return Status::not_found("no account '" + reference + "' (card:HEX, operator:N or a system account name)");
}

Result<ImportReport> post_transfer_rows(ledger::Ledger& ledger, const std::vector<TransferRow>& rows, const OfficeActor& actor) {
  ImportReport report;
  std::map<std::string, AccountId> resolved;
  struct Group {
    ledger::PostingGroup group;
    std::size_t line = 0;
  };
  std::vector<Group> groups;
  std::vector<std::pair<std::size_t, std::string>> unresolved;
  std::vector<std::string> details;  // per row, in the order of the groups' transfers
  for (const TransferRow& row : rows) {
    Transfer transfer = row.transfer;
    bool ok = true;
    for (auto [reference, account] : {std::pair{&row.debit, &transfer.debit_account}, std::pair{&row.credit, &transfer.credit_account}}) {
      auto it = resolved.find(*reference);
      if (it == resolved.end()) {
        auto found = resolve_account(ledger, *reference);
        if (!found) {
          unresolved.emplace_back(row.line, found.status().message());
          ok = false;
          break;
        }
        it = resolved.emplace(*reference, *found).first;
        if (auto card = card_of_reference(*reference)) report.cards_touched.push_back(*card);
      }
      *account = it->second;
    }
    if (!ok) continue;
    auto debit = ledger.account(transfer.debit_account);
    transfer.asset = debit ? debit->spec.asset : Asset::twd;
    if (groups.empty() || groups.back().group.key != row.key) groups.push_back({ledger::PostingGroup{row.key, {}, {}, {}, {}}, row.line});
    groups.back().group.transfers.push_back(transfer);
    details.push_back(fmt::format("line {}: {} -> {} {} {}", row.line, row.debit, row.credit, transfer.amount_minor,
                                  transfer_code_name(transfer.code)));
  }
  if (!unresolved.empty()) {
    report.rejected = std::move(unresolved);
    report.cards_touched.clear();
    return report;
  }
  std::size_t detail = 0;
  for (auto& [group, line] : groups) {
    std::string text;
    for (std::size_t i = 0; i < group.transfers.size(); ++i) text += (i == 0 ? "" : "; ") + details[detail++];
    group.records.push_back(audit_record(office_entry(actor, group.key.to_string(), "transfer import", std::move(text))));
  }
  for (std::size_t start = 0; start < groups.size(); start += group_batch_max) {
    const std::size_t end = std::min(groups.size(), start + group_batch_max);
    std::vector<ledger::PostingGroup> batch;
    for (std::size_t i = start; i < end; ++i) batch.push_back(groups[i].group);
    auto outcomes = ledger.post(batch);
    if (!outcomes) return outcomes.status();  // the earlier batches stand: a rerun skips them
    for (std::size_t i = 0; i < outcomes->size(); ++i) {
      const auto& outcome = (*outcomes)[i];
      if (outcome.duplicate) {
        ++report.duplicates;
      } else if (outcome.posted) {
        ++report.posted;
        report.transfers += outcome.transfer_count;
      } else {
        report.rejected.emplace_back(groups[start + i].line, outcome.reason.message());
      }
    }
  }
  return report;
}

nlohmann::json card_rows_json(const std::vector<ledger::NewCard>& cards) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& card : cards) {
    nlohmann::json row = {{"card", card.card.to_string()},
                          {"category", std::string(rider_category_name(card.category))},
                          {"media", std::string(media_name(card.media))},
                          {"overdraft_minor", card.overdraft_minor}};
    if (!card.linked_to.empty()) row["linked_to"] = card.linked_to.to_string();
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<std::vector<ledger::NewCard>> card_rows_from_json(const nlohmann::json& rows) {
  if (!rows.is_array()) return Status::invalid_argument("'cards' must be a list");
  if (rows.size() > card_import_rows_max) return Status::invalid_argument(fmt::format("at most {} cards per request", card_import_rows_max));
  std::vector<ledger::NewCard> cards;
  for (const auto& row : rows) {
    if (!row.is_object()) return Status::invalid_argument("a card is an object");
    std::vector<std::string> fields = {row.value("card", std::string()), row.value("category", std::string("general")),
                                       row.value("media", std::string("card")),
                                       std::to_string(row.value("overdraft_minor", std::int64_t{0})),
                                       row.value("linked_to", std::string())};
    auto card = parse_card_row(fields);
    if (!card) return Status::invalid_argument("card '" + fields[0] + "': " + card.status().message());
    cards.push_back(*card);
  }
  return cards;
}

nlohmann::json transfer_rows_json(const std::vector<TransferRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& row : rows) {
    out.push_back({{"line", row.line},
                   {"ref", row.key.to_string()},
                   {"debit", row.debit},
                   {"credit", row.credit},
                   {"amount_minor", row.transfer.amount_minor},
                   {"code", std::string(transfer_code_name(row.transfer.code))},
                   {"event_unix_seconds", row.transfer.event_time.unix_seconds()},
                   {"mode", std::string(mode_name(row.transfer.mode))},
                   {"location", row.transfer.location},
                   {"flags", row.transfer.flags}});
  }
  return out;
}

Result<std::vector<TransferRow>> transfer_rows_from_json(const nlohmann::json& rows) {
  if (!rows.is_array()) return Status::invalid_argument("'rows' must be a list");
  if (rows.size() > 16 * group_batch_max) return Status::invalid_argument(fmt::format("at most {} rows per request", 16 * group_batch_max));
  std::vector<TransferRow> out;
  for (const auto& row : rows) {
    if (!row.is_object()) return Status::invalid_argument("a row is an object");
    const std::size_t line = row.value("line", std::size_t{0});
    std::vector<std::string> fields = {row.value("ref", std::string()), row.value("debit", std::string()),
                                       row.value("credit", std::string()), std::to_string(row.value("amount_minor", std::int64_t{0})),
                                       row.value("code", std::string()), std::to_string(row.value("event_unix_seconds", std::int64_t{0})),
                                       row.value("mode", std::string("bus_board")), std::to_string(row.value("location", 0u)),
                                       std::to_string(row.value("flags", 0u))};
    auto parsed = parse_transfer_row(fields, EventTime{});
    if (!parsed) return Status::invalid_argument(fmt::format("line {}: {}", line, parsed.status().message()));
    parsed->line = line;
    out.push_back(std::move(*parsed));
  }
  return out;
}

nlohmann::json issue_report_json(const IssueReport& report) {
  nlohmann::json refused = nlohmann::json::array();
  for (const auto& [card, why] : report.refused) refused.push_back({{"card", card.to_string()}, {"error", why}});
  return {{"ok", true}, {"issued", report.issued}, {"already", report.already}, {"refused", refused}};
}

nlohmann::json import_report_json(const ImportReport& report) {
  nlohmann::json rejected = nlohmann::json::array();
  for (const auto& [line, why] : report.rejected) rejected.push_back({{"line", line}, {"error", why}});
  return {{"ok", true}, {"posted", report.posted}, {"transfers", report.transfers}, {"duplicates", report.duplicates},
          {"rejected", rejected}};
}

}  // namespace citycard::engine
