// The simulated city at the start of a run: a real ledger with the system
// accounts, the rule set's operators, registered readers and issued,
// topped-up cards, made with the ledger's own API and closed cleanly (so all
// of it is synced before the simulated disk starts counting), and the
// settlement keys. Everything is drawn from the run's seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citycard/card.h"
#include "citycard/reader.h"
#include "citycard/status.h"
#include "ledger/ledger.h"
#include "readers/loadgen/random.h"
#include "rule_set.h"

namespace citycard::sim {

struct SimReader {
  ReaderId id;
  OperatorId operator_id;
  ReaderKind kind = ReaderKind::bus_validator;
  bool offline = false;  // out of coverage: admits riders itself, queues taps in its journal
};

struct CityPlan {
  std::vector<CardId> cards;
  std::vector<SimReader> readers;
};

// The ledger options of every open in the simulation: small buffers, and no
// background compactions (no RocksDB thread writes beside the steps).
ledger::Options sim_ledger_options();

// Makes the ledger at `ledger_dir` and the settlement keys in `key_dir`.
Result<CityPlan> build_city(const std::string& ledger_dir, const std::string& key_dir, const rules::RuleSet& rules,
                            loadgen::Random& random);

}  // namespace citycard::sim
