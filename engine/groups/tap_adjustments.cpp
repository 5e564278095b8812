#include "tap_adjustments.h"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace citycard::engine {
namespace {

// A card replaced by one replaced in turn...: a tap is followed at most this
// many replacements forward to the card it belongs to now.
constexpr int replacements_followed_max = 16;

bool parse_u64(std::string_view text, std::uint64_t& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && error == std::errc() && end == text.data() + text.size();
}

// Whether `owner`'s wallet, or a card that replaced it (and so on), is `card`'s.
Result<bool> belongs_to(const ledger::Ledger& ledger, CardRecord owner, const CardRecord& card) {
  for (int hop = 0; hop <= replacements_followed_max; ++hop) {
    if (owner.wallet_account == card.wallet_account) return true;
    if (owner.replaced_by.empty()) return false;
    auto next = ledger.card(owner.replaced_by);
    if (!next) return next.status();
    owner = *next;
  }
  return false;
}

// The card whose account one of the tap's transfers moved, if any.
Result<std::optional<CardRecord>> card_of_tap(const ledger::Ledger& ledger, const std::vector<ledger::StoredTransfer>& legs) {
  for (const auto& leg : legs) {
    for (AccountId account : {leg.transfer.debit_account, leg.transfer.credit_account}) {
      auto card = ledger.card_of_account(account);
      if (card) return std::optional<CardRecord>(*card);
      if (card.status().code() != StatusCode::not_found) return card.status();
    }
  }
  return std::optional<CardRecord>();
}

}  // namespace

std::optional<TapId> parse_tap_reference(std::string_view text) {
  if (text.substr(0, 4) == "tap:") text.remove_prefix(4);
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::uint64_t reader = 0;
  std::uint64_t sequence = 0;
  if (!parse_u64(text.substr(0, colon), reader) || !parse_u64(text.substr(colon + 1), sequence)) return std::nullopt;
  if (reader == 0 || reader > 0xFFFFFFFFull) return std::nullopt;
  return TapId{ReaderId{static_cast<std::uint32_t>(reader)}, sequence};
}

std::string tap_reference(TapId tap) { return IdempotencyKey::for_tap(tap).to_string(); }

OperatorAdjusted& TapAdjusted::of(OperatorId operator_id) {
  for (auto& entry : operators) {
    if (entry.operator_id == operator_id) return entry;
  }
  return operators.emplace_back(OperatorAdjusted{operator_id, 0, 0});
}

std::int64_t TapAdjusted::credited_minor() const {
  std::int64_t total = 0;
  for (const auto& entry : operators) total += entry.credited_minor;
  return total;
}

std::int64_t TapAdjusted::debited_minor() const {
  std::int64_t total = 0;
  for (const auto& entry : operators) total += entry.debited_minor;
  return total;
}

std::string tap_adjusted_key(TapId tap) { return std::string(tap_adjusted_prefix) + tap_reference(tap); }

std::string encode_tap_adjusted(const TapAdjusted& adjusted) {
  nlohmann::json operators = nlohmann::json::array();
  for (const auto& entry : adjusted.operators) {
    operators.push_back({{"operator", entry.operator_id.value},
                         {"credited_minor", entry.credited_minor},
                         {"debited_minor", entry.debited_minor}});
  }
  return nlohmann::json{{"operators", operators}}.dump();
}

Result<TapAdjusted> decode_tap_adjusted(TapId tap, std::string_view body) {
  auto bad = [&](const std::string& what) {
    return Status::corruption("adjustments record of " + tap_reference(tap) + ": " + what);
  };
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return bad("not a JSON object");
  try {
    TapAdjusted adjusted;
    std::int64_t credited = 0;
    std::int64_t debited = 0;
    for (const auto& row : parsed.at("operators")) {
      // get<>() casts a float without a range check (undefined): whole numbers in range only.
      for (const auto& [key, max] : {std::pair{"operator", std::uint64_t{UINT32_MAX}}, std::pair{"credited_minor", std::uint64_t{INT64_MAX}},
                                     std::pair{"debited_minor", std::uint64_t{INT64_MAX}}}) {
        const auto& number = row.at(key);
        if (number.is_number_integer() && !number.is_number_unsigned()) return bad("a negative amount");
        if (!number.is_number_unsigned() || number.get<std::uint64_t>() > max) return bad(std::string(key) + " out of range");
      }
      OperatorAdjusted entry;
      entry.operator_id = OperatorId{row.at("operator").get<std::uint32_t>()};
      entry.credited_minor = row.at("credited_minor").get<std::int64_t>();
      entry.debited_minor = row.at("debited_minor").get<std::int64_t>();
      // credited_minor() and debited_minor() sum them: the sums must fit too.
      if (__builtin_add_overflow(credited, entry.credited_minor, &credited) ||
          __builtin_add_overflow(debited, entry.debited_minor, &debited)) {
        return bad("amounts overflow their sum");
      }
      adjusted.operators.push_back(entry);
    }
    return adjusted;
  } catch (const nlohmann::json::exception& error) {
    return bad(error.what());
  }
}

