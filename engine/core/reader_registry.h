// The reader registry as the engine serves it: the registrations taps are
// checked against (rules/admission.h), and what each reader has charged
// offline per business day.
//
// Threading: every call may come from any thread. table() is read once per
// submitted batch on the tap server's loop; put()/erase() happen when a
// registration change is durable (rare): copy on write, so a reader of the
// table never waits for a writer for longer than a pointer copy.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "citycard/reader.h"
#include "citycard/status.h"
#include "ledger/ledger.h"

namespace citycard::engine {

class ReaderRegistry {
 public:
  using Table = std::unordered_map<std::uint32_t, ReaderRecord>;

  explicit ReaderRegistry(const std::vector<ReaderRecord>& readers = {});

  std::shared_ptr<const Table> table() const;
  static const ReaderRecord* find(const Table& table, ReaderId reader);
  std::optional<ReaderRecord> find(ReaderId reader) const;
  void put(const ReaderRecord& reader);
  void erase(ReaderId reader);
  std::size_t size() const;

  // Offline money per reader and business day, summed over shards. Adds
  // amount when the total stays within limit and returns true; false (and
  // nothing added) otherwise.
  bool try_spend_offline(ReaderId reader, std::int32_t business_day, std::int64_t amount_minor, std::int64_t limit_minor);
  // Gives back what try_spend_offline took for a tap rated again.
  void give_back_offline(ReaderId reader, std::int32_t business_day, std::int64_t amount_minor);
  std::int64_t offline_spent(ReaderId reader, std::int32_t business_day) const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Table> table_;
  std::map<std::pair<std::uint32_t, std::int32_t>, std::int64_t> offline_;
};

// A shard's share of a reader's offline money of one business day, kept in
// RecordSpace::engine beside the groups that spend it:
//   key   := "offline/" reader:be32 business_day:be32 (days since 1970, offset) shard:u8
//   value := amount_minor:i64 (little endian)
ledger::RecordWrite offline_spent_record(ReaderId reader, std::int32_t business_day, std::size_t shard,
                                         std::int64_t amount_minor);
// Every shard's share, summed into `registry`, and each shard's own share
// (shard index -> (reader, day) -> amount). corruption names a bad record.
Result<std::vector<std::map<std::pair<std::uint32_t, std::int32_t>, std::int64_t>>> load_offline_spent(
    const ledger::Ledger& ledger, ReaderRegistry& registry, std::size_t shards);

}  // namespace citycard::engine
