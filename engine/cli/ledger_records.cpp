#include "ledger_records.h"

#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ledger_clerk.h"
#include "ledger_engine_client.h"
#include "ledger_support.h"
#include "rule_set_loader.h"
#include "rule_store.h"
#include "tap_retention.h"
#include "tap_token.h"

namespace citycard::cli {
namespace {

using nlohmann::json;

struct RetainOptions {
  std::int32_t keep_days = 0;
  std::int32_t anonymise_after_days = 0;
  std::string token_key_file;
  std::string as_of;
};

// The business day a stopped ledger's retention counts back from: the
// ledger's rule book's day of now; the UTC date for a ledger with no rule
// set (only tests make one), which is at most a day behind the city's, so
// it keeps a day more, never less.
std::int32_t stopped_today(const ledger::Ledger& ledger) {
  const EventTime at = now();
  auto installed = engine::installed_rules(ledger);
  if (!installed) fail(installed.status().message());
  if (installed->empty()) return static_cast<std::int32_t>(at.unix_us / (86'400LL * 1'000'000));
  std::vector<rules::InstalledRules> versions;
  for (const auto& plan : *installed) versions.push_back(plan.installed);
  return rules::RuleBook(std::move(versions)).business_day(at);
}

// One call's counts added to the run's.
void add_counts(json& total, const json& call) {
  for (const char* field : {"records_read", "anonymised", "already_anonymised", "deleted", "writes"}) {
    total[field] = total.value(field, std::uint64_t{0}) + call.value(field, std::uint64_t{0});
  }
  for (const char* field : {"as_of", "delete_before", "anonymise_before"}) total[field] = call.value(field, json());
}

json run_on_engine(const CliContext& context, json request) {
  json total = json::object();
  for (;;) {
    auto reply = engine_request(context, request);
    if (!reply) fail("the engine stopped answering during the run; run it again to finish (it carries on where it is)");
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("the engine refused")));
    add_counts(total, *reply);
    const std::string next = reply->value("next_key", std::string());
    if (next.empty()) return total;
    request["from"] = next;
  }
}

json run_on_ledger(const CliContext& context, const RetainOptions& options) {
  engine::TapRetentionPolicy policy;
  policy.keep_days = options.keep_days;
  policy.anonymise_after_days = options.anonymise_after_days;
  if (!policy.any()) fail("give --keep-days and/or --anonymise-after-days (the engine's [records] keep_days, anonymise_after_days)", 2);
  if (Status valid = engine::check_tap_retention_policy(policy); !valid) fail(valid.message(), 2);
  std::optional<engine::TapTokenKey> key;
  if (policy.anonymise_after_days > 0) {
    if (options.token_key_file.empty()) fail("anonymising needs --token-key FILE (the engine's [records] token_key_file)", 2);
    auto loaded = engine::load_tap_token_key(options.token_key_file);
    if (!loaded) fail(loaded.status().message());
    key = *loaded;
  }
  const engine::OfficeActor actor = office_actor(context, ClerkAction::records_retain);
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_write);
  engine::TapRetentionRun run;
  run.today = stopped_today(*ledger);
  if (!options.as_of.empty()) {
    auto day = rules::parse_date_days(options.as_of);
    if (!day) fail("--as-of " + options.as_of + " is not a date YYYY-MM-DD", 2);
    if (*day > run.today) fail("--as-of " + options.as_of + " is after today's business day " + rules::format_date_days(run.today), 2);
    run.today = *day;
  }
  json total = json::object();
  for (;;) {
    engine::OfficeActor call_actor = actor;
    call_actor.key = fresh_operator_key();  // one audit entry per call that changed anything
    auto report = engine::apply_tap_retention(*ledger, policy, key ? &*key : nullptr, run, &call_actor);
    if (!report) fail(report.status().message());
    json call = engine::tap_retention_json(*report);
    call["as_of"] = rules::format_date_days(run.today);
    add_counts(total, call);
    if (report->next_key.empty()) return total;
    run.from = report->next_key;
  }
}

void run_retain(const CliContext& context, const RetainOptions& options) {
  const bool policy_given = options.keep_days != 0 || options.anonymise_after_days != 0 || !options.token_key_file.empty();
  json total = json::object();
  if (engine_request(context, {{"op", "ping"}})) {
    if (policy_given) {
      fail("the engine is running and applies its own [records] policy: leave out --keep-days, --anonymise-after-days "
           "and --token-key", 2);
    }
    json request = with_reason(context, {{"op", "records_retain"}});
    if (!options.as_of.empty()) request["as_of"] = options.as_of;
    total = run_on_engine(context, request);
  } else {
    total = run_on_ledger(context, options);
  }
  if (context.json) {
    std::cout << total.dump() << "\n";
    return;
  }
  auto date = [&](const char* field) {
    return total[field].is_string() ? "days before " + total[field].get<std::string>() : std::string("never");
  };
  std::cout << fmt::format("tap records as of {}: {} anonymised ({}), {} deleted ({}), {} already anonymised; {} "
                           "records read, {} writes\n",
                           total.value("as_of", std::string()), total.value("anonymised", std::uint64_t{0}),
                           date("anonymise_before"), total.value("deleted", std::uint64_t{0}), date("delete_before"),
                           total.value("already_anonymised", std::uint64_t{0}),
                           total.value("records_read", std::uint64_t{0}), total.value("writes", std::uint64_t{0}));
}

}  // namespace

void add_records_commands(CLI::App& app, CliContext& context) {
  auto* records = app.add_subcommand("records", "tap records: retention and the token key of anonymised records");
  records->require_subcommand(1);

  auto options = std::make_shared<RetainOptions>();
  auto* retain = records->add_subcommand(
      "retain", "anonymise and delete tap records past their retention (the engine's [records], or the flags when it is stopped)");
  retain->add_option("--keep-days", options->keep_days, "stopped ledger: delete records of days more than this before today")
      ->check(CLI::Range(1, engine::tap_retention_days_max));
  retain->add_option("--anonymise-after-days", options->anonymise_after_days,
                     "stopped ledger: replace the card by its token in records of days more than this before today")
      ->check(CLI::Range(1, engine::tap_retention_days_max));
  retain->add_option("--token-key", options->token_key_file, "stopped ledger: the token key file (the engine's [records] token_key_file)");
  retain->add_option("--as-of", options->as_of, "count the periods back from this business day (YYYY-MM-DD, not after today)");
  retain->callback([&context, options] { run_retain(context, *options); });

  // Owned by the callback, which outlives this function with the app.
  auto key_file = std::make_shared<std::string>();
  auto create = std::make_shared<bool>(false);
  auto* token_key = records->add_subcommand("token-key", "make the secret key of anonymised records' card tokens (once; never replaced)");
  token_key->add_option("--file", *key_file, "where ([records] token_key_file, default DATA/records-token.key)")->required();
  token_key->add_flag("--create", *create, "make a new key; refused if the file exists")->required();
  token_key->callback([key_file, create] {
    if (Status made = engine::create_tap_token_key(*key_file); !made) fail(made.message());
    std::cout << "token key written to " << *key_file << " (mode 0600); keep a copy where the ledger's backups are\n";
  });
}

}  // namespace citycard::cli
