// Reader registry commands: which devices may send taps, for which operator,
// modes, place and amounts (docs/readers.md). While citycard-engine runs the
// changes go through its admin API (so taps are checked against them at
// once); on a stopped ledger the CLI writes them itself, planned by the same
// rules (rules::plan_reader_change).
#include <charconv>
#include <fstream>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ledger_clerk.h"
#include "admission.h"
#include "engine/core/reader_json.h"
#include "ledger/readers.h"
#include "ledger_engine_client.h"
#include "ledger_support.h"
#include "office_import.h"

namespace citycard::cli {
namespace {

using engine::reader_json;
using nlohmann::json;

struct ReaderOptions {
  std::uint32_t id = 0;
  std::uint32_t operator_id = 0;
  std::string modes;
  std::string kind;
  std::uint32_t route = 0;
  std::uint32_t location = 0;
  std::int64_t amount_max = 0;
  std::int64_t offline_max = 0;
  std::string ref;
  std::string file;
};

std::string modes_text(ModeSet modes) {
  std::string text;
  for (const auto& name : engine::modes_json(modes)) text += (text.empty() ? "" : ",") + name.get<std::string>();
  return text;
}

void print_reader(const CliContext& context, const ReaderRecord& reader, const std::string& what) {
  if (context.json) {
    std::cout << reader_json(reader).dump() << "\n";
    return;
  }
  std::cout << fmt::format("{}reader {}: {} of operator {}, modes {}, route {}, location {}, amount max {}, offline max {}/day, {}\n",
                           what, reader.id.value, reader_kind_name(reader.kind), reader.operator_id.value,
                           modes_text(reader.modes), reader.route == 0 ? std::string("any") : std::to_string(reader.route),
                           reader.location == 0 ? std::string("any") : std::to_string(reader.location),
                           reader.amount_max_minor == 0 ? std::string("rules") : std::to_string(reader.amount_max_minor),
                           reader.offline_max_minor, reader_status_name(reader.status));
}

ReaderRecord reader_or_fail(const json& reply) {
  if (!reply.value("ok", false)) fail(reply.value("error", std::string("the engine refused")));
  auto reader = engine::reader_from_json(reply);
  if (!reader) fail("the engine's reply: " + reader.status().message());
  return *reader;
}

IdempotencyKey key_or_fail(const std::string& ref) {
  if (ref.empty()) return fresh_operator_key();
  auto parsed = IdempotencyKey::parse(ref);
  if (!parsed || parsed->origin != Origin::operator_action) fail("'" + ref + "' is not a reference (op:SOURCE:NUMBER)", 2);
  return *parsed;
}

// The requested registration from the options; fails naming what is wrong.
ReaderRecord requested_or_fail(const ReaderOptions& o) {
  ReaderRecord reader;
  reader.id = ReaderId{o.id};
  reader.operator_id = OperatorId{o.operator_id};
  auto modes = engine::parse_modes(o.modes);
  if (!modes) fail(modes.status().message(), 2);
  reader.modes = *modes;
  if (o.kind.empty()) {
    auto kind = rules::default_kind_for(reader.modes);
    if (!kind) fail("no kind of reader sends all of " + o.modes + "; give --kind", 2);
    reader.kind = *kind;
  } else {
    auto kind = parse_reader_kind(o.kind);
    if (!kind) {
      fail("--kind '" + o.kind + "' is not one of bus_validator, metro_gate, bike_dock, venue_gate, identity_terminal, "
           "shop_terminal, parking_terminal, top_up_machine, office_desk", 2);
    }
    reader.kind = *kind;
  }
  reader.route = o.route;
  reader.location = o.location;
  reader.amount_max_minor = o.amount_max;
  reader.offline_max_minor = o.offline_max;
  if (Status valid = rules::validate_registration(reader); !valid) fail(valid.message(), 2);
  return reader;
}

json request_for(const std::string& op, const ReaderRecord& reader, const IdempotencyKey& key, bool with_kind) {
  json request = reader_json(reader);
  request.erase("status");
  if (!with_kind) request.erase("kind");
  request["op"] = op;
  request["ref"] = key.to_string();
  return request;
}

// On a stopped ledger: plan with the engine's rules and post one group.
ReaderRecord change_in_ledger(const Clerk& clerk, ledger::Ledger& ledger, rules::ReaderChangeKind kind, const ReaderRecord& requested,
                              const IdempotencyKey& key, bool* duplicate) {
  auto done = ledger.posted(key);
  if (!done) fail(done.status().message());
  if (done->has_value()) {  // a retry of a change already made
    *duplicate = true;
    auto stored = ledger::load_reader(ledger, requested.id);
    if (!stored) fail(stored.status().message());
    return *stored;
  }
  auto current = ledger::load_reader(ledger, requested.id);
  if (!current && current.status().code() != StatusCode::not_found) fail(current.status().message());
  std::optional<ReaderRecord> now;
  if (current) now = *current;
  bool operator_registered = ledger.operator_record(requested.operator_id).has_value();
  auto change = rules::plan_reader_change(kind, requested, now, operator_registered);
  if (!change) fail(change.status().message());
  ledger::PostingGroup group;
  group.key = key;
  group.records.push_back(ledger::reader_record_write(change->after));
  group.records.push_back(engine::audit_record(clerk_audit_entry(
      clerk, key,
      kind == rules::ReaderChangeKind::add ? "reader add" : "reader status", change->audit + " (engine stopped)")));
  auto posted = ledger.post({group});
  if (!posted) fail(posted.status().message());
  if (!posted->front().posted) fail(posted->front().reason.message());
  *duplicate = posted->front().duplicate;
  if (*duplicate) {
    auto stored = ledger::load_reader(ledger, requested.id);
    if (!stored) fail(stored.status().message());
    return *stored;
  }
  return change->after;
}

void run_add(const CliContext& context, const ReaderOptions& o) {
  ReaderRecord reader = requested_or_fail(o);
  IdempotencyKey key = key_or_fail(o.ref);
  if (auto reply = engine_request(context, request_for("reader_add", reader, key, true))) {
    bool duplicate = reply->value("duplicate", false);
    print_reader(context, reader_or_fail(*reply), duplicate ? "already done: " : "registered ");
    return;
  }
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_write);
  bool duplicate = false;
  ReaderRecord stored = change_in_ledger(require_clerk(context, ClerkAction::reader_manage), *ledger, rules::ReaderChangeKind::add, reader, key, &duplicate);
  print_reader(context, stored, duplicate ? "already done: " : "registered ");
}

void run_status(const CliContext& context, std::uint32_t id, ReaderStatus status, const std::string& ref) {
  if (id == 0) fail("reader id must be 1..4294967295", 2);
  IdempotencyKey key = key_or_fail(ref);
  ReaderRecord requested;
  requested.id = ReaderId{id};
  requested.status = status;
  const std::string op = status == ReaderStatus::suspended ? "reader_suspend"
                         : status == ReaderStatus::retired ? "reader_retire"
                                                           : "reader_activate";
  if (auto reply = engine_request(context, json{{"op", op}, {"id", id}, {"ref", key.to_string()}})) {
    print_reader(context, reader_or_fail(*reply), reply->value("duplicate", false) ? "already done: " : "");
    return;
  }
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_write);
  bool duplicate = false;
  ReaderRecord stored = change_in_ledger(require_clerk(context, ClerkAction::reader_manage), *ledger, rules::ReaderChangeKind::set_status, requested, key, &duplicate);
  print_reader(context, stored, duplicate ? "already done: " : "");
}

