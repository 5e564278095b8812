// Settlement results as JSON: what `citycard settle ... --json` prints and
// what the engine's admin ops settle_* answer (docs/admin-api.md), one
// format for both, so the CLI prints an engine's close like its own.
#pragma once

#include <nlohmann/json.hpp>

#include "settlement.h"

namespace citycard::settlement {

nlohmann::json totals_json(const BatchTotals& totals);
nlohmann::json batch_json(const BatchRecord& batch);
// day, already_closed, from/to_sequence, transfers_scanned, out_dir, batches, total, and
// issuer (file, sha256, lines, late_lines, auto_top_up_minor) when the day has an issuer file.
nlohmann::json close_json(const CloseSummary& summary, const std::string& out_dir);
// batch_json of the batch after the ack, plus settlement_sequence and lines_held.
nlohmann::json ack_json(const AckOutcome& outcome);
// batch_json of the resent batch, plus path.
nlohmann::json resend_json(const OperatorBatch& batch);

}  // namespace citycard::settlement
