// The access lists in the running engine (admin ops access_show and
// access_change, docs/admin-api.md): a change is checked and planned by
// access_store.h (the same code `citycard access` runs on a stopped ledger),
// written to the ledger with its audit entry, and only then handed to the
// shards as a new immutable AccessBook (Engine::use_access), as the rule
// desk hands them a rule book. Changes are one at a time.
#pragma once

#include <mutex>

#include <nlohmann/json.hpp>

#include "access_store.h"
#include "engine.h"

namespace citycard::engine {

class AccessDesk {
 public:
  AccessDesk(Engine& engine, ledger::Ledger& ledger) : engine_(engine), ledger_(ledger) {}

  // The plan carried out, or why not (nothing written, the shards keep their book).
  Result<AccessPlan> change(const nlohmann::json& change, const OfficeActor& actor);
  // {"ok": true, "roles", "groups", "meetings"} (access_lists_json).
  nlohmann::json show() const;

 private:
  Engine& engine_;
  ledger::Ledger& ledger_;
  std::mutex mutex_;
};

}  // namespace citycard::engine
