// Settlement: the business-day close, signed batch files per operator, the
// clearing house's acknowledgements, and reconciliation against the ledger.
//
// Contract:
// - close(day, closed_at) refuses a day that is not over at closed_at (a
//   close names the moment it ran; nothing here reads a clock), then reads
//   the ledger through one snapshot taken at its start and assigns every
//   posting group that moves an
//   operator's payable (and is not settlement's own) to exactly one batch:
//   the batch of its event day if that day was still open when it was
//   posted, else, flagged late, the batch of the next day to close (assign.h).
//   The day's auto top-ups (the co-branded card issuer's clearing account)
//   go by the same rule into the issuer's own file (issuer_file.h), written,
//   signed and recorded with the operators' files.
//   Days close in order: the first close may be any day, each later one must
//   be the day after the last. Closing a closed day changes nothing and
//   returns what the close made. Every registered operator gets a file, empty
//   or not, so a missing file is never mistaken for a quiet day. Files go in
//   place only after the close's record is durable (staging.h); closing a
//   closed day puts back any of its files that is missing.
// - Files depend only on the ledger, the close records and the keys, so
//   regenerate() rewrites them byte for byte; the creation time in a header is
//   `closed_at`, never the clock.
// - ingest_ack() of an acceptance moves the batch total from the operator's
//   payable to its settled account in one posting group together with the
//   batch's new state; a rejection records the reasons and holds rejected
//   lines back, and resend() then writes the batch under sequence + 1. An
//   unknown batch, a digest that is not the sent file's, a second ack for the
//   same batch state: an error, and nothing changes.
// - verify(day) re-reads the files (digest, signature, grammar, money rule)
//   and compares their totals with the ledger's, per operator and in total.
//
// Memory does not grow with the day: the ledger is streamed one posting
// group at a time and lines go straight to files.
//
// Threading: one Settlement at a time per ledger (closes are not locked
// against each other); the ledger may keep posting taps meanwhile (the
// engine's committer: Ledger::post and put_records are safe beside it).
// A tap of the closed day posted after the close's snapshot is a late line
// of the next close (assign.h), as for a reader that uploads days later.
#pragma once

#include <functional>
#include <optional>
#include <unordered_set>
#include <string>
#include <vector>

#include "assign.h"
#include "batch_file.h"
#include "batch_writer.h"
#include "business_day.h"
#include "ledger/ledger.h"
#include "records.h"

namespace citycard::settlement {

struct Options {
  DayConfig day;
  // Where batch files, digests and signatures go. Default "./var/settlement".
  std::string out_dir = "./var/settlement";
  // settlement.key, settlement.pub, token.key (keys.h). Default "./var/settlement-keys".
  std::string key_dir = "./var/settlement-keys";
  // Records to add to the one ledger write that a close, a resend or an
  // acknowledgement makes (the caller's audit entry, so the trail and the
  // change land together or not at all), given what it does, in words
  // ("closed 2026-11-20: 3 files, ..."). Called once, just before that
  // write; not called when the call fails before it or changes nothing (a
  // day already closed). Default none.
  std::function<std::vector<ledger::RecordWrite>(const std::string& done)> records_with;
  // Called by close() once the day will close (not closed yet, over, next
  // in order), before it takes the snapshot it reads: the engine reprices
  // the day here (engine/groups/repricing.h) and returns records to add to
  // the close's write. An error stops the close; nothing of it is written.
  std::function<Result<std::vector<ledger::RecordWrite>>(BusinessDay day)> before_close;
  // The issuing bank of the co-branded credit cards, named in its file's
  // header (issuer_file.h). Default "co-branded card issuer".
  std::string issuer_name = "co-branded card issuer";
};

struct OperatorBatch {
  BatchRecord batch;
  std::string path;  // out_dir / file name
};

struct CloseSummary {
  CloseRecord close;
  bool already_closed = false;  // true: this call changed nothing
  std::vector<OperatorBatch> batches;  // by operator id
  BatchTotals total;
  // The issuer's file (none for days closed before issuer files, or a
  // ledger without the issuer's clearing account).
  std::optional<IssuerRecord> issuer;
};

struct AckOutcome {
  BatchRecord batch;                  // its state after the ack
  std::uint64_t settlement_sequence = 0;  // first ledger sequence of the settlement transfer(s); 0 if none
  std::size_t lines_held = 0;         // lines a rejection held back
};

struct ReconcileRow {
  OperatorId operator_id;
  std::string operator_name;
  std::string file_name;
  std::optional<BatchTotals> file;    // nullopt when the file could not be read
  BatchTotals ledger;                 // the ledger's movements assigned to the batch
  std::vector<std::string> problems;  // empty when file and ledger agree
};

struct ReconcileReport {
  BusinessDay day;
  std::vector<ReconcileRow> rows;
  BatchTotals file_total;
  BatchTotals ledger_total;
  std::optional<IssuerTotals> issuer_file;    // the issuer's file, when the day has one and it reads
  std::optional<IssuerTotals> issuer_ledger;  // the day's auto top-ups in the ledger, when it has one
  std::vector<std::string> problems;  // every row's problems, plus the totals'
  bool ok() const { return problems.empty(); }
};

class Settlement {
 public:
  Settlement(ledger::Ledger& ledger, Options options);

