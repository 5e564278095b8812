// A small city on a real RocksDB ledger in a temporary directory, built
// through the ledger API: two operators, a few cards with money and points,
// settlement keys, and helpers to post taps and run the stock openssl command.
#pragma once

#include "citycard/programme.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/system_accounts.h"
#include "settlement/settlement.h"

namespace citycard::settlement::testing {

inline constexpr OperatorId bus{1};
inline constexpr OperatorId metro{2};

// "2024-03-05T08:15:00+08:00" -> EventTime; the test fails on a bad text.
EventTime at(const std::string& iso);
BusinessDay day(const std::string& text);

struct TapSpec {
  std::uint64_t reader_sequence = 0;
  std::size_t card = 0;        // index into City::cards
  OperatorId op = bus;
  std::string when;            // ISO time
  std::int64_t fare = 0;       // card wallet -> payable
  std::int64_t subsidy = 0;    // subsidy budget -> payable
  std::int64_t points = 0;     // card points -> points_redeemed, plus the same in TWD as points subsidy
  std::uint32_t reader = 17;
  Programme programme = Programme::unattributed;  // who pays `subsidy` (unattributed: a ledger before programmes)
};

class City {
 public:
  // `keys_from`: reuse another city's key directory (same signing and token keys).
  explicit City(const std::string& keys_from = "");
  ~City();

  ledger::Ledger& ledger() { return *ledger_; }
  Settlement settlement() { return Settlement(*ledger_, options); }
  // Posts one tap's group; REQUIREs that it posted.
  void tap(const TapSpec& spec);
  std::int64_t balance(AccountId account) const;

  std::filesystem::path root;
  Options options;
  ledger::SystemAccounts system;
  std::vector<CardRecord> cards;
  ledger::OperatorRecord bus_record;
  ledger::OperatorRecord metro_record;

 private:
  std::unique_ptr<ledger::Ledger> ledger_;
};

// The close's batch of `op` (the test fails when there is none).
const OperatorBatch& batch_of(const CloseSummary& summary, OperatorId op);
// Whether one of the report's problems contains `text`.
bool mentions(const ReconcileReport& report, const std::string& text);

std::string read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const std::string& bytes);
// Runs a shell command, returns its exit status; output goes to `output` when given.
int run(const std::string& command, std::string* output = nullptr);

}  // namespace citycard::settlement::testing
