#include "ledger_access.h"

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "access_log.h"
#include "access_store.h"
#include "engine/groups/rule_store.h"
#include "ledger/readers.h"
#include "ledger_clerk.h"
#include "ledger_engine_client.h"
#include "ledger_support.h"
#include "rule_set_loader.h"
#include "usage_report_format.h"

namespace citycard::cli {
namespace {

using json = nlohmann::json;

rules::AccessLists stored_lists(const ledger::Ledger& ledger) {
  auto lists = engine::read_access_lists(*ledger.snapshot());
  if (!lists) fail(lists.status().message());
  return std::move(*lists);
}

// The newest installed rule set: the operators' kinds and the UTC offset.
std::shared_ptr<const rules::RuleSet> newest_rules(const ledger::Ledger& ledger) {
  auto installed = engine::installed_rules(ledger);
  if (!installed) fail(installed.status().message());
  if (installed->empty()) fail("this ledger holds no rule set yet: citycard-engine installs its configured rules_file when it first starts");
  return installed->back().installed.rules;
}

void print_lists(const CliContext& context, const json& lists) {
  if (context.json) {
    std::cout << lists.dump() << "\n";
    return;
  }
  for (const auto& role : lists["roles"]) {
    std::cout << fmt::format("role {}: {} card{}\n", role["name"].get<std::string>(), role["cards"].size(),
                             role["cards"].size() == 1 ? "" : "s");
    for (const auto& card : role["cards"]) std::cout << "  " << card.get<std::string>() << "\n";
  }
  for (const auto& group : lists["groups"]) {
    std::cout << fmt::format("door group {}: doors {}\n", group["name"].get<std::string>(),
                             fmt::join(group["doors"].get<std::vector<std::string>>(), ", "));
    for (const auto& admit : group["admit"]) std::cout << "  admits " << admit.get<std::string>() << "\n";
  }
  for (const auto& meeting : lists["meetings"]) {
    std::cout << fmt::format("meeting {}: room {}, sign-in {} to {} (local)\n", meeting["name"].get<std::string>(),
                             meeting["room"].get<std::string>(), meeting["from"].get<std::string>(),
                             meeting["to"].get<std::string>());
    for (const auto& who : meeting["invite"]) std::cout << "  invites " << who.get<std::string>() << "\n";
  }
}

void run_show(const CliContext& context) {
  require_clerk(context, ClerkAction::look_up);
  if (auto reply = engine_request(context, {{"op", "access_show"}})) {
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("the engine refused")));
    return print_lists(context, *reply);
  }
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  print_lists(context, engine::access_lists_json(stored_lists(*ledger)));
}

void run_change(const CliContext& context, const json& change) {
  if (auto reply = engine_request(context, with_reason(context, {{"op", "access_change"}, {"change", change}}))) {
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("the engine refused")) + "; nothing changed");
    if (context.json) {
      std::cout << reply->dump() << "\n";
    } else {
      std::cout << reply->value("detail", std::string()) << " (" << reply->value("ref", std::string()) << ")\n";
    }
    return;
  }
  const engine::OfficeActor actor = office_actor(context, ClerkAction::access_manage);
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_write);
  const auto rule_set = newest_rules(*ledger);
  auto readers = ledger::load_readers(*ledger);
  if (!readers) fail(readers.status().message());
  engine::AccessWorld world;
  world.rule_set = rule_set.get();
  world.reader_registered = [&](ReaderId id) {
    return std::any_of(readers->begin(), readers->end(), [&](const ReaderRecord& r) { return r.id == id; });
  };
  world.card_issued = [&](const CardId& card) { return ledger->card(card).has_value(); };
  auto plan = engine::plan_access_change(stored_lists(*ledger), change, world);
  if (!plan) fail(plan.status().message() + "; nothing changed");
  if (Status written = engine::write_access_change(*ledger, *plan, actor); !written) fail(written.message());
  if (context.json) {
    json out = engine::access_lists_json(plan->after);
    out["ok"] = true;
    out["action"] = plan->action;
    out["detail"] = plan->detail;
    out["ref"] = actor.key.to_string();
    std::cout << out.dump() << "\n";
  } else {
    std::cout << plan->detail << " (" << actor.key.to_string() << ")\n";
  }
}

struct ChangeOptions {
  std::string name;
  std::vector<std::string> items;   // cards, invitees (positional)
  std::vector<std::string> doors;
  std::vector<std::string> admits;
  std::vector<std::string> invite;
  std::string room;
  std::string from;
  std::string to;
};

struct LogOptions {
  std::string door;
  std::string day;
  std::string meeting;
  bool json = false;
  bool csv = false;
};

rules::LocalCalendar calendar_of(const rules::RuleSet& rule_set) {
  return rules::LocalCalendar(rule_set.utc_offset_minutes, rule_set.business_day_start_minutes);
}

