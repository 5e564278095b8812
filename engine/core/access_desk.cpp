#include "access_desk.h"

namespace citycard::engine {

Result<AccessPlan> AccessDesk::change(const nlohmann::json& change, const OfficeActor& actor) {
  std::lock_guard lock(mutex_);
  const std::shared_ptr<const rules::AccessBook> book = engine_.access();
  const std::shared_ptr<const rules::RuleBook> rule_book = engine_.rules();
  const auto registry = engine_.readers().table();
  AccessWorld world;
  world.rule_set = rule_book->newest().rules.get();
  world.reader_registered = [&registry](ReaderId reader) { return ReaderRegistry::find(*registry, reader) != nullptr; };
  world.card_issued = [this](const CardId& card) { return ledger_.card(card).has_value(); };
  auto plan = plan_access_change(book->lists(), change, world);
  if (!plan) return plan;
  if (Status written = write_access_change(ledger_, *plan, actor); !written) return written;
  engine_.use_access(std::make_shared<const rules::AccessBook>(plan->after));
  return plan;
}

nlohmann::json AccessDesk::show() const {
  nlohmann::json answer = access_lists_json(engine_.access()->lists());
  answer["ok"] = true;
  return answer;
}

}  // namespace citycard::engine