void run_show(const CliContext& context, std::uint32_t id) {
  require_clerk(context, ClerkAction::look_up);
  if (auto reply = engine_request(context, json{{"op", "reader_show"}, {"id", id}})) {
    print_reader(context, reader_or_fail(*reply), "");
    return;
  }
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  auto reader = ledger::load_reader(*ledger, ReaderId{id});
  if (!reader) fail(reader.status().message());
  print_reader(context, *reader, "");
}

void run_list(const CliContext& context) {
  require_clerk(context, ClerkAction::look_up);
  std::vector<ReaderRecord> readers;
  if (auto reply = engine_request(context, json{{"op", "reader_list"}})) {
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("the engine refused")));
    for (const auto& row : (*reply)["readers"]) {
      auto reader = engine::reader_from_json(row);
      if (!reader) fail("the engine's reply: " + reader.status().message());
      readers.push_back(*reader);
    }
  } else {
    auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
    auto loaded = ledger::load_readers(*ledger);
    if (!loaded) fail(loaded.status().message());
    readers = std::move(*loaded);
  }
  if (context.json) {
    json rows = json::array();
    for (const auto& reader : readers) rows.push_back(reader_json(reader));
    std::cout << json{{"readers", rows}}.dump() << "\n";
    return;
  }
  std::cout << fmt::format("{:>10}  {:>8}  {:<17}  {:<24}  {:>6}  {:>8}  {:>10}  {:>11}  {}\n", "reader", "operator", "kind",
                           "modes", "route", "location", "amount max", "offline/day", "status");
  for (const auto& reader : readers) {
    std::cout << fmt::format("{:>10}  {:>8}  {:<17}  {:<24}  {:>6}  {:>8}  {:>10}  {:>11}  {}\n", reader.id.value,
                             reader.operator_id.value, reader_kind_name(reader.kind), modes_text(reader.modes),
                             reader.route, reader.location, reader.amount_max_minor, reader.offline_max_minor,
                             reader_status_name(reader.status));
  }
  std::cout << readers.size() << " readers\n";
}

