// Settlement::verify: do the files say what the ledger says? Each batch file
// is read back (digest file, signature, grammar, money rule, header) and its
// totals are compared with a fresh pass over the ledger using the same
// assignment rule, per operator and for the day.
#include <fstream>
#include <iterator>
#include <unordered_map>

#include "keys.h"
#include "settlement.h"

namespace citycard::settlement {
namespace {

std::string read_all(const std::string& path, bool& found) {
  std::ifstream in(path, std::ios::binary);
  found = static_cast<bool>(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string describe_difference(const BatchTotals& file, const BatchTotals& ledger) {
  std::string text;
  auto field = [&](const char* name, std::int64_t in_file, std::int64_t in_ledger) {
    if (in_file == in_ledger) return;
    text += std::string(text.empty() ? "" : ", ") + name + " " + std::to_string(in_file) + " in the file, " +
            std::to_string(in_ledger) + " in the ledger";
  };
  field("lines", static_cast<std::int64_t>(file.lines), static_cast<std::int64_t>(ledger.lines));
  field("late lines", static_cast<std::int64_t>(file.late_lines), static_cast<std::int64_t>(ledger.late_lines));
  field("rider fares", file.rider_fare_minor, ledger.rider_fare_minor);
  field("city subsidies", file.city_subsidy_minor, ledger.city_subsidy_minor);
  field("points subsidies", file.points_subsidy_minor, ledger.points_subsidy_minor);
  field("points", file.points_redeemed, ledger.points_redeemed);
  field("other", file.other_minor, ledger.other_minor);
  field("total", file.total_minor, ledger.total_minor);
  for (Programme programme : all_programmes()) {
    const std::string name = "programme " + std::string(programme_name(programme));
    field(name.c_str(), file.programme_minor[programme_index(programme)], ledger.programme_minor[programme_index(programme)]);
  }
  return text;
}

// Files of format version 1 (and their batch records) were written before
// programmes: their totals are compared without the programme split.
BatchTotals without_programmes(BatchTotals totals) {
  totals.programme_minor = {};
  return totals;
}

// The issuer's file against its record and the ledger's pass (report.issuer_ledger).
void verify_issuer(const IssuerRecord& record, const SettlementKeys& keys, const std::string& out_dir,
                   ReconcileReport& report) {
  const std::string path = out_dir + "/" + record.file_name;
  auto problem = [&](const std::string& text) { report.problems.push_back(record.file_name + ": " + text); };
  auto digest = sha256_file_hex(path);
  if (!digest) return problem("missing or unreadable");
  bool found = false;
  const std::string digest_file = read_all(path + ".sha256", found);
  if (!found) problem("digest file missing");
  else if (digest_file != digest.value() + "  " + record.file_name + "\n") problem("SHA-256 does not match its digest file");
  if (digest.value() != record.file_sha256) problem("not the file recorded at the close (SHA-256 differs)");
  const std::string signature = read_all(path + ".sig", found);
  if (!found) problem("signature file missing");
  else if (!keys.verify_file(path, signature)) problem("signature does not verify with settlement.pub");
  auto contents = read_issuer_file(path);
  if (!contents) return problem(contents.status().message());
  if (contents->day != report.day.to_string()) problem("header names another day");
  report.issuer_file = contents->totals;
  if (!report.issuer_ledger) return problem("the ledger has no issuer clearing account to compare with");
  if (!(contents->totals == *report.issuer_ledger))
    problem("totals differ from the ledger: " + std::to_string(contents->totals.lines) + " lines, " +
            std::to_string(contents->totals.total_minor) + " TWD in the file; " +
            std::to_string(report.issuer_ledger->lines) + " lines, " + std::to_string(report.issuer_ledger->total_minor) +
            " TWD in the ledger");
  if (!(record.totals == *report.issuer_ledger)) problem("the issuer record differs from the ledger");
}

}  // namespace

Result<ReconcileReport> Settlement::verify(BusinessDay day) {
  auto snapshot = ledger_.snapshot();
  auto close = load_close(*snapshot, day);
  if (!close) return close.status();
  auto records = batches_in(*snapshot, day);
  if (!records) return records.status();
  auto keys = SettlementKeys::load(options_.key_dir, /*public_only=*/true);
  if (!keys) return keys.status();

  ReconcileReport report;
  report.day = day;

  // The ledger's side: the same assignment, totals only, without held lines.
  std::unordered_map<std::uint32_t, BatchTotals> ledger_totals;
  std::unordered_map<std::uint32_t, std::unordered_set<std::string>> held;
  for (const auto& batch : records.value()) {
    auto held_lines = held_set(*snapshot, day, batch.operator_id, batch.sequence);
    if (!held_lines) return held_lines.status();
    held[batch.operator_id.value] = std::move(held_lines.value());
    ledger_totals[batch.operator_id.value];
  }
  if (snapshot->last_sequence() < close->to_sequence)
    report.problems.push_back("the ledger ends at sequence " + std::to_string(snapshot->last_sequence()) +
                              ", before the close's " + std::to_string(close->to_sequence));
  PayableIndex payables(snapshot->operators());
  AssignRange range{day, close->config, close->from_sequence, close->to_sequence, close->previous_to_sequence};
  std::uint64_t unknown_operator_lines = 0;
  // The issuer's file, when the day has one: its totals against the same pass.
  auto issuer_record = load_issuer(*snapshot, day);
  if (!issuer_record) return issuer_record.status();
  std::optional<IssuerScan> issuer;
  const auto clearing = issuer_clearing();
  if (*issuer_record && clearing) {
    report.issuer_ledger.emplace();
    issuer.emplace();
    issuer->clearing = *clearing;
    issuer->visit = [&report](const IssuerLine& line) {
      report.issuer_ledger->add(line);
      return Status::ok();
    };
  }
  auto assigned = assign_day(*snapshot, range, payables, nullptr, [&](OperatorId op, const BatchLine& line, std::uint32_t) {
    auto it = ledger_totals.find(op.value);
    if (it == ledger_totals.end()) {
      ++unknown_operator_lines;  // an operator registered after the close, or a batch record gone
      return Status::ok();
    }
    if (!held[op.value].count(line.tap_id)) it->second.add(line);
    return Status::ok();
  }, {}, issuer ? &*issuer : nullptr);
  if (!assigned) report.problems.push_back("cannot read the ledger: " + assigned.status().to_string());
  if (unknown_operator_lines > 0)
    report.problems.push_back(std::to_string(unknown_operator_lines) + " ledger lines belong to operators without a batch");

  for (const auto& batch : records.value()) {
    ReconcileRow row;
    row.operator_id = batch.operator_id;
    row.operator_name = batch.operator_name;
    row.file_name = batch.file_name;
    row.ledger = ledger_totals[batch.operator_id.value];
    const std::string path = options_.out_dir + "/" + batch.file_name;
    auto problem = [&](const std::string& text) { row.problems.push_back(batch.file_name + ": " + text); };

    auto digest = sha256_file_hex(path);
    if (!digest) {
      problem("missing or unreadable");
    } else {
      bool found = false;
      std::string digest_file = read_all(path + ".sha256", found);
      if (!found) problem("digest file missing");
      else if (digest_file != digest.value() + "  " + batch.file_name + "\n") problem("SHA-256 does not match its digest file");
      if (digest.value() != batch.file_sha256) problem("not the file recorded at the close (SHA-256 differs)");
      std::string signature = read_all(path + ".sig", found);
      if (!found) problem("signature file missing");
      else if (!keys->verify_file(path, signature)) problem("signature does not verify with settlement.pub");
      auto contents = read_batch_file(path);
      if (!contents) {
        problem(contents.status().message());
      } else {
        if (contents->operator_id != static_cast<std::int64_t>(batch.operator_id.value) || contents->day != day.to_string() ||
            contents->sequence != batch.sequence)
          problem("header names another operator, day or sequence");
        if (contents->format_version < 2) row.ledger = without_programmes(row.ledger);
        row.file = contents->totals;
        if (!(contents->totals == row.ledger)) problem("totals differ from the ledger: " + describe_difference(contents->totals, row.ledger));
        report.file_total.add(contents->totals);
      }
    }
    if (!(batch.totals == row.ledger))
      problem("the batch record differs from the ledger: " + describe_difference(batch.totals, row.ledger));
    report.ledger_total.add(row.ledger);
    for (const auto& text : row.problems) report.problems.push_back(text);
    report.rows.push_back(std::move(row));
  }
  if (!(report.file_total == report.ledger_total))
    report.problems.push_back("day total: " + describe_difference(report.file_total, report.ledger_total));
  if (*issuer_record) verify_issuer(**issuer_record, *keys, options_.out_dir, report);
  return report;
}

}  // namespace citycard::settlement
