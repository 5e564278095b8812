// The close's repricing as the running engine does it (engine/groups/
// repricing.h): planned on a snapshot with the engine's rule book, each
// correction posted through its account's shard like a card-office action,
// so the shards' mirrors of balances move with the ledger.
#pragma once

#include <cstdint>
#include <functional>

#include "engine.h"
#include "repricing.h"

namespace citycard::engine {

using Repricer = std::function<Result<RepriceOutcome>(std::int32_t business_day)>;

Repricer engine_repricer(Engine& engine, ledger::Ledger& ledger, ledger::SystemAccounts system);

}  // namespace citycard::engine
