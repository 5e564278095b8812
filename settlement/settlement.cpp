// The close and the batch files: close(), regenerate(), resend() and the
// read-only queries. Acknowledgements live in ack_ingest.cpp, reconciliation
// in reconcile.cpp.
#include "settlement.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <unordered_map>

#include "ledger/system_accounts.h"
#include "staging.h"

namespace citycard::settlement {
namespace {

std::vector<std::string> file_names(const std::vector<BatchRecord>& batches) {
  std::vector<std::string> names;
  for (const BatchRecord& batch : batches) names.push_back(batch.file_name);
  return names;
}

}  // namespace

Settlement::Settlement(ledger::Ledger& ledger, Options options) : ledger_(ledger), options_(std::move(options)) {}

Result<CloseRecord> Settlement::load_close(const ledger::Snapshot& snapshot, BusinessDay day) const {
  auto text = snapshot.record(ledger::RecordSpace::settlement, record_key::close(day));
  if (!text) {
    if (text.status().code() == StatusCode::not_found) return Status::not_found("business day " + day.to_string() + " is not closed");
    return text.status();
  }
  return decode_close(text.value());
}

Result<std::unordered_set<std::string>> Settlement::held_set(const ledger::Snapshot& snapshot, BusinessDay day,
                                                             OperatorId op, std::uint32_t sequence) const {
  std::unordered_set<std::string> held;
  Status failure;
  Status scan = snapshot.scan_records(ledger::RecordSpace::settlement, record_key::held_prefix(day, op),
                                       [&](std::string_view, std::string_view value) {
                                         auto line = decode_held(value);
                                         if (!line) {
                                           failure = line.status();
                                           return false;
                                         }
                                         if (line->held_from_sequence <= sequence) held.insert(line->tap_id);
                                         return true;
                                       });
  if (!scan) return scan;
  if (!failure) return failure;
  return held;
}

std::optional<AccountId> Settlement::issuer_clearing() const {
  auto system = ledger::find_system_accounts(ledger_);
  if (!system || system->credit_card_clearing.value == 0) return std::nullopt;
  return system->credit_card_clearing;
}

Result<std::optional<IssuerRecord>> Settlement::load_issuer(const ledger::Snapshot& snapshot, BusinessDay day) const {
  auto text = snapshot.record(ledger::RecordSpace::settlement, record_key::issuer(day));
  if (!text) {
    if (text.status().code() == StatusCode::not_found) return std::optional<IssuerRecord>();
    return text.status();
  }
  auto record = decode_issuer(*text);
  if (!record) return record.status();
  return std::optional<IssuerRecord>(std::move(*record));
}

Result<std::optional<WrittenIssuerFile>> Settlement::write_issuer(const CloseRecord& close, std::vector<IssuerLine> lines,
                                                                  const std::string& dir) {
  if (!issuer_clearing()) return std::optional<WrittenIssuerFile>();
  auto keys = SettlementKeys::load(options_.key_dir);
  if (!keys) return keys.status();
  IssuerHeader header;
  header.issuer_name = options_.issuer_name;
  header.day = close.day;
  header.created_at = close.created_at;
  header.period_start = day_start(close.day, close.config);
  header.period_end = day_start(close.day.next(), close.config);
  header.signing_key_id = keys->signing_key_id();
  header.token_key_id = keys->token_key_id();
  auto written = write_issuer_file(dir, header, std::move(lines), close.config, *keys);
  if (!written) return written.status();
  return std::optional<WrittenIssuerFile>(std::move(*written));
}

Result<std::vector<WrittenBatch>> Settlement::write_batches(const ledger::Snapshot& snapshot, const CloseRecord& close,
                                                            const std::vector<BatchRecord>& batches,
                                                            const Progress& progress, AssignStats* stats,
                                                            const std::string& dir, std::vector<IssuerLine>* issuer_lines) {
  auto keys = SettlementKeys::load(options_.key_dir);
  if (!keys) return keys.status();
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return Status::io_error("cannot create " + dir + ": " + error.message());

  BatchWriter writer(dir, close.config, keys.value());
  std::unordered_map<std::uint32_t, std::unordered_set<std::string>> held;
  for (const auto& batch : batches) {
    BatchHeader header;
    header.operator_id = batch.operator_id;
    header.operator_name = batch.operator_name;
    header.day = close.day;
    header.sequence = batch.sequence;
    header.created_at = close.created_at;
    header.period_start = day_start(close.day, close.config);
    header.period_end = day_start(close.day.next(), close.config);
    header.signing_key_id = keys->signing_key_id();
    header.token_key_id = keys->token_key_id();
    writer.expect(header);
    auto held_lines = held_set(snapshot, close.day, batch.operator_id, batch.sequence);
    if (!held_lines) return held_lines.status();
    if (!held_lines->empty()) held.emplace(batch.operator_id.value, std::move(held_lines.value()));
  }

  PayableIndex payables(snapshot.operators());
  CardTokens tokens(snapshot, keys->tokens());
  if (snapshot.last_sequence() < close.to_sequence)
    return Status::corruption("the ledger ends at " + std::to_string(snapshot.last_sequence()) + " but day " +
                              close.day.to_string() + " closed at " + std::to_string(close.to_sequence));
  AssignRange range{close.day, close.config, close.from_sequence, close.to_sequence, close.previous_to_sequence};
  std::optional<IssuerScan> issuer;
  if (issuer_lines != nullptr) {
    if (auto clearing = issuer_clearing()) {
      issuer.emplace();
      issuer->clearing = *clearing;
      issuer->visit = [issuer_lines](const IssuerLine& line) {
        issuer_lines->push_back(line);
        return Status::ok();
      };
    }
  }
  auto assigned = assign_day(
      snapshot, range, payables, &tokens,
      [&](OperatorId op, const BatchLine& line, std::uint32_t version) {
        auto it = held.find(op.value);
        if (it != held.end() && it->second.count(line.tap_id)) return Status::ok();
        return writer.add(op, line, version);
      },
      progress, issuer ? &*issuer : nullptr);
  if (!assigned) return assigned.status();
  if (stats) *stats = assigned.value();
  return writer.finish();
}

Result<CloseSummary> Settlement::close(BusinessDay day, EventTime closed_at, const Progress& progress) {
  if (Status s = options_.day.validate(); !s) return s;
  auto snapshot = ledger_.snapshot();
  CloseSummary summary;
  if (auto existing = load_close(*snapshot, day)) {
    summary.close = existing.value();
    summary.already_closed = true;
    auto batches_of_day = batches_in(*snapshot, day);
    if (!batches_of_day) return batches_of_day.status();
    auto issuer = load_issuer(*snapshot, day);
    if (!issuer) return issuer.status();
    if (Status restored = restore_missing(*snapshot, existing.value(), batches_of_day.value(), *issuer); !restored)
      return restored;
    for (auto& batch : batches_of_day.value()) {
      summary.total.add(batch.totals);
      summary.batches.push_back({batch, options_.out_dir + "/" + batch.file_name});
    }
    summary.issuer = std::move(*issuer);
    return summary;
  } else if (existing.status().code() != StatusCode::not_found) {
    return existing.status();
  }

  // Taps of the day may still arrive afterwards (offline readers upload
  // later): they become late lines of a later close. But a day still running
  // is not closed: its ordinary taps would all be late.
  const EventTime day_end = day_start(day.next(), options_.day);
  if (closed_at < day_end)
    return Status::refused("business day " + day.to_string() + " is not over: it ends at " +
                           format_local_time(day_end, options_.day) + ", and the close is at " +
                           format_local_time(closed_at, options_.day));

  CloseRecord close;
  close.day = day;
  close.config = options_.day;
  close.created_at = closed_at;
  auto last_text = snapshot->record(ledger::RecordSpace::settlement, record_key::last);
  if (last_text) {
    std::int32_t last_days = 0;
    const std::string& text = last_text.value();
    std::from_chars(text.data(), text.data() + text.size(), last_days);
    BusinessDay last{last_days};
    if (day != last.next())
      return Status::refused("business days close in order: the last closed day is " + last.to_string() + ", so " +
                             last.next().to_string() + " closes next, not " + day.to_string());
    auto previous = load_close(*snapshot, last);
    if (!previous) return previous.status();
    if (!(previous->config == options_.day))
      return Status::invalid_argument("the business day configuration differs from the one the earlier closes used");
    close.from_sequence = previous->next_from_sequence;
    close.previous_to_sequence = previous->to_sequence;
  } else if (last_text.status().code() != StatusCode::not_found) {
    return last_text.status();
  }
  // The day will close: what must be posted first (the engine's repricing,
  // engine/groups/repricing.h) is posted now, and the close reads a
  // snapshot taken after it. Its records join the close's own write.
  std::vector<ledger::RecordWrite> before_records;
  if (options_.before_close) {
    auto before = options_.before_close(day);
    if (!before) return before.status();
    before_records = std::move(*before);
    snapshot = ledger_.snapshot();
  }
  close.to_sequence = snapshot->last_sequence();

  auto operators = snapshot->operators();
  std::sort(operators.begin(), operators.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::vector<BatchRecord> records;
  for (const auto& op : operators) {
    BatchRecord batch;
    batch.day = day;
    batch.operator_id = op.id;
    batch.operator_name = op.name;
    records.push_back(batch);
  }
  AssignStats stats;
  Staging staging(options_.out_dir);
  if (Status opened = staging.open(); !opened) return opened;
  std::vector<IssuerLine> issuer_lines;
  auto written = write_batches(*snapshot, close, records, progress, &stats, staging.dir(), &issuer_lines);
  if (!written) return written.status();
  auto issuer_file = write_issuer(close, std::move(issuer_lines), staging.dir());
  if (!issuer_file) return issuer_file.status();
  close.next_from_sequence = stats.next_from_sequence;
  close.transfers_scanned = stats.transfers_scanned;

  // The close record, the batches and "last" go in one write; the files go
  // in place only once it is durable (staging.h).
  std::vector<ledger::RecordWrite> writes = std::move(before_records);
  for (std::size_t i = 0; i < records.size(); ++i) {
    BatchRecord& batch = records[i];
    const WrittenBatch& file = written->at(i);
    batch.file_name = file.file_name;
    batch.file_sha256 = file.file_sha256;
    batch.totals = file.totals;
    writes.push_back({ledger::RecordSpace::settlement, record_key::batch(day, batch.operator_id), encode(batch)});
    summary.total.add(batch.totals);
    summary.batches.push_back({batch, options_.out_dir + "/" + batch.file_name});
  }
  std::vector<std::string> placed_names = file_names(records);
  if (*issuer_file) {
    IssuerRecord issuer{day, (*issuer_file)->file_name, (*issuer_file)->file_sha256, (*issuer_file)->totals};
    writes.push_back({ledger::RecordSpace::settlement, record_key::issuer(day), encode(issuer)});
    placed_names.push_back(issuer.file_name);
    summary.issuer = std::move(issuer);
  }
  writes.push_back({ledger::RecordSpace::settlement, record_key::close(day), encode(close)});
  writes.push_back({ledger::RecordSpace::settlement, std::string(record_key::last), std::to_string(day.days_since_epoch)});
  add_caller_records(writes, "closed " + day.to_string() + ": " + std::to_string(records.size()) + " files, " +
                                 std::to_string(summary.total.lines) + " lines, total " +
                                 std::to_string(summary.total.total_minor) + " TWD, ledger sequences " +
                                 std::to_string(close.from_sequence) + ".." + std::to_string(close.to_sequence));
  if (Status s = ledger_.put_records(writes, {}); !s) return s;
  if (Status placed = place_staged(options_.out_dir, placed_names); !placed) {
    return Status::io_error("day " + day.to_string() + " is closed, but its files are not all in place (" + placed.message() +
                            "): closing it again puts them there");
  }
  summary.close = close;
  return summary;
}

Status Settlement::restore_missing(const ledger::Snapshot& snapshot, const CloseRecord& close,
                                   const std::vector<BatchRecord>& batches, const std::optional<IssuerRecord>& issuer) {
  std::vector<BatchRecord> missing;
  for (const BatchRecord& batch : batches) {
    std::error_code error;
    if (!std::filesystem::exists(options_.out_dir + "/" + batch.file_name, error)) missing.push_back(batch);
  }
  std::error_code error;
  const bool issuer_missing = issuer && !std::filesystem::exists(options_.out_dir + "/" + issuer->file_name, error);
  if (missing.empty() && !issuer_missing) return Status::ok();
  Staging staging(options_.out_dir);
  if (Status opened = staging.open(); !opened) return opened;
  std::vector<IssuerLine> issuer_lines;
  auto written = write_batches(snapshot, close, missing, {}, nullptr, staging.dir(), issuer_missing ? &issuer_lines : nullptr);
  if (!written) return written.status();
  for (std::size_t i = 0; i < missing.size(); ++i) {
    if (written->at(i).file_sha256 != missing[i].file_sha256) {
      return Status::corruption("the file " + missing[i].file_name +
                                " written again from the ledger differs from the one its close recorded");
    }
  }
  std::vector<std::string> names = file_names(missing);
  if (issuer_missing) {
    auto issuer_file = write_issuer(close, std::move(issuer_lines), staging.dir());
    if (!issuer_file) return issuer_file.status();
    if (!*issuer_file || (*issuer_file)->file_sha256 != issuer->file_sha256)
      return Status::corruption("the file " + issuer->file_name +
                                " written again from the ledger differs from the one its close recorded");
    names.push_back(issuer->file_name);
  }
  return place_staged(options_.out_dir, names);
}

Result<CloseSummary> Settlement::regenerate(BusinessDay day, const Progress& progress) {
  auto snapshot = ledger_.snapshot();
  auto close = load_close(*snapshot, day);
  if (!close) return close.status();
  auto records = batches_in(*snapshot, day);
  if (!records) return records.status();
  auto issuer = load_issuer(*snapshot, day);
  if (!issuer) return issuer.status();
  std::vector<IssuerLine> issuer_lines;
  auto written = write_batches(*snapshot, close.value(), records.value(), progress, nullptr, options_.out_dir,
                               *issuer ? &issuer_lines : nullptr);
  if (!written) return written.status();
  CloseSummary summary;
  if (*issuer) {
    // Days closed before issuer files have none to regenerate.
    auto issuer_file = write_issuer(close.value(), std::move(issuer_lines), options_.out_dir);
    if (!issuer_file) return issuer_file.status();
    if (!*issuer_file || (*issuer_file)->file_sha256 != (*issuer)->file_sha256)
      return Status::corruption("the regenerated issuer file " + (*issuer)->file_name +
                                " differs from the one recorded at the close (the ledger or the keys changed)");
    summary.issuer = *issuer;
  }
  summary.close = close.value();
  summary.already_closed = true;
  std::string differing;
  for (std::size_t i = 0; i < records->size(); ++i) {
    const BatchRecord& batch = records->at(i);
    if (written->at(i).file_sha256 != batch.file_sha256) differing += " " + batch.file_name;
    summary.total.add(batch.totals);
    summary.batches.push_back({batch, options_.out_dir + "/" + batch.file_name});
  }
  if (!differing.empty())
    return Status::corruption("regenerated files differ from the ones recorded at the close (the ledger or the keys changed):" + differing);
  return summary;
}

Result<OperatorBatch> Settlement::resend(BusinessDay day, OperatorId op) {
  auto snapshot = ledger_.snapshot();
  auto close = load_close(*snapshot, day);
  if (!close) return close.status();
  auto text = snapshot->record(ledger::RecordSpace::settlement, record_key::batch(day, op));
  if (!text) return Status::not_found("no batch for operator " + std::to_string(op.value) + " on " + day.to_string());
  auto batch = decode_batch(text.value());
  if (!batch) return batch.status();
  if (batch->state != BatchState::rejected)
    return Status::refused("batch " + batch->file_name + " is " + std::string(batch_state_name(batch->state)) +
                           "; only a rejected batch is resent");
  batch->sequence += 1;
  Staging staging(options_.out_dir);
  if (Status opened = staging.open(); !opened) return opened;
  auto written = write_batches(*snapshot, close.value(), {batch.value()}, {}, nullptr, staging.dir());
  if (!written) return written.status();
  batch->state = BatchState::sent;
  batch->file_name = written->front().file_name;
  batch->file_sha256 = written->front().file_sha256;
  batch->totals = written->front().totals;
  batch->note.clear();
  std::vector<ledger::RecordWrite> writes{{ledger::RecordSpace::settlement, record_key::batch(day, op), encode(batch.value())}};
  add_caller_records(writes, "resent " + batch->file_name + " (sequence " + std::to_string(batch->sequence) + ", " +
                                 std::to_string(batch->totals.lines) + " lines, total " +
                                 std::to_string(batch->totals.total_minor) + " TWD) for operator " +
                                 std::to_string(op.value) + " of " + day.to_string());
  if (Status s = ledger_.put_records(writes, {}); !s) return s;
  if (Status placed = place_staged(options_.out_dir, {batch->file_name}); !placed) return placed;
  return OperatorBatch{batch.value(), options_.out_dir + "/" + batch->file_name};
}

void Settlement::add_caller_records(std::vector<ledger::RecordWrite>& writes, const std::string& done) const {
  if (!options_.records_with) return;
  for (auto& record : options_.records_with(done)) writes.push_back(std::move(record));
}

Result<std::vector<CloseRecord>> Settlement::closes() const {
  std::vector<CloseRecord> result;
  Status failure;
  Status scan = ledger_.snapshot()->scan_records(ledger::RecordSpace::settlement, "close/", [&](std::string_view, std::string_view value) {
    auto close = decode_close(value);
    if (!close) failure = close.status();
    else result.push_back(close.value());
    return failure.is_ok();
  });
  if (!scan) return scan;
  if (!failure) return failure;
  return result;
}

Result<std::vector<BatchRecord>> Settlement::batches(std::optional<BusinessDay> day) const {
  return batches_in(*ledger_.snapshot(), day);
}

Result<std::vector<BatchRecord>> Settlement::batches_in(const ledger::Snapshot& snapshot, std::optional<BusinessDay> day) const {
  std::vector<BatchRecord> result;
  Status failure;
  const std::string prefix = day ? record_key::batch_prefix(*day) : std::string("batch/");
  Status scan = snapshot.scan_records(ledger::RecordSpace::settlement, prefix, [&](std::string_view, std::string_view value) {
    auto batch = decode_batch(value);
    if (!batch) failure = batch.status();
    else result.push_back(batch.value());
    return failure.is_ok();
  });
  if (!scan) return scan;
  if (!failure) return failure;
  return result;
}

Result<std::vector<HeldLine>> Settlement::held_lines(BusinessDay day, OperatorId op) const {
  std::vector<HeldLine> result;
  Status failure;
  Status scan = ledger_.snapshot()->scan_records(ledger::RecordSpace::settlement, record_key::held_prefix(day, op),
                                                 [&](std::string_view, std::string_view value) {
                                                   auto held = decode_held(value);
                                                   if (!held) failure = held.status();
                                                   else result.push_back(held.value());
                                                   return failure.is_ok();
                                                 });
  if (!scan) return scan;
  if (!failure) return failure;
  return result;
}

}  // namespace citycard::settlement
