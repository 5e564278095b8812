// The crash test's workload, shared by the child that posts it and the test
// that checks what survived.
#pragma once

#include <vector>

#include "ledger/ledger.h"
#include "ledger/system_accounts.h"

namespace citycard::testing {

inline constexpr std::size_t crash_cards = 64;
inline constexpr std::size_t crash_groups_per_batch = 8;
inline constexpr std::uint32_t crash_reader = 1;

struct CrashWorkload {
  ledger::SystemAccounts system;
  ledger::OperatorRecord bus;
  std::vector<AccountId> wallets;
};

// Idempotent: safe to rerun after a kill at any point.
Result<CrashWorkload> crash_workload_setup(ledger::Ledger& ledger);
// Batch b: groups keyed tap:1:(b * groups + g), each a fare and a subsidy.
std::vector<ledger::PostingGroup> crash_workload_batch(const CrashWorkload& workload, std::uint64_t batch);

}  // namespace citycard::testing
