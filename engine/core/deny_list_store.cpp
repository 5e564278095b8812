#include "deny_list_store.h"

#include <algorithm>
#include <optional>
#include <set>

#include "deny_records.h"
#include "hashing.h"
#include "ledger/encoding.h"

namespace citycard::engine {
namespace {

using net::MemoryDenyList;
namespace encoding = ledger::encoding;

constexpr std::string_view state_key = "deny_list/state";
constexpr std::string_view history_key = "deny_list/history";
constexpr std::uint8_t state_format = 1;
constexpr std::size_t state_bytes = 1 + 8 + 8 + 1 + 8 + 8;
static_assert(state_bytes == 34);

struct SavedState {
  std::uint64_t epoch = 0;
  std::uint64_t sequence = 0;
  bool clean = false;
  std::uint64_t cards = 0;
  std::uint64_t digest = 0;
};

// Order-independent, so the set can be hashed in any order it is read.
template <typename Cards>
std::uint64_t digest_of(const Cards& cards) {
  std::uint64_t sum = 0;
  for (const CardId& card : cards) sum += CardIdHash{}(card);
  return sum;
}

ledger::RecordWrite state_record(const SavedState& state) {
  std::string value;
  coding::put_le<std::uint8_t>(value, state_format);
  coding::put_le<std::uint64_t>(value, state.epoch);
  coding::put_le<std::uint64_t>(value, state.sequence);
  coding::put_le<std::uint8_t>(value, state.clean ? 1 : 0);
  coding::put_le<std::uint64_t>(value, state.cards);
  coding::put_le<std::uint64_t>(value, state.digest);
  return {ledger::RecordSpace::engine, std::string(state_key), std::move(value)};
}

std::optional<SavedState> decode_state(std::string_view value) {
  coding::Reader in(value);
  SavedState state;
  const auto format = in.le<std::uint8_t>();
  state.epoch = in.le<std::uint64_t>();
  state.sequence = in.le<std::uint64_t>();
  const auto clean = in.le<std::uint8_t>();
  state.cards = in.le<std::uint64_t>();
  state.digest = in.le<std::uint64_t>();
  if (!in.ok() || !in.at_end() || format != state_format || clean > 1 || state.epoch == 0 ||
      state.epoch > deny_epoch_max || state.sequence > deny_sequence_mask) {
    return std::nullopt;
  }
  state.clean = clean == 1;
  return state;
}

// history := epoch: fixed64  first_sequence: fixed64  count: fixed32  change[count]
ledger::RecordWrite history_record(std::uint64_t epoch, const std::vector<MemoryDenyList::Change>& changes) {
  std::string value;
  coding::put_le<std::uint64_t>(value, epoch);
  coding::put_le<std::uint64_t>(value, changes.empty() ? 0 : changes.front().version & deny_sequence_mask);
  coding::put_le<std::uint32_t>(value, static_cast<std::uint32_t>(changes.size()));
  for (const auto& change : changes) {
    coding::put_le<std::uint8_t>(value, change.added ? 1 : 0);
    coding::put_le<std::uint8_t>(value, static_cast<std::uint8_t>(change.card.size()));
    value.append(reinterpret_cast<const char*>(change.card.data()), change.card.size());
  }
  return {ledger::RecordSpace::engine, std::string(history_key), std::move(value)};
}

// The changes of `state`'s epoch ending at its sequence; empty when the
// record is missing, unreadable or of another stop (a reader behind the
// restart then gets a full snapshot instead of a delta).
std::vector<MemoryDenyList::Change> load_history(const ledger::Ledger& ledger, const SavedState& state) {
  auto stored = ledger.record(ledger::RecordSpace::engine, history_key);
  if (!stored) return {};
  coding::Reader in(*stored);
  const auto epoch = in.le<std::uint64_t>();
  const auto first = in.le<std::uint64_t>();
  const auto count = in.le<std::uint32_t>();
  if (!in.ok() || epoch != state.epoch || count == 0 || first == 0 || first + count - 1 != state.sequence) return {};
  std::vector<MemoryDenyList::Change> changes;
  changes.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto added = in.le<std::uint8_t>();
    const auto length = in.le<std::uint8_t>();
    std::string_view bytes = in.chars(length);
    if (!in.ok() || added > 1 || length == 0 || length > CardId::bytes_max) return {};
    changes.push_back({deny_version(epoch, first + i),
                       CardId::from_bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), added == 1});
  }
  if (!in.at_end()) return {};
  return changes;
}

}  // namespace