// reader,operator,kind,modes,route,location,amount_max,offline_max  (modes separated by ';')
void run_import(const CliContext& context, const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("cannot read " + path);
  std::vector<std::pair<std::size_t, ReaderRecord>> wanted;
  std::string line;
  std::size_t number = 0;
  std::vector<std::string> problems;
  while (std::getline(in, line)) {
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#' || line.rfind("reader,", 0) == 0) continue;
    auto reader = engine::parse_reader_row(engine::split_import_line(line));
    if (!reader) {
      problems.push_back(fmt::format("{}:{}: {}", path, number, reader.status().message()));
      continue;
    }
    wanted.emplace_back(number, *reader);
  }
  if (!problems.empty()) {
    for (std::size_t i = 0; i < problems.size() && i < 20; ++i) std::cerr << "citycard: " << problems[i] << "\n";
    fail(fmt::format("{} bad lines in {}; nothing was registered", problems.size(), path));
  }
  // What is registered already: a line equal to it is done, a different one is an error.
  std::map<std::uint32_t, ReaderRecord> registered;
  bool through_engine = false;
  if (auto reply = engine_request(context, json{{"op", "reader_list"}})) {
    through_engine = true;
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("the engine refused")));
    for (const auto& row : (*reply)["readers"]) {
      auto reader = engine::reader_from_json(row);
      if (!reader) fail("the engine's reply: " + reader.status().message());
      registered[reader->id.value] = *reader;
    }
  }
  std::unique_ptr<ledger::Ledger> ledger;
  if (!through_engine) {
    ledger = open_ledger_or_fail(context, LedgerAccess::read_write);
    auto loaded = ledger::load_readers(*ledger);
    if (!loaded) fail(loaded.status().message());
    for (const auto& reader : *loaded) registered[reader.id.value] = reader;
  }
  std::size_t added = 0, unchanged = 0;
  for (const auto& [line_number, reader] : wanted) {
    if (auto found = registered.find(reader.id.value); found != registered.end()) {
      ReaderRecord same = found->second;
      same.status = reader.status;
      if (same == reader) {
        ++unchanged;
        continue;
      }
      fail(fmt::format("{}:{}: reader {} is registered differently ({} of operator {}); change it by hand", path,
                       line_number, reader.id.value, reader_kind_name(found->second.kind), found->second.operator_id.value));
    }
  }
  for (const auto& [line_number, reader] : wanted) {
    if (registered.contains(reader.id.value)) continue;
    IdempotencyKey key = fresh_operator_key();
    if (through_engine) {
      auto reply = engine_request(context, request_for("reader_add", reader, key, true));
      if (!reply) fail("the engine stopped answering after " + std::to_string(added) + " readers; run the import again");
      if (!reply->value("ok", false)) fail(fmt::format("{}:{}: {}", path, line_number, reply->value("error", std::string())));
    } else {
      bool duplicate = false;
      change_in_ledger(require_clerk(context, ClerkAction::reader_manage), *ledger, rules::ReaderChangeKind::add, reader, key, &duplicate);
    }
    registered[reader.id.value] = reader;
    ++added;
  }
  std::cout << fmt::format("{} readers registered, {} already were ({})\n", added, unchanged,
                           through_engine ? "through the engine" : "engine stopped");
}

}  // namespace

