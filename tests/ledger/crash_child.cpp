// Child of the crash test: posts batches forever and reports each batch on
// stdout only after post() returned, i.e. once it is durable. The parent
// kills it with SIGKILL at a random moment.
//
//   ledger_crash_child DIR FIRST_BATCH
#include <cstdio>
#include <cstdlib>
#include <string>

#include "crash_workload.h"
#include "ledger/ledger.h"
#include "ledger/system_accounts.h"

using namespace citycard;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: ledger_crash_child DIR FIRST_BATCH\n");
    return 2;
  }
  ledger::Options options;
  options.create_if_missing = true;
  // Small checkpoints, so kills also land in the middle of checkpoint passes.
  options.checkpoint_interval_transfers = 200;
  options.checkpoint_accounts_per_batch = 5;
  auto opened = ledger::Ledger::open(argv[1], options);
  if (!opened) {
    std::fprintf(stderr, "open: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  auto& ledger = **opened;
  auto setup = testing::crash_workload_setup(ledger);
  if (!setup) {
    std::fprintf(stderr, "setup: %s\n", setup.status().to_string().c_str());
    return 1;
  }
  for (std::uint64_t batch = std::strtoull(argv[2], nullptr, 10);; ++batch) {
    auto outcomes = ledger.post(testing::crash_workload_batch(*setup, batch));
    if (!outcomes) {
      std::fprintf(stderr, "post: %s\n", outcomes.status().to_string().c_str());
      return 1;
    }
    for (const auto& outcome : *outcomes) {
      if (!outcome.posted) {
        std::fprintf(stderr, "group rejected: %s\n", outcome.reason.to_string().c_str());
        return 1;
      }
    }
    std::printf("%llu\n", static_cast<unsigned long long>(batch));
    std::fflush(stdout);
  }
}