Result<DenyListStart> open_deny_list(ledger::Ledger& ledger, const std::vector<CardId>& listed,
                                     net::MemoryDenyList& list) {
  std::optional<SavedState> saved;
  if (auto stored = ledger.record(ledger::RecordSpace::engine, state_key)) {
    saved = decode_state(*stored);
    if (!saved) return Status::corruption("the engine record deny_list/state is unreadable");
  } else if (stored.status().code() != StatusCode::not_found) {
    return stored.status();
  }
  auto served_cards = load_denied_cards(ledger);
  if (!served_cards) return served_cards.status();
  const std::set<CardId> served(served_cards->begin(), served_cards->end());
  const std::set<CardId> now(listed.begin(), listed.end());

  DenyListStart start;
  if (!saved) {
    start.new_epoch_because = "no saved deny list";
  } else if (!saved->clean) {
    start.new_epoch_because = "the engine did not stop cleanly";
  } else if (saved->cards != served.size() || saved->digest != digest_of(served)) {
    start.new_epoch_because = "the deny records differ from the list saved at the last stop";
  } else if (saved->sequence >= deny_sequence_mask / 2) {
    start.new_epoch_because = "the epoch's versions are used up";
  } else {
    start.continued = true;
  }

  MemoryDenyList::Contents contents;
  if (start.continued) {
    start.epoch = saved->epoch;
    contents.version = deny_version(start.epoch, saved->sequence);
    contents.cards.assign(served.begin(), served.end());
    contents.history = load_history(ledger, *saved);
    start.history = contents.history.size();
    if (!list.restore(contents)) {
      // A history that does not lead to the saved set is not used.
      contents.history.clear();
      start.history = 0;
      if (Status restored = list.restore(std::move(contents)); !restored) return restored;
    }
  } else {
    start.epoch = saved ? saved->epoch + 1 : 1;
    if (start.epoch > deny_epoch_max) return Status::corruption("the deny list has used every epoch");
    contents.version = deny_version(start.epoch, 0);
    contents.cards.assign(now.begin(), now.end());
    if (Status restored = list.restore(std::move(contents)); !restored) return restored;
  }

  // What changed while the engine was stopped (the CLI on the ledger, an
  // import): new versions of a continued epoch, and the "deny/" records.
  std::vector<ledger::RecordWrite> writes;
  for (const CardId& card : now) {
    if (served.contains(card)) continue;
    ++start.listed;
    if (start.continued) list.add(card);
    writes.push_back(deny_record(card, true));
  }
  for (const CardId& card : served) {
    if (now.contains(card)) continue;
    ++start.unlisted;
    if (start.continued) list.remove(card);
    writes.push_back(deny_record(card, false));
  }
  start.version = list.current_version();
  start.cards = now.size();
  SavedState running{start.epoch, start.version & deny_sequence_mask, false, now.size(), digest_of(now)};
  writes.push_back(state_record(running));
  if (Status written = ledger.put_records(writes, {}); !written) return written;
  return start;
}

Status save_deny_list(ledger::Ledger& ledger, const net::MemoryDenyList& list) {
  MemoryDenyList::Contents contents = list.contents();
  const std::uint64_t epoch = contents.version >> deny_sequence_bits;
  if (epoch == 0) return Status::invalid_argument("the deny list was not opened from the ledger");
  SavedState state{epoch, contents.version & deny_sequence_mask, true, contents.cards.size(), digest_of(contents.cards)};
  return ledger.put_records({state_record(state), history_record(epoch, contents.history)}, {});
}

}  // namespace citycard::engine
