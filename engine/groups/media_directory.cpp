#include "media_directory.h"

namespace citycard::engine {

Result<MediaDirectory::Table> MediaDirectory::scan(const ledger::Ledger& ledger) {
  Table table;
  auto snapshot = ledger.snapshot();
  Status scanned = snapshot->scan_cards([&](const CardRecord& record) {
    if (!record.linked_to.empty()) table.emplace(record.card, record.linked_to);
    return true;
  });
  if (!scanned) return scanned;
  return table;
}

std::shared_ptr<const MediaDirectory::Table> MediaDirectory::table() const {
  std::lock_guard lock(mutex_);
  return table_;
}

std::vector<CardId> MediaDirectory::media_of(const CardId& account) const {
  std::vector<CardId> media;
  for (const auto& [medium, key] : *table()) {
    if (key == account) media.push_back(medium);
  }
  return media;
}

void MediaDirectory::reset(Table table) {
  auto next = std::make_shared<const Table>(std::move(table));
  std::lock_guard lock(mutex_);
  table_ = std::move(next);
}

void MediaDirectory::set(const CardId& medium, const CardId& account) {
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<Table>(*table_);
  if (medium == account) next->erase(medium);
  else (*next)[medium] = account;
  table_ = std::move(next);
}

}  // namespace citycard::engine
