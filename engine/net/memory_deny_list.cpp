#include "engine/net/memory_deny_list.h"

#include <map>

namespace citycard::net {

using protocol::DenyListDelta;

void MemoryDenyList::record_locked(const CardId& card, bool added) {
  history_.push_back(Change{++version_, card, added});
  if (history_.size() > history_max_) history_.pop_front();
}

std::uint64_t MemoryDenyList::add(const CardId& card) {
  std::lock_guard lock(mutex_);
  if (cards_.insert(card).second) record_locked(card, true);
  return version_;
}

std::uint64_t MemoryDenyList::remove(const CardId& card) {
  std::lock_guard lock(mutex_);
  if (cards_.erase(card) != 0) record_locked(card, false);
  return version_;
}

Status MemoryDenyList::restore(Contents contents) {
  std::set<CardId> cards;
  for (const CardId& card : contents.cards) {
    if (card.empty()) return Status::invalid_argument("deny list holds an empty card id");
    cards.insert(card);
  }
  if (contents.history.size() > contents.version) {
    return Status::invalid_argument("deny list history is longer than its version " + std::to_string(contents.version));
  }
  // Walk the history backwards from the set at `version`: each change must
  // have flipped its card, so undoing it must flip it back.
  std::set<CardId> before = cards;
  std::uint64_t expected = contents.version;
  for (auto change = contents.history.rbegin(); change != contents.history.rend(); ++change) {
    if (change->version != expected--) {
      return Status::invalid_argument("deny list history version " + std::to_string(change->version) + " is out of sequence");
    }
    bool undone = change->added ? before.erase(change->card) == 1 : before.insert(change->card).second;
    if (!undone || change->card.empty()) {
      return Status::invalid_argument("deny list history change " + std::to_string(change->version) +
                                      " does not match the set");
    }
  }
  std::lock_guard lock(mutex_);
  version_ = contents.version;
  cards_ = std::move(cards);
  history_.assign(contents.history.begin(), contents.history.end());
  while (history_.size() > history_max_) history_.pop_front();
  return Status::ok();
}

MemoryDenyList::Contents MemoryDenyList::contents() const {
  std::lock_guard lock(mutex_);
  return Contents{version_, std::vector<CardId>(cards_.begin(), cards_.end()),
                  std::vector<Change>(history_.begin(), history_.end())};
}

std::uint64_t MemoryDenyList::current_version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

std::size_t MemoryDenyList::size() const {
  std::lock_guard lock(mutex_);
  return cards_.size();
}

DenyListDelta MemoryDenyList::answer(const protocol::DenyListRequest& request, std::size_t cards_max) const {
  if (request.continues_snapshot()) {
    return snapshot_page(request.snapshot_version, request.after, request.from_version, cards_max);
  }
  return delta_since(request.from_version, cards_max);
}

DenyListDelta MemoryDenyList::first_page_locked(std::size_t cards_max) const {
  DenyListDelta delta{0, version_, DenyListDelta::flag_full, {}, {}};
  delta.added.reserve(std::min(cards_max, cards_.size()));
  for (const CardId& card : cards_) {
    if (delta.added.size() == cards_max) {
      delta.flags |= DenyListDelta::flag_more;
      break;
    }
    delta.added.push_back(card);
  }
  return delta;
}

DenyListDelta MemoryDenyList::delta_since(std::uint64_t from_version, std::size_t cards_max) const {
  std::lock_guard lock(mutex_);
  return delta_locked(from_version, cards_max);
}

DenyListDelta MemoryDenyList::delta_locked(std::uint64_t from_version, std::size_t cards_max) const {
  const std::uint64_t oldest_known = oldest_known_locked();
  if (from_version == 0 || from_version > version_ || from_version < oldest_known) return first_page_locked(cards_max);
  DenyListDelta delta{from_version, from_version, 0, {}, {}};
  // Net effect per card over (from, to]: the last change wins.
  std::map<CardId, bool> net;
  std::size_t first = static_cast<std::size_t>(from_version - oldest_known);
  for (std::size_t i = first; i < history_.size(); ++i) {
    const Change& change = history_[i];
    if (net.size() == cards_max && !net.contains(change.card)) {
      delta.flags |= DenyListDelta::flag_more;
      break;
    }
    net[change.card] = change.added;
    delta.to_version = change.version;
  }
  for (const auto& [card, added] : net) (added ? delta.added : delta.removed).push_back(card);
  return delta;
}

DenyListDelta MemoryDenyList::snapshot_page(std::uint64_t snapshot_version, const CardId& after,
                                            std::uint64_t from_version, std::size_t cards_max) const {
  std::lock_guard lock(mutex_);
  if (snapshot_version == 0 || snapshot_version > version_ || snapshot_version < oldest_known_locked()) {
    return delta_locked(from_version, cards_max);
  }
  // Cards changed since the snapshot, past `after`: their membership at it.
  std::map<CardId, bool> at_snapshot;
  for (std::size_t i = static_cast<std::size_t>(snapshot_version - oldest_known_locked()); i < history_.size(); ++i) {
    const Change& change = history_[i];
    if (after < change.card) at_snapshot.try_emplace(change.card, !change.added);
  }
  DenyListDelta page{0, snapshot_version, DenyListDelta::flag_page, {}, {}};
  page.added.reserve(std::min(cards_max, cards_.size()));
  auto now = cards_.upper_bound(after);
  auto then = at_snapshot.begin();
  while (now != cards_.end() || then != at_snapshot.end()) {
    CardId card;
    bool member = false;
    if (then == at_snapshot.end() || (now != cards_.end() && *now < then->first)) {
      card = *now++;
      member = true;  // not changed since the snapshot: as now
    } else {
      if (now != cards_.end() && *now == then->first) ++now;
      card = then->first;
      member = then->second;
      ++then;
    }
    if (!member) continue;
    if (page.added.size() == cards_max) {
      page.flags |= DenyListDelta::flag_more;
      break;
    }
    page.added.push_back(card);
  }
  return page;
}

}  // namespace citycard::net