void add_reader_commands(CLI::App& app, CliContext& context) {
  auto o = std::make_shared<ReaderOptions>();
  auto* readers = app.add_subcommand("reader", "register card readers and what each may send");
  readers->require_subcommand(1);

  auto* add = readers->add_subcommand("add", "register a reader: its operator, modes, place and amount bounds");
  add->add_option("--id", o->id, "reader id (its certificate names it)")->required();
  add->add_option("--operator", o->operator_id, "the operator it works for")->required();
  add->add_option("--modes", o->modes, "MODE[,MODE...]: what it sends (bus_board, metro_in, pay, top_up, ...)")->required();
  add->add_option("--kind", o->kind,
                  "bus_validator, metro_gate, bike_dock, venue_gate, identity_terminal, shop_terminal, "
                  "parking_terminal, top_up_machine, office_desk (default: from the modes)");
  add->add_option("--route", o->route, "the route or line it serves (default: any)");
  add->add_option("--location", o->location, "its stop, station, venue, shop or door (default: any, e.g. a bus)");
  add->add_option("--amount-max", o->amount_max, "most a pay or top_up tap may carry, TWD (default: the rule set's limits)");
  add->add_option("--offline-max", o->offline_max, "most it may charge offline per business day, TWD (default 0: none)");
  add->add_option("--ref", o->ref, "op:SOURCE:NUMBER, to retry safely");
  add->callback([&context, o] { run_add(context, *o); });

  readers->add_subcommand("list", "every registered reader")->callback([&context] { run_list(context); });
  auto* show = readers->add_subcommand("show", "one reader's registration");
  show->add_option("ID", o->id, "reader id")->required();
  show->callback([&context, o] { run_show(context, o->id); });

  for (auto [name, status, what] : {std::tuple{"suspend", ReaderStatus::suspended, "refuse its taps until activated"},
                                    std::tuple{"activate", ReaderStatus::active, "take a suspended reader back"},
                                    std::tuple{"retire", ReaderStatus::retired, "refuse its taps for good"}}) {
    auto* command = readers->add_subcommand(name, what);
    command->add_option("ID", o->id, "reader id")->required();
    command->add_option("--ref", o->ref, "op:SOURCE:NUMBER, to retry safely");
    command->callback([&context, o, status = status] { run_status(context, o->id, status, o->ref); });
  }

  auto* import = readers->add_subcommand("import", "register many readers from a CSV file");
  import->add_option("FILE", o->file, "reader,operator,kind,modes,route,location,amount_max,offline_max (modes split by ';')")
      ->required();
  import->callback([&context, o] { run_import(context, o->file); });
}

}  // namespace citycard::cli
