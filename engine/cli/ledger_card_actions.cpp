#include "ledger_card_actions.h"

#include <cstdio>

#include "approvals.h"
#include "card_book.h"
#include "group_builder.h"
#include "ledger/system_accounts.h"
#include "ledger_clerk.h"
#include "ledger_support.h"
#include "log.h"
#include "media_directory.h"
#include "refusals.h"
#include "rule_store.h"

namespace citycard::cli {

IdempotencyKey reference_or_fresh(const std::string& ref) {
  if (ref.empty()) return fresh_operator_key();
  auto parsed = IdempotencyKey::parse(ref);
  if (!parsed || parsed->origin != Origin::operator_action) fail("'" + ref + "' is not a reference (op:SOURCE:NUMBER)", 2);
  return *parsed;
}

namespace {

ClerkAction clerk_action_of(engine::AdminAction action) {
  switch (action) {
    case engine::AdminAction::top_up: return ClerkAction::top_up;
    case engine::AdminAction::refund: return ClerkAction::refund;
    case engine::AdminAction::adjust: return ClerkAction::adjust;
    case engine::AdminAction::set_status:
    case engine::AdminAction::set_auto_top_up: return ClerkAction::card_status;
    case engine::AdminAction::replace: return ClerkAction::replace;
    case engine::AdminAction::set_category: return ClerkAction::card_issue;
    case engine::AdminAction::reader_add:
    case engine::AdminAction::reader_status: return ClerkAction::reader_manage;
    case engine::AdminAction::approve:
    case engine::AdminAction::reject: return ClerkAction::approve;
    case engine::AdminAction::link:
    case engine::AdminAction::unlink: return ClerkAction::card_link;
    case engine::AdminAction::merge: return ClerkAction::card_merge;
    case engine::AdminAction::record_refusal:
    case engine::AdminAction::reprice: break;
  }
  return ClerkAction::reader_manage;
}

// Posts a refused request's audit entry (refusals.h), then fails with why it
// was refused; a ledger that cannot take the entry is said too.
[[noreturn]] void refused(ledger::Ledger& ledger, const engine::Draft& draft) {
  const std::string why = draft.admin_result().status.message();
  if (engine::records_refusal(draft.group)) {
    auto posted = ledger.post({draft.group});
    if (!posted) fail(why + " (the refusal could not be recorded: " + posted.status().message() + ")");
    const ledger::GroupOutcome& outcome = posted->front();
    if (!outcome.posted && !outcome.duplicate) fail(why + " (the refusal could not be recorded: " + outcome.reason.message() + ")");
  }
  fail(why);
}

}  // namespace

struct CardActionsInLedger::Parts {
  explicit Parts(const CliContext& context)
      : ledger(open_ledger_or_fail(context, LedgerAccess::read_write)),
        system(system_or_fail(*ledger)),
        log(stderr),
        book(*ledger, log, /*cache_max=*/16, /*with_atc=*/false),
        directory(directory_or_fail(*ledger)),
        builder(engine::BuildContext{*ledger, system, installed_rules_or_fail(*ledger), log, nullptr, false, nullptr,
                                     context.four_eyes_minor, /*serves_deny_list=*/false, /*record_taps=*/true, &directory},
                book) {}
  // The ledger's installed rule sets, as the engine would rate by them
  // (set_auto_top_up checks against them); none installed: null.
  static std::shared_ptr<const rules::RuleBook> installed_rules_or_fail(const ledger::Ledger& ledger) {
    auto installed = engine::installed_rules(ledger);
    if (!installed) fail(installed.status().message());
    if (installed->empty()) return nullptr;
    std::vector<rules::InstalledRules> versions;
    for (const auto& plan : *installed) versions.push_back(plan.installed);
    return std::make_shared<const rules::RuleBook>(std::move(versions));
  }
  // The media of every account, as the engine holds them (one pass over the cards).
  static engine::MediaDirectory directory_or_fail(const ledger::Ledger& ledger) {
    auto media = engine::MediaDirectory::scan(ledger);
    if (!media) fail(media.status().message());
    return engine::MediaDirectory(std::move(*media));
  }
  // ensure, not find: a ledger last opened before a system account existed
  // (the city programmes' budgets) gets it here, as the engine's start does.
  static ledger::SystemAccounts system_or_fail(ledger::Ledger& ledger) {
    auto system = ledger::ensure_system_accounts(ledger);
    if (!system) fail(system.status().message());
    return *system;
  }
  std::unique_ptr<ledger::Ledger> ledger;
  ledger::SystemAccounts system;
  engine::Log log;
  engine::CardBook book;
  const engine::MediaDirectory directory;
  engine::GroupBuilder builder;
};

CardActionsInLedger::CardActionsInLedger(const CliContext& context)
    : context_(context), parts_(std::make_unique<Parts>(context)) {}
CardActionsInLedger::~CardActionsInLedger() = default;

engine::AdminResult card_action_in_ledger(const CliContext& context, engine::AdminCommand command) {
  return CardActionsInLedger(context).run(std::move(command));
}

engine::AdminResult CardActionsInLedger::run(engine::AdminCommand command) {
  const CliContext& context = context_;
  // The audit entry names the clerk, his role and reason, as the engine's
  // does; a role that may not is refused and recorded as the engine does.
  const Clerk& clerk = signed_in_clerk(context);
  command.operator_name = clerk.name;
  command.clerk_role = std::string(clerk_role_name(clerk.role));
  command.reason = context.reason;
  command.refusal = role_status(clerk, clerk_action_of(command.action));
  ledger::Ledger* ledger = parts_->ledger.get();
  engine::GroupBuilder& builder = parts_->builder;
  // A decision names the waiting request; its card is that request's.
  const bool decision = command.action == engine::AdminAction::approve || command.action == engine::AdminAction::reject;
  if (decision) {
    auto waiting = engine::load_approval(*ledger, command.key);
    if (!waiting) fail(waiting.status().message());
    if (waiting->has_value()) command.card = (*waiting)->card;
    // None waiting: the builder refuses it, and records that.
  }
  if (command.time.unix_us == 0) command.time = now();
  engine::Draft draft;
  draft.admin() = std::move(command);
  builder.card_action(draft);
  engine::AdminResult& result = draft.admin_result();
  if (!result.status) refused(*ledger, draft);
  if (result.duplicate) return result;
  auto posted = ledger->post({draft.group});
  if (!posted) fail(posted.status().message());
  const ledger::GroupOutcome& outcome = posted->front();
  if (outcome.duplicate) {
    if (Status retry = engine::GroupBuilder::check_retry(draft.admin(), outcome.outcome); !retry) fail(retry.message());
    result.duplicate = true;
  } else if (!outcome.posted) {
    fail(outcome.reason.message());
  }
  return result;
}

}  // namespace citycard::cli
