#include "summary_json.h"

namespace citycard::settlement {

nlohmann::json totals_json(const BatchTotals& t) {
  nlohmann::json programmes = nlohmann::json::object();
  for (Programme programme : all_programmes())
    if (const std::int64_t amount = t.programme_minor[programme_index(programme)]; amount != 0)
      programmes[std::string(programme_name(programme))] = amount;
  return {{"lines", t.lines}, {"late_lines", t.late_lines}, {"rider_fare", t.rider_fare_minor},
          {"city_subsidy", t.city_subsidy_minor}, {"points_subsidy", t.points_subsidy_minor},
          {"points_redeemed", t.points_redeemed}, {"other", t.other_minor}, {"total", t.total_minor},
          {"programmes", programmes}};
}

nlohmann::json batch_json(const BatchRecord& b) {
  return {{"day", b.day.to_string()}, {"operator", b.operator_id.value}, {"name", b.operator_name},
          {"sequence", b.sequence}, {"state", std::string(batch_state_name(b.state))}, {"file", b.file_name},
          {"sha256", b.file_sha256}, {"note", b.note}, {"totals", totals_json(b.totals)}};
}

nlohmann::json close_json(const CloseSummary& summary, const std::string& out_dir) {
  nlohmann::json batches = nlohmann::json::array();
  for (const auto& b : summary.batches) batches.push_back(batch_json(b.batch));
  nlohmann::json out = {{"day", summary.close.day.to_string()}, {"already_closed", summary.already_closed},
                        {"from_sequence", summary.close.from_sequence}, {"to_sequence", summary.close.to_sequence},
                        {"transfers_scanned", summary.close.transfers_scanned}, {"out_dir", out_dir},
                        {"batches", batches}, {"total", totals_json(summary.total)}};
  if (summary.issuer) {
    const IssuerRecord& issuer = *summary.issuer;
    out["issuer"] = {{"file", issuer.file_name},
                     {"sha256", issuer.file_sha256},
                     {"lines", issuer.totals.lines},
                     {"late_lines", issuer.totals.late_lines},
                     {"auto_top_up_minor", issuer.totals.total_minor}};
  }
  return out;
}

nlohmann::json ack_json(const AckOutcome& outcome) {
  auto json = batch_json(outcome.batch);
  json["settlement_sequence"] = outcome.settlement_sequence;
  json["lines_held"] = outcome.lines_held;
  return json;
}

nlohmann::json resend_json(const OperatorBatch& batch) {
  auto json = batch_json(batch.batch);
  json["path"] = batch.path;
  return json;
}

}  // namespace citycard::settlement