  Result<CloseSummary> close(BusinessDay day, EventTime closed_at, const Progress& progress = {});
  // Rewrites the current file of every batch of a closed day.
  Result<CloseSummary> regenerate(BusinessDay day, const Progress& progress = {});
  // Writes a rejected batch again under sequence + 1, without its held lines.
  Result<OperatorBatch> resend(BusinessDay day, OperatorId op);
  Result<AckOutcome> ingest_ack(const std::string& ack_path);
  Result<ReconcileReport> verify(BusinessDay day);

  Result<std::vector<CloseRecord>> closes() const;
  Result<std::vector<BatchRecord>> batches(std::optional<BusinessDay> day) const;
  Result<std::vector<HeldLine>> held_lines(BusinessDay day, OperatorId op) const;

  const Options& options() const { return options_; }

 private:
  // Every read of one close, regenerate, resend or verify goes through the
  // one snapshot it took at its start, so taps posted meanwhile (the engine
  // keeps running) change nothing it reads.
  Result<CloseRecord> load_close(const ledger::Snapshot& snapshot, BusinessDay day) const;
  Result<std::vector<BatchRecord>> batches_in(const ledger::Snapshot& snapshot, std::optional<BusinessDay> day) const;
  // Streams the close's range once and writes the files of `batches`, each
  // under its own sequence and without the lines held back from it.
  // `issuer_lines` (may be null) receives the day's issuer lines (issuer_file.h).
  Result<std::vector<WrittenBatch>> write_batches(const ledger::Snapshot& snapshot, const CloseRecord& close,
                                                  const std::vector<BatchRecord>& batches, const Progress& progress,
                                                  AssignStats* stats, const std::string& dir,
                                                  std::vector<IssuerLine>* issuer_lines = nullptr);
  // The issuer's file of `close` with `lines`, into `dir`; nullopt when the
  // ledger has no issuer clearing account (nothing to settle with a bank).
  Result<std::optional<WrittenIssuerFile>> write_issuer(const CloseRecord& close, std::vector<IssuerLine> lines,
                                                        const std::string& dir);
  std::optional<AccountId> issuer_clearing() const;
  Result<std::optional<IssuerRecord>> load_issuer(const ledger::Snapshot& snapshot, BusinessDay day) const;
  // A closed day's files that are not in the out dir (its record landed
  // although its write reported a failure, staging.h), written again.
  Status restore_missing(const ledger::Snapshot& snapshot, const CloseRecord& close,
                         const std::vector<BatchRecord>& batches, const std::optional<IssuerRecord>& issuer);
  Result<std::unordered_set<std::string>> held_set(const ledger::Snapshot& snapshot, BusinessDay day, OperatorId op,
                                                   std::uint32_t sequence) const;
  // `writes` with the caller's records for what was `done` (Options::records_with).
  void add_caller_records(std::vector<ledger::RecordWrite>& writes, const std::string& done) const;

  ledger::Ledger& ledger_;
  Options options_;
};

}  // namespace citycard::settlement
