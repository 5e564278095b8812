#include "programme_report.h"

#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "calendar.h"
#include "rule_set_loader.h"
#include "usage_report_format.h"

namespace citycard::engine {

Result<ProgrammeReport> read_programme_report(const ledger::Snapshot& snapshot, const ProgrammeQuery& query) {
  ProgrammeReport report;
  report.query = query;
  std::unordered_map<std::uint64_t, std::uint32_t> operator_by_payable;
  for (const ledger::OperatorRecord& record : snapshot.operators()) {
    operator_by_payable.emplace(record.payable_account.value, record.id.value);
    report.operator_names.emplace(record.id.value, record.name);
  }
  const rules::LocalCalendar calendar(query.utc_offset_minutes, query.business_day_start_minutes);
  auto add = [&](std::int32_t day, AccountId payable, Programme programme, std::int64_t amount) {
    auto op = operator_by_payable.find(payable.value);
    if (op == operator_by_payable.end()) return;
    std::int64_t& paid = report.paid_minor[ProgrammeKey{day, op->second, programme}];
    paid += amount;
    report.total_minor[programme_index(programme)] += amount;
    report.all_minor += amount;
  };
  const std::uint64_t last = snapshot.last_sequence();
  if (last == 0) return report;
  Status scan = snapshot.scan_transfers(1, last, [&](const ledger::StoredTransfer& stored) {
    ++report.transfers_scanned;
    const Transfer& t = stored.transfer;
    const auto programme = programme_of(t.code);
    if (!programme) return true;
    const std::int32_t day = calendar.business_day(t.event_time);
    if (day < query.days.from_day || day > query.days.to_day) return true;
    add(day, t.credit_account, *programme, t.amount_minor);
    add(day, t.debit_account, *programme, -t.amount_minor);
    return true;
  });
  if (!scan) return scan;
  std::erase_if(report.paid_minor, [](const auto& entry) { return entry.second == 0; });
  return report;
}

namespace {

std::string name_of(const ProgrammeReport& report, std::uint32_t op) {
  auto it = report.operator_names.find(op);
  return it == report.operator_names.end() ? std::string() : it->second;
}

}  // namespace

std::string programme_report_table(const ProgrammeReport& report) {
  std::string out = fmt::format("city programmes, {} to {} (business days), TWD minor units\n",
                                rules::format_date_days(report.query.days.from_day),
                                rules::format_date_days(report.query.days.to_day));
  out += fmt::format("{:<10}  {:>8}  {:<24}  {:<18}  {:>12}\n", "day", "operator", "name", "programme", "paid");
  for (const auto& [key, amount] : report.paid_minor) {
    const auto& [day, op, programme] = key;
    out += fmt::format("{:<10}  {:>8}  {:<24}  {:<18}  {:>12}\n", rules::format_date_days(day), op, name_of(report, op),
                       programme_name(programme), amount);
  }
  out += "totals\n";
  for (Programme programme : all_programmes()) {
    const std::int64_t amount = report.total_minor[programme_index(programme)];
    if (amount != 0) out += fmt::format("  {:<18}  {:>12}\n", programme_name(programme), amount);
  }
  out += fmt::format("  {:<18}  {:>12}\n", "all", report.all_minor);
  return out;
}

std::string programme_report_json(const ProgrammeReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& [key, amount] : report.paid_minor) {
    const auto& [day, op, programme] = key;
    rows.push_back({{"day", rules::format_date_days(day)}, {"operator", op}, {"operator_name", name_of(report, op)},
                    {"programme", std::string(programme_name(programme))}, {"amount_minor", amount}});
  }
  nlohmann::json totals = nlohmann::json::object();
  for (Programme programme : all_programmes())
    if (const std::int64_t amount = report.total_minor[programme_index(programme)]; amount != 0)
      totals[std::string(programme_name(programme))] = amount;
  return nlohmann::json{{"from", rules::format_date_days(report.query.days.from_day)},
                        {"to", rules::format_date_days(report.query.days.to_day)},
                        {"rows", std::move(rows)},
                        {"totals", std::move(totals)},
                        {"total_minor", report.all_minor}}
      .dump();
}

std::string programme_report_csv(const ProgrammeReport& report) {
  std::string out = "day,operator,operator_name,programme,amount_minor\r\n";
  for (const auto& [key, amount] : report.paid_minor) {
    const auto& [day, op, programme] = key;
    out += fmt::format("{},{},{},{},{}\r\n", rules::format_date_days(day), op, csv_field(name_of(report, op)),
                       programme_name(programme), amount);
  }
  return out;
}

}  // namespace citycard::engine
