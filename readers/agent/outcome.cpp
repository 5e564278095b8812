#include "outcome.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace citycard::agent {

TapOutcome decide_offline(const card::CardReadout& readout, const DenyList& deny_list) {
  TapOutcome outcome;
  const card::CardData& record = readout.proof.record;
  outcome.card = record.card_id;
  outcome.offline = true;
  auto refuse = [&](RefusalReason reason, std::string detail) {
    outcome.result = TapResult::refused;
    outcome.reason = reason;
    outcome.detail = std::move(detail);
    return outcome;
  };
  if (!readout.genuine.is_ok()) return refuse(RefusalReason::card_not_genuine, readout.genuine.message());
  switch (record.status) {
    case CardStatus::active: break;
    case CardStatus::blocked: return refuse(RefusalReason::card_blocked, "the card says it is blocked");
    case CardStatus::lost: return refuse(RefusalReason::card_lost, "the card says it was reported lost");
    case CardStatus::replaced: return refuse(RefusalReason::card_replaced, "the card says it was replaced");
  }
  if (deny_list.contains(record.card_id)) {
    return refuse(RefusalReason::card_blocked, fmt::format("on the deny list (version {})", deny_list.version()));
  }
  outcome.result = TapResult::approved;
  return outcome;
}

namespace {

std::string money(std::int64_t minor, Asset asset) { return fmt::format("{} {}", minor, asset_name(asset)); }

}  // namespace

std::string format_line(const TapOutcome& outcome) {
  const std::string tap = fmt::format("[tap {}/{}]", outcome.tap.reader.value, outcome.tap.sequence);
  const std::string card = outcome.card.empty() ? std::string("card ?") : "card " + outcome.card.to_string();
  switch (outcome.result) {
    case TapResult::approved: {
      std::string line = "APPROVED   " + card;
      if (outcome.fare_minor) line += "  fare " + money(*outcome.fare_minor, outcome.asset);
      if (outcome.balance_minor) line += "  balance " + money(*outcome.balance_minor, outcome.asset);
      if (outcome.offline) line += fmt::format("  offline, queued ({} waiting)", outcome.queued);
      if (outcome.disk_full) line += "  READER DISK FULL";
      return line + "  " + tap;
    }
    case TapResult::refused:
      return fmt::format("REFUSED    {}  {}: {}  {}", card, refusal_reason_name(outcome.reason), outcome.detail, tap);
    case TapResult::tap_again:
      return fmt::format("TAP AGAIN  {}  {}  {}", card, outcome.detail, tap);
  }
  return "?";
}

std::string format_json(const TapOutcome& outcome) {
  nlohmann::json json;
  json["result"] = outcome.result == TapResult::approved ? "approved"
                   : outcome.result == TapResult::refused ? "refused"
                                                          : "tap_again";
  json["reader"] = outcome.tap.reader.value;
  json["sequence"] = outcome.tap.sequence;
  if (!outcome.card.empty()) json["card"] = outcome.card.to_string();
  json["offline"] = outcome.offline;
  if (outcome.offline) json["queued"] = outcome.queued;
  if (outcome.reason != RefusalReason::none) json["reason"] = std::string(refusal_reason_name(outcome.reason));
  if (!outcome.detail.empty()) json["detail"] = outcome.detail;
  if (outcome.fare_minor || outcome.balance_minor) json["asset"] = std::string(asset_name(outcome.asset));
  if (outcome.fare_minor) json["fare_minor"] = *outcome.fare_minor;
  if (outcome.balance_minor) json["balance_minor"] = *outcome.balance_minor;
  if (outcome.disk_full) json["disk_full"] = true;
  return json.dump();
}

}  // namespace citycard::agent
