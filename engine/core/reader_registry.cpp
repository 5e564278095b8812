#include "reader_registry.h"

#include "citycard/coding.h"

namespace citycard::engine {
namespace {

constexpr std::string_view offline_prefix = "offline/";
constexpr std::size_t offline_key_bytes = 8 + 4 + 4 + 1;

}  // namespace

ReaderRegistry::ReaderRegistry(const std::vector<ReaderRecord>& readers) {
  auto table = std::make_shared<Table>();
  for (const ReaderRecord& reader : readers) (*table)[reader.id.value] = reader;
  table_ = std::move(table);
}

std::shared_ptr<const ReaderRegistry::Table> ReaderRegistry::table() const {
  std::lock_guard lock(mutex_);
  return table_;
}

const ReaderRecord* ReaderRegistry::find(const Table& table, ReaderId reader) {
  auto found = table.find(reader.value);
  return found == table.end() ? nullptr : &found->second;
}

std::optional<ReaderRecord> ReaderRegistry::find(ReaderId reader) const {
  auto snapshot = table();
  const ReaderRecord* found = find(*snapshot, reader);
  if (found == nullptr) return std::nullopt;
  return *found;
}

void ReaderRegistry::put(const ReaderRecord& reader) {
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<Table>(*table_);
  (*next)[reader.id.value] = reader;
  table_ = std::move(next);
}

void ReaderRegistry::erase(ReaderId reader) {
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<Table>(*table_);
  next->erase(reader.value);
  table_ = std::move(next);
}

std::size_t ReaderRegistry::size() const { return table()->size(); }

bool ReaderRegistry::try_spend_offline(ReaderId reader, std::int32_t business_day, std::int64_t amount_minor,
                                       std::int64_t limit_minor) {
  std::lock_guard lock(mutex_);
  std::int64_t& spent = offline_[{reader.value, business_day}];
  if (amount_minor > limit_minor - spent) return false;
  spent += amount_minor;
  return true;
}

void ReaderRegistry::give_back_offline(ReaderId reader, std::int32_t business_day, std::int64_t amount_minor) {
  std::lock_guard lock(mutex_);
  std::int64_t& spent = offline_[{reader.value, business_day}];
  spent = spent > amount_minor ? spent - amount_minor : 0;
}

std::int64_t ReaderRegistry::offline_spent(ReaderId reader, std::int32_t business_day) const {
  std::lock_guard lock(mutex_);
  auto found = offline_.find({reader.value, business_day});
  return found == offline_.end() ? 0 : found->second;
}

ledger::RecordWrite offline_spent_record(ReaderId reader, std::int32_t business_day, std::size_t shard,
                                         std::int64_t amount_minor) {
  std::string key(offline_prefix);
  coding::put_be<std::uint32_t>(key, reader.value);
  coding::put_be<std::int32_t>(key, business_day);
  coding::put_u8(key, static_cast<std::uint8_t>(shard));
  std::string value;
  coding::put_le<std::int64_t>(value, amount_minor);
  return ledger::RecordWrite{ledger::RecordSpace::engine, std::move(key), std::move(value)};
}

Result<std::vector<std::map<std::pair<std::uint32_t, std::int32_t>, std::int64_t>>> load_offline_spent(
    const ledger::Ledger& ledger, ReaderRegistry& registry, std::size_t shards) {
  std::vector<std::map<std::pair<std::uint32_t, std::int32_t>, std::int64_t>> by_shard(shards);
  Status failure = Status::ok();
  auto snapshot = ledger.snapshot();
  Status scanned = snapshot->scan_records(ledger::RecordSpace::engine, offline_prefix,
                                          [&](std::string_view key, std::string_view value) {
    if (key.size() != offline_key_bytes || value.size() != 8) {
      failure = Status::corruption("engine record of a reader's offline money has " + std::to_string(key.size()) +
                                   "/" + std::to_string(value.size()) + " bytes");
      return false;
    }
    const ReaderId reader{coding::load_be<std::uint32_t>(key.data() + 8)};
    const auto day = coding::load_be<std::int32_t>(key.data() + 12);
    const std::size_t shard = static_cast<unsigned char>(key[16]);
    const auto amount = coding::load_le<std::int64_t>(value.data());
    // Shares of a shard that no longer exists count for the total only.
    if (shard < shards) by_shard[shard][{reader.value, day}] += amount;
    registry.try_spend_offline(reader, day, amount, INT64_MAX);
    return true;
  });
  if (!scanned) return scanned;
  if (!failure) return failure;
  return by_shard;
}

}  // namespace citycard::engine
