#include "engine/net/memory_deny_list.h"

#include <map>

namespace citycard::net {

std::uint64_t MemoryDenyList::add(const CardId& card) {
  std::lock_guard lock(mutex_);
  if (!cards_.insert(card).second) return version_;
  history_.push_back(Change{++version_, card, true});
  if (history_.size() > history_max_) history_.pop_front();
  return version_;
}

std::uint64_t MemoryDenyList::remove(const CardId& card) {
  std::lock_guard lock(mutex_);
  if (cards_.erase(card) == 0) return version_;
  history_.push_back(Change{++version_, card, false});
  if (history_.size() > history_max_) history_.pop_front();
  return version_;
}

std::uint64_t MemoryDenyList::current_version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

protocol::DenyListDelta MemoryDenyList::snapshot(std::size_t cards_max) const {
  protocol::DenyListDelta delta{0, version_, protocol::DenyListDelta::flag_full, {}, {}};
  // A list too large for one frame cannot be sent as one snapshot; readers
  // then hold the first cards_max (documented in docs/protocol.md as a limit).
  for (const CardId& card : cards_) {
    if (delta.added.size() == cards_max) break;
    delta.added.push_back(card);
  }
  return delta;
}

protocol::DenyListDelta MemoryDenyList::delta_since(std::uint64_t from_version, std::size_t cards_max) const {
  std::lock_guard lock(mutex_);
  std::uint64_t oldest_known = version_ - history_.size();
  if (from_version == 0 || from_version > version_ || from_version < oldest_known) return snapshot(cards_max);
  protocol::DenyListDelta delta{from_version, from_version, 0, {}, {}};
  // Net effect per card over (from, to]: the last change wins.
  std::map<CardId, bool> net;
  std::size_t first = static_cast<std::size_t>(from_version - oldest_known);
  for (std::size_t i = first; i < history_.size(); ++i) {
    const Change& change = history_[i];
    if (net.size() == cards_max && !net.contains(change.card)) {
      delta.flags |= protocol::DenyListDelta::flag_more;
      break;
    }
    net[change.card] = change.added;
    delta.to_version = change.version;
  }
  for (const auto& [card, added] : net) (added ? delta.added : delta.removed).push_back(card);
  return delta;
}

}  // namespace citycard::net