Result<TapAdjusted> load_tap_adjusted(const ledger::Ledger& ledger, TapId tap) {
  auto body = ledger.record(ledger::RecordSpace::engine, tap_adjusted_key(tap));
  if (!body) {
    if (body.status().code() == StatusCode::not_found) return TapAdjusted{};
    return body.status();
  }
  return decode_tap_adjusted(tap, *body);
}

Result<TapCharge> read_tap_charge(const ledger::Ledger& ledger, TapId tap, const CardRecord& card) {
  const std::string name = tap_reference(tap);
  std::vector<ledger::StoredTransfer> legs;
  bool posted = false;
  for (const IdempotencyKey& key : {IdempotencyKey::for_tap(tap), IdempotencyKey::for_service_given(tap)}) {
    auto outcome = ledger.posted(key);
    if (!outcome) return outcome.status();
    if (!outcome->has_value()) continue;
    posted = true;
    auto transfers = ledger.transfers_for(key);
    if (!transfers) {
      if (transfers.status().code() == StatusCode::not_found) continue;  // a refused tap: no transfers
      return transfers.status();
    }
    legs.insert(legs.end(), transfers->begin(), transfers->end());
  }
  if (!posted) return Status::not_found("no tap " + name + " in the ledger");
  auto owner = card_of_tap(ledger, legs);
  if (!owner) return owner.status();
  if (!owner->has_value()) {
    return Status::refused(fmt::format("tap {} moved no money of any card (refused, or free): there is no charge to adjust", name));
  }
  auto belongs = belongs_to(ledger, **owner, card);
  if (!belongs) return belongs.status();
  if (!*belongs) {
    return Status::refused(fmt::format("tap {} was a tap of card {}, not of card {}", name, (*owner)->card.to_string(),
                                       card.card.to_string()));
  }
  // The wallet the tap charged: the card's own, or that of the card it replaced.
  const AccountId wallet = (*owner)->wallet_account;
  TapCharge charge;
  charge.tap = tap;
  charge.mode = legs.front().transfer.mode;
  charge.route = legs.front().transfer.route;
  charge.location = legs.front().transfer.location;
  for (const auto& leg : legs) {
    const Transfer& t = leg.transfer;
    if (t.asset != Asset::twd || (t.debit_account != wallet && t.credit_account != wallet)) continue;
    const bool paid = t.debit_account == wallet;
    const AccountId other = paid ? t.credit_account : t.debit_account;
    auto account = ledger.account(other);
    if (!account || account->spec.kind != AccountKind::operator_payable) continue;  // an auto top-up, not a charge
    const OperatorId operator_id{static_cast<std::uint32_t>(account->spec.owner)};
    OperatorCharged* entry = nullptr;
    for (auto& existing : charge.operators) {
      if (existing.operator_id == operator_id) entry = &existing;
    }
    if (entry == nullptr) entry = &charge.operators.emplace_back(OperatorCharged{operator_id, other, 0});
    entry->charged_minor += paid ? t.amount_minor : -t.amount_minor;
  }
  // A ride that cost the card nothing (points, a free transfer) still has
  // its operator: a missed charge is paid to it, and may be credited back.
  if (charge.operators.empty()) {
    if (auto record = ledger.operator_record(legs.front().transfer.operator_id)) {
      charge.operators.push_back(OperatorCharged{record->id, record->payable_account, 0});
    }
  }
  if (!charge.operators.empty()) {
    charge.debit_operator = charge.operators.front().operator_id;
    charge.debit_payable = charge.operators.front().payable;
  }
  return charge;
}

}  // namespace citycard::engine
