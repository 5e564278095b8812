#include "account_moves.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "hashing.h"

namespace citycard::engine {

std::string medium_moves_key(const CardId& card) { return std::string(medium_moves_prefix) + card_key(card); }

std::string encode_medium_moves(const std::vector<MediumMove>& moves) {
  nlohmann::json rows = nlohmann::json::array();
  for (const MediumMove& move : moves) {
    rows.push_back({{"ref", move.ref},
                    {"time_us", move.time.unix_us},
                    {"how", move.how},
                    {"account", move.account.to_string()},
                    {"former_wallet", move.former_wallet.value},
                    {"former_points", move.former_points.value}});
  }
  return rows.dump();
}

Result<std::vector<MediumMove>> decode_medium_moves(std::string_view value) {
  auto rows = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!rows.is_array()) return Status::corruption("a medium's moves record is not a JSON array");
  std::vector<MediumMove> moves;
  for (const auto& row : rows) {
    MediumMove move;
    if (!row.is_object() || !row.contains("account") || !row["account"].is_string()) {
      return Status::corruption("a medium's moves record has an entry without its account");
    }
    auto account = CardId::parse(row["account"].get<std::string>());
    if (!account || !row.contains("former_wallet") || !row.contains("former_points") ||
        !row["former_wallet"].is_number_unsigned() || !row["former_points"].is_number_unsigned()) {
      return Status::corruption("a medium's moves record has an unreadable entry");
    }
    // Fields for people: a wrong type reads as empty rather than throwing.
    auto text = [&](const char* name) {
      auto found = row.find(name);
      return found != row.end() && found->is_string() ? found->get<std::string>() : std::string();
    };
    move.ref = text("ref");
    move.how = text("how");
    if (auto time = row.find("time_us"); time != row.end() && time->is_number_integer()) move.time = EventTime{time->get<std::int64_t>()};
    move.account = *account;
    move.former_wallet = AccountId{row["former_wallet"].get<std::uint64_t>()};
    move.former_points = AccountId{row["former_points"].get<std::uint64_t>()};
    moves.push_back(std::move(move));
  }
  return moves;
}

Result<std::vector<MediumMove>> load_medium_moves(const ledger::Ledger& ledger, const CardId& card) {
  auto value = ledger.record(ledger::RecordSpace::engine, medium_moves_key(card));
  if (!value) {
    if (value.status().code() == StatusCode::not_found) return std::vector<MediumMove>{};
    return value.status();
  }
  return decode_medium_moves(*value);
}

namespace {

// Slots of (key, paid) merged: equal keys add up, the greatest keys kept,
// ascending with empty slots first (as rating keeps them).
template <typename Slot, std::size_t N, typename Key>
std::array<Slot, N> merge_slots(const std::array<Slot, N>& a, const std::array<Slot, N>& b, Key key) {
  std::vector<Slot> all;
  for (const auto* slots : {&a, &b}) {
    for (const Slot& slot : *slots) {
      if (key(slot) == 0 && slot.paid_minor == 0) continue;
      auto same = std::find_if(all.begin(), all.end(), [&](const Slot& other) { return key(other) == key(slot); });
      if (same != all.end()) same->paid_minor += slot.paid_minor;
      else all.push_back(slot);
    }
  }
  std::sort(all.begin(), all.end(), [&](const Slot& x, const Slot& y) { return key(x) < key(y); });
  if (all.size() > N) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(N));
  std::array<Slot, N> out{};
  std::copy(all.begin(), all.end(), out.begin() + static_cast<std::ptrdiff_t>(N - all.size()));
  return out;
}

}  // namespace

rules::CardState combine_account_states(const rules::CardState& survivor, const rules::CardState& absorbed) {
  rules::CardState state = survivor;
  state.cap_days = merge_slots(survivor.cap_days, absorbed.cap_days, [](const rules::CapDay& d) { return d.business_day; });
  state.cap_months = merge_slots(survivor.cap_months, absorbed.cap_months, [](const rules::CapMonth& m) { return m.month; });
  state.points_month = std::max(survivor.points_month, absorbed.points_month);
  // The absorbed bonus points join the survivor's balance, valid as long as the later of the two.
  state.bonus_expiry_month = std::max(survivor.bonus_expiry_month, absorbed.bonus_expiry_month);
  if (absorbed.visits_month == survivor.visits_month) {
    for (std::size_t i = 0; i < rules::visit_kind_count; ++i) {
      const std::uint32_t sum = std::uint32_t{survivor.visits[i]} + absorbed.visits[i];
      state.visits[i] = static_cast<std::uint16_t>(std::min<std::uint32_t>(sum, 0xffff));
    }
  } else if (absorbed.visits_month > survivor.visits_month) {
    state.visits_month = absorbed.visits_month;
    state.visits = absorbed.visits;
  }
  std::vector<rules::LegMemory> legs;
  for (const auto* from : {&survivor.recent_legs, &absorbed.recent_legs}) {
    for (const rules::LegMemory& leg : *from) {
      if (leg.rule_set_version != 0) legs.push_back(leg);
    }
  }
  std::stable_sort(legs.begin(), legs.end(), [](const auto& x, const auto& y) { return x.start_us < y.start_us; });
  if (legs.size() > rules::legs_kept) legs.erase(legs.begin(), legs.end() - static_cast<std::ptrdiff_t>(rules::legs_kept));
  state.recent_legs = {};
  std::copy(legs.begin(), legs.end(), state.recent_legs.begin() + static_cast<std::ptrdiff_t>(rules::legs_kept - legs.size()));
  return state;
}

std::string open_journey_of(const rules::CardState& state) {
  auto since = [](std::int64_t start_us) { return " (started at " + std::to_string(start_us / 1'000'000) + " s unix time)"; };
  if (state.metro.open) return "an open metro journey" + since(state.metro.start_us);
  if (state.bus.open) return "an open bus ride" + since(state.bus.start_us);
  if (state.bike.open) return "an open bike rental" + since(state.bike.start_us);
  return {};
}

}  // namespace citycard::engine