void run_door_log(const CliContext& context, const LogOptions& options) {
  auto door = engine::parse_access_point(options.door);
  if (!door) fail("--door: " + door.status().message(), 2);
  auto day = rules::parse_date_days(options.day);
  if (!day) fail("--day " + options.day + " is not a date YYYY-MM-DD", 2);
  const bool json_out = options.json || context.json;
  if (json_out && options.csv) fail("--json and --csv: choose one", 2);
  require_clerk(context, ClerkAction::look_up);
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  auto taps = engine::read_door_log(*ledger->snapshot(), *door, *day);
  if (!taps) fail(taps.status().message());
  if (json_out) {
    json entries = json::array();
    for (const auto& record : *taps) entries.push_back(engine::access_tap_json(record));
    std::cout << json{{"door", options.door}, {"day", options.day}, {"taps", std::move(entries)}}.dump() << "\n";
    return;
  }
  if (options.csv) {
    std::cout << "time,card,outcome,reason,tap\r\n";
    for (const auto& record : *taps) {
      const json row = engine::access_tap_json(record);
      std::cout << fmt::format("{},{},{},{},{}\r\n", row["time"].get<std::string>(), record.tap.card.to_string(),
                               row["outcome"].get<std::string>(), row["reason"].get<std::string>(), row["tap"].get<std::string>());
    }
    return;
  }
  std::size_t refused = 0;
  for (const auto& record : *taps) refused += record.outcome != protocol::Outcome::approved;
  std::cout << fmt::format("door {} on {}: {} tap{}, {} refused\n", options.door, options.day, taps->size(),
                           taps->size() == 1 ? "" : "s", refused);
  for (const auto& record : *taps) {
    const json row = engine::access_tap_json(record);
    std::cout << fmt::format("{}  {:<32}  {:<8}  {}\n", row["time"].get<std::string>(),
                             (record.anonymised ? "token " : "") + record.tap.card.to_string(), row["outcome"].get<std::string>(),
                             record.outcome == protocol::Outcome::approved ? std::string() : row["reason"].get<std::string>());
  }
}

void run_attendance(const CliContext& context, const LogOptions& options) {
  if (!engine::access_name_valid(options.meeting)) fail("--meeting '" + options.meeting + "' is not a meeting name", 2);
  const bool json_out = options.json || context.json;
  if (json_out && options.csv) fail("--json and --csv: choose one", 2);
  require_clerk(context, ClerkAction::look_up);
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  const auto rule_set = newest_rules(*ledger);
  const auto snapshot = ledger->snapshot();
  auto lists = engine::read_access_lists(*snapshot);
  if (!lists) fail(lists.status().message());
  auto attendance = engine::read_attendance(*snapshot, *lists, options.meeting, calendar_of(*rule_set));
  if (!attendance) fail(attendance.status().message());
  const json out = engine::attendance_json(*attendance);
  if (json_out) {
    std::cout << out.dump() << "\n";
    return;
  }
  if (options.csv) {
    std::cout << "status,card,time,reason\r\n";
    for (const auto& row : out["signed_in"]) {
      std::cout << fmt::format("{},{},{},\r\n", row["invited"].get<bool>() ? "signed_in" : "signed_in_not_invited",
                               row["card"].get<std::string>(), row["first"].get<std::string>());
    }
    for (const auto& card : out["absent"]) std::cout << fmt::format("absent,{},,\r\n", card.get<std::string>());
    for (const auto& row : out["refused"]) {
      std::cout << fmt::format("refused,{},{},{}\r\n", row.value("card", row.value("token", std::string())),
                               row["time"].get<std::string>(), row["reason"].get<std::string>());
    }
    return;
  }
  std::cout << fmt::format("meeting {}: room {}, sign-in {} to {} (local)\n", options.meeting, out["room"].get<std::string>(),
                           out["from"].get<std::string>(), out["to"].get<std::string>());
  std::cout << fmt::format("signed in: {}\n", out["signed_in"].size());
  for (const auto& row : out["signed_in"]) {
    std::cout << fmt::format("  {}  {}{}\n", row["first"].get<std::string>(), row["card"].get<std::string>(),
                             row["invited"].get<bool>() ? "" : "  (not invited now)");
  }
  std::cout << fmt::format("not signed in: {}\n", out["absent"].size());
  for (const auto& card : out["absent"]) std::cout << "  " << card.get<std::string>() << "\n";
  std::cout << fmt::format("sign-ins refused: {}\n", out["refused"].size());
  for (const auto& row : out["refused"]) {
    std::cout << fmt::format("  {}  {}  {}\n", row["time"].get<std::string>(), row.value("card", row.value("token", std::string())),
                             row["reason"].get<std::string>());
  }
}

}  // namespace

