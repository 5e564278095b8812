#include "rule_desk.h"

namespace citycard::engine {

Result<RulePlan> RuleDesk::load(const RuleFile& file, const OfficeActor& actor, EventTime now) {
  std::lock_guard lock(mutex_);
  const std::shared_ptr<const rules::RuleBook> book = engine_.rules();
  auto installed = installed_rules(ledger_);
  if (!installed) return installed.status();
  auto plan = plan_rule_load(*book, *installed, file, book->business_day(now), actor);
  if (!plan || plan->already_installed) return plan;
  if (Status written = install_rules(ledger_, *plan, actor); !written) return written;
  engine_.use_rules(std::make_shared<const rules::RuleBook>(book->with(plan->installed)));
  return plan;
}

nlohmann::json RuleDesk::show(EventTime now) const {
  const std::shared_ptr<const rules::RuleBook> book = engine_.rules();
  return rule_versions_json(*book, book->business_day(now));
}

}  // namespace citycard::engine
