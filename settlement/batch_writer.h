// Writes one close's batch files: lines arrive in ledger order, mixed across
// operators, and each operator's lines go to a body file of its own; finish()
// then writes each final file as header + body + trailer (the header names
// rule set versions only known at the end), its SHA-256 digest file and its
// Ed25519 signature. Final files appear by rename, never half-written, and a
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

#include "batch_file.h"
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
  struct Pending {
    BatchHeader header;
    std::string body_path;
    std::FILE* body = nullptr;
    bool body_started = false;
    BatchTotals totals;
    std::set<std::uint32_t> rule_set_versions;
  };
  Status write_final(Pending& pending, WrittenBatch& written);
  Status close_bodies();

  std::string out_dir_;
  DayConfig config_;
  const SettlementKeys& keys_;
  std::map<std::uint32_t, Pending> pending_;
  std::size_t open_bodies_ = 0;
};

}  // namespace citycard::settlement
