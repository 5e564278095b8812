// Rule set versions loaded into the running engine (admin ops rules_load and
// rules_show, docs/admin-api.md): the file is checked against the engine's
// book on the business day of `now`, written to the ledger with its audit
// entry (engine/groups/rule_store.h), and only then handed to the shards,
// which rate each tap by the version of its own business day. Loads are one
// at a time.
#pragma once

#include <mutex>

#include <nlohmann/json.hpp>

#include "engine.h"
#include "rule_store.h"

namespace citycard::engine {

class RuleDesk {
 public:
  RuleDesk(Engine& engine, ledger::Ledger& ledger) : engine_(engine), ledger_(ledger) {}

  // The version installed (or found installed with the same text: a retry),
  // or why not, with every problem of the file.
  Result<RulePlan> load(const RuleFile& file, const OfficeActor& actor, EventTime now);
  // {"ok", "today", "versions": [...]} (rule_store.h: rule_versions_json).
  nlohmann::json show(EventTime now) const;

 private:
  Engine& engine_;
  ledger::Ledger& ledger_;
  std::mutex mutex_;
};

}  // namespace citycard::engine