void add_access_commands(CLI::App& app, CliContext& context) {
  CLI::App* access = app.add_subcommand("access", "Access lists of doors and meetings: roles, door groups, meetings (docs/access.md)");
  access->require_subcommand(1);
  access->add_subcommand("show", "Print every role, door group and meeting")->callback([&context] { run_show(context); });

  auto options = std::make_shared<ChangeOptions>();
  auto with_reason_option = [&context](CLI::App* command) { command->add_option("--reason", context.reason, "why, for the audit trail"); };

  CLI::App* role = access->add_subcommand("role", "Roles: named sets of cards (staff, volunteers, ...)");
  role->require_subcommand(1);
  CLI::App* role_add = role->add_subcommand("add", "Create a role, or add cards to it");
  role_add->add_option("NAME", options->name, "role name")->required();
  role_add->add_option("CARDS", options->items, "card ids (hex)")->required();
  with_reason_option(role_add);
  role_add->callback([&context, options] { run_change(context, {{"action", "role_add"}, {"name", options->name}, {"cards", options->items}}); });
  CLI::App* role_remove = role->add_subcommand("remove", "Remove cards from a role; without cards, the role");
  role_remove->add_option("NAME", options->name, "role name")->required();
  role_remove->add_option("CARDS", options->items, "card ids (hex)");
  with_reason_option(role_remove);
  role_remove->callback([&context, options] { run_change(context, {{"action", "role_remove"}, {"name", options->name}, {"cards", options->items}}); });

  CLI::App* group = access->add_subcommand("group", "Door groups: doors, and who they admit when");
  group->require_subcommand(1);
  CLI::App* group_add = group->add_subcommand("add", "Define a door group");
  group_add->add_option("NAME", options->name, "group name")->required();
  group_add->add_option("--door", options->doors, "OPERATOR/LOCATION of a door operator, or reader:ID (repeatable)")->required();
  group_add->add_option("--admit", options->admits,
                        "category:NAME, card:HEX or role:NAME, optionally @DAYS/HH:MM-HH:MM[,...] (repeatable)")->required();
  with_reason_option(group_add);
  group_add->callback([&context, options] {
    run_change(context, {{"action", "group_add"}, {"name", options->name}, {"doors", options->doors}, {"admit", options->admits}});
  });
  CLI::App* group_remove = group->add_subcommand("remove", "Remove a door group (its doors admit any active card again)");
  group_remove->add_option("NAME", options->name, "group name")->required();
  with_reason_option(group_remove);
  group_remove->callback([&context, options] { run_change(context, {{"action", "group_remove"}, {"name", options->name}}); });

  CLI::App* meeting = access->add_subcommand("meeting", "Meetings: a room, a sign-in window and invitees");
  meeting->require_subcommand(1);
  CLI::App* meeting_add = meeting->add_subcommand("add", "Define a meeting");
  meeting_add->add_option("NAME", options->name, "meeting name")->required();
  meeting_add->add_option("--room", options->room, "OPERATOR/LOCATION of a meeting operator, or reader:ID")->required();
  meeting_add->add_option("--from", options->from, "sign-in opens, local YYYY-MM-DDTHH:MM")->required();
  meeting_add->add_option("--to", options->to, "sign-in closes (exclusive), local YYYY-MM-DDTHH:MM")->required();
  meeting_add->add_option("--invite", options->invite, "card:HEX or role:NAME (repeatable)");
  with_reason_option(meeting_add);
  meeting_add->callback([&context, options] {
    run_change(context, {{"action", "meeting_add"}, {"name", options->name}, {"room", options->room}, {"from", options->from},
                         {"to", options->to}, {"invite", options->invite}});
  });
  CLI::App* meeting_remove = meeting->add_subcommand("remove", "Remove a meeting");
  meeting_remove->add_option("NAME", options->name, "meeting name")->required();
  with_reason_option(meeting_remove);
  meeting_remove->callback([&context, options] { run_change(context, {{"action", "meeting_remove"}, {"name", options->name}}); });

  for (const char* action : {"invite", "uninvite"}) {
    CLI::App* command = access->add_subcommand(action, std::string(action) == "invite" ? "Invite cards or roles to a meeting"
                                                                                     : "Take invitees off a meeting");
    command->add_option("MEETING", options->name, "meeting name")->required();
    command->add_option("WHO", options->items, "card:HEX or role:NAME")->required();
    with_reason_option(command);
    const std::string name = action;
    command->callback([&context, options, name] {
      run_change(context, {{"action", name}, {"name", options->name}, {"invite", options->items}});
    });
  }

  auto log = std::make_shared<LogOptions>();
  CLI::App* door_log = app.add_subcommand("door-log", "Every tap at one door on one business day (time, card, outcome, reason)");
  door_log->add_option("--door", log->door, "OPERATOR/LOCATION or reader:ID")->required();
  door_log->add_option("--day", log->day, "business day YYYY-MM-DD")->required();
  door_log->add_flag("--json", log->json, "JSON instead of a table");
  door_log->add_flag("--csv", log->csv, "CSV (RFC 4180, header row) instead of a table");
  door_log->callback([&context, log] { run_door_log(context, *log); });
  CLI::App* attendance = app.add_subcommand("attendance", "A meeting's invitees signed in (first time), not signed in, and sign-ins refused");
  attendance->add_option("--meeting", log->meeting, "meeting name")->required();
  attendance->add_flag("--json", log->json, "JSON instead of a table");
  attendance->add_flag("--csv", log->csv, "CSV (RFC 4180, header row) instead of a table");
  attendance->callback([&context, log] { run_attendance(context, *log); });
}

}  // namespace citycard::cli
