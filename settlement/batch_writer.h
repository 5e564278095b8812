// Writes one close's batch files: lines arrive in ledger order, mixed across
// operators, and each operator's lines go to a body file of its own; finish()
// then writes each final file as header + lines + trailer (the header names
// rule set versions only known at the end), its SHA-256 digest file and its
// Ed25519 signature.
//
// A file's lines are in canonical order, by event time, then tap id: the
// ledger's order is the order taps arrived in, which differs from run to run
// (readers race each other), and a day's files must depend only on what was
// posted, not on when. Each body line is kept with a 16-byte index entry
// (event time, its place in the body); finish() sorts the index (ties of
// event time by the line's text, which starts with its tap id) and copies
// the lines from the mapped body in that order, numbering them. Memory is
// the index: 16 bytes a line (a 1.6M-line metro day: 26 MB); the lines
// themselves stay on disk. Final files appear by rename, never half-written, and a
// batch file appears only after its digest and signature (files/durable_file.h).
// A failure (a full disk) leaves no body, temporary or truncated file.
//
// Per operator the directory gets:
//   NAME            the batch file (CCSET_<day>_<operator>_<sequence>.csv)
//   NAME.sha256     "<64 hex>  NAME\n"   (sha256sum -c format)
//   NAME.sig        64-byte raw Ed25519 signature over NAME
#pragma once

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "batch_file.h"
#include "files/durable_file.h"
#include "keys.h"

namespace citycard::settlement {

struct WrittenBatch {
  OperatorId operator_id;
  std::uint32_t sequence = 0;
  std::string file_name;
  std::string file_sha256;
  BatchTotals totals;
};

class BatchWriter {
 public:
  // Body files open at once, at most; past it all are closed and reopened on demand.
  static constexpr std::size_t open_bodies_max = 128;

  BatchWriter(std::string out_dir, const DayConfig& config, const SettlementKeys& keys);
  ~BatchWriter();  // removes body files left by a failed close
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  // Declares a batch to write (header without rule set versions); lines of
  // operators not declared are ignored.
  void expect(const BatchHeader& header);
  Status add(OperatorId op, const BatchLine& line, std::uint32_t rule_set_version);
  // Writes the declared batches in operator order.
  Result<std::vector<WrittenBatch>> finish();

 private:
  // A line's place in its body file, and what it sorts by.
  struct LineIndex {
    std::int64_t event_time_us = 0;
    std::uint64_t offset = 0;        // of the line's text after "L,<number>" in the body
  };
  struct Pending {
    BatchHeader header;
    std::string body_path;
    std::FILE* body = nullptr;
    bool body_started = false;
    std::uint64_t body_bytes = 0;
    std::vector<LineIndex> lines;
    BatchTotals totals;
    std::set<std::uint32_t> rule_set_versions;
  };
  Status write_final(Pending& pending, WrittenBatch& written);
  // The body's lines, in canonical order and numbered, to `out`.
  Status copy_lines_sorted(Pending& pending, files::DurableFile& out, EVP_MD_CTX* sha);
  Status close_bodies();

  std::string out_dir_;
  DayConfig config_;
  const SettlementKeys& keys_;
  std::map<std::uint32_t, Pending> pending_;
  std::size_t open_bodies_ = 0;
};

}  // namespace citycard::settlement
