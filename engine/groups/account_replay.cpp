#include "account_replay.h"

#include <algorithm>
#include <tuple>

#include "card_state_codec.h"
#include "citycard/coding.h"

namespace citycard::engine {
namespace {

std::uint32_t biased(std::int32_t day) { return static_cast<std::uint32_t>(day) ^ 0x80000000u; }

std::string card_bytes(const CardId& card) { return std::string(reinterpret_cast<const char*>(card.data()), card.size()); }

std::string state_key(const CardId& account_card) { return "s" + card_bytes(account_card); }

std::string opening_key(std::int32_t day, const CardId& account_card) {
  return opening_states_day_prefix(day) + card_bytes(account_card);
}

// Leads an "o" value that carries the tap count (no card state version is 0xFF).
constexpr std::uint8_t opening_taps_tag = 0xFF;

std::int64_t arrival_us(const RecordedTap& record) {
  return record.arrival.unix_us != 0 ? record.arrival.unix_us : record.tap.event_time.unix_us;
}

}  // namespace

Result<std::optional<CanonicalState>> read_canonical_state(const ledger::Snapshot& snapshot, const CardId& account_card) {
  auto stored = snapshot.record(ledger::RecordSpace::reprice, state_key(account_card));
  if (!stored) {
    if (stored.status().code() == StatusCode::not_found) return std::optional<CanonicalState>{};
    return stored.status();
  }
  const std::string& value = *stored;
  if (value.size() < 4) return Status::corruption("repricing state of " + account_card.to_string() + " is truncated");
  CanonicalState canonical;
  canonical.ended_day = static_cast<std::int32_t>(
      coding::load_be<std::uint32_t>(reinterpret_cast<const std::uint8_t*>(value.data())) ^ 0x80000000u);
  auto decoded = rules::decode_card_state(std::string_view(value).substr(4));
  if (!decoded) return Status::corruption("repricing state of " + account_card.to_string() + ": " + decoded.status().message());
  canonical.state = *decoded;
  return std::optional<CanonicalState>{std::move(canonical)};
}

ledger::RecordWrite canonical_state_write(const CardId& account_card, std::int32_t day, rules::CardState state) {
  // The stored state does not keep the replay's wallet: rating reads the
  // ledger's balance, and the next replay sets its own.
  state.wallet_minor = 0;
  std::string value;
  coding::put_be<std::uint32_t>(value, biased(day));
  value += rules::encode_card_state(state);
  return {ledger::RecordSpace::reprice, state_key(account_card), std::move(value)};
}

std::string opening_states_prefix() { return "o"; }

std::string opening_states_day_prefix(std::int32_t day) {
  std::string prefix = opening_states_prefix();
  coding::put_be<std::uint32_t>(prefix, biased(day));
  return prefix;
}

Result<std::optional<OpeningState>> read_opening_state(const ledger::Snapshot& snapshot, std::int32_t day,
                                                       const CardId& account_card) {
  auto stored = snapshot.record(ledger::RecordSpace::reprice, opening_key(day, account_card));
  if (!stored) {
    if (stored.status().code() == StatusCode::not_found) return std::optional<OpeningState>{};
    return stored.status();
  }
  const auto problem = [&](const std::string& what) {
    return Status::corruption("opening state of " + account_card.to_string() + " on day " + std::to_string(day) + ": " + what);
  };
  std::string_view value = *stored;
  OpeningState opening;
  if (!value.empty() && static_cast<std::uint8_t>(value.front()) == opening_taps_tag) {
    if (value.size() < 5) return problem("the tap count is truncated");
    opening.taps_replayed = coding::load_be<std::uint32_t>(reinterpret_cast<const std::uint8_t*>(value.data()) + 1);
    value.remove_prefix(5);
  }
  auto decoded = rules::decode_card_state(value);
  if (!decoded) return problem(decoded.status().message());
  opening.state = *decoded;
  return std::optional<OpeningState>{std::move(opening)};
}

ledger::RecordWrite opening_state_write(std::int32_t day, const CardId& account_card, const rules::CardState& state,
                                        std::uint32_t taps_replayed) {
  rules::CardState stored = state;
  stored.wallet_minor = 0;  // as in "s": the replay sets its own
  std::string value(1, static_cast<char>(opening_taps_tag));
  coding::put_be<std::uint32_t>(value, taps_replayed);
  value += rules::encode_card_state(stored);
  return {ledger::RecordSpace::reprice, opening_key(day, account_card), std::move(value)};
}

rules::CardState replay_start(const CardRecord& account, rules::CardState state) {
  state.media = account.media;
  state.status = CardStatus::active;
  state.bonus_account = account.bonus_points_account.value != 0;
  return state;
}

void sort_in_event_order(std::vector<RecordedTap>& taps) {
  std::sort(taps.begin(), taps.end(), [](const RecordedTap& a, const RecordedTap& b) {
    return std::tuple(a.tap.event_time.unix_us, a.tap.id.reader.value, a.tap.id.sequence) <
           std::tuple(b.tap.event_time.unix_us, b.tap.id.reader.value, b.tap.id.sequence);
  });
}

void sort_in_arrival_order(std::vector<RecordedTap>& taps) {
  std::sort(taps.begin(), taps.end(), [](const RecordedTap& a, const RecordedTap& b) {
    return std::tuple(arrival_us(a), a.tap.id.reader.value, a.tap.id.sequence, a.tap.event_time.unix_us) <
           std::tuple(arrival_us(b), b.tap.id.reader.value, b.tap.id.sequence, b.tap.event_time.unix_us);
  });
}

ReplayedTap replay_tap(const rules::RuleSet& rule_set, const CardRecord& account, std::int32_t business_day,
                       rules::CardState& state, const Tap& tap) {
  state.category = category_on(account, business_day);
  state.wallet_minor = replay_wallet_minor;
  ReplayedTap replayed{state, rules::rate(rule_set, state, tap)};
  if (replayed.rating.approved()) state = replayed.rating.state;
  return replayed;
}

}  // namespace citycard::engine
