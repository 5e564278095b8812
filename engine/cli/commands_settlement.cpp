// `citycard settle ...`: the business-day close and what follows it.
//
//   settle keygen                         make the signing and token keys
//   settle close --day D [--at TIME]      close a business day, write and sign its files
//
// close, ack and resend go through a running engine's admin API (it holds
// the ledger; settlement_desk.h runs them on its ledger while taps flow) and
// open the ledger themselves when no engine answers: the same settlement
// code, the same files. The reads (verify, list, show, regenerate) open the
// ledger read-only, which works beside a running engine. The business day
// (close time, UTC offset) is the rule set's: the engine's own, or --rules
// on a stopped ledger.
//   settle regenerate --day D             rewrite a closed day's files (byte-identical)
//   settle resend --day D --operator N    resend a rejected batch under the next sequence
//   settle ack FILE                       ingest a clearing-house acknowledgement
//   settle verify --day D                 files against ledger, per operator and in total
//   settle list [--day D]                 batches and their states
//   settle show --day D [--operator N]    one day's batches in detail, held lines included
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "citycard/programme.h"
#include "commands.h"
#include "engine/groups/repricing.h"
#include "engine/groups/rule_store.h"
#include "engine/groups/settle_audit.h"
#include "ledger/system_accounts.h"
#include "ledger_clerk.h"
#include "ledger/ledger.h"
#include "ledger_engine_client.h"
#include "ledger_support.h"
#include "rule_set_loader.h"
#include "settlement/ack.h"
#include "settlement/keys.h"
#include "settlement/settlement.h"
#include "settlement/summary_json.h"

namespace citycard::cli {
namespace {

namespace st = citycard::settlement;

struct SettleOptions {
  std::string out_dir = "./var/settlement";
  std::string key_dir = "./var/settlement-keys";
  // The business day of a close on a stopped ledger comes from this rule set
  // (utc_offset, business_day_start); a running engine uses its own.
  std::string rules_file = "rules/city.toml";
  // Gone: the rule set is the one source of the business day. Still parsed,
  // so passing one is an error that says where the setting went.
  std::string close_time;
  std::string utc_offset;
  std::string day;
  std::string at;
  std::uint32_t operator_id = 0;
  std::string ack_file;
};

std::unique_ptr<ledger::Ledger> open_or_fail(const CliContext& context, bool read_only) {
  ledger::Options options;
  options.read_only = read_only;
  auto opened = ledger::Ledger::open(context.db_path, options);
  if (!opened) fail("cannot open the ledger at " + context.db_path + ": " + opened.status().to_string());
  tell_upgrade(**opened, context.db_path);
  return std::move(opened.value());
}

void refuse_business_day_flags_or_fail(const SettleOptions& o) {
  if (!o.close_time.empty() || !o.utc_offset.empty())
    fail(std::string(!o.close_time.empty() ? "--close-time" : "--utc-offset") +
             " is no longer accepted: the business day (close time, UTC offset) comes from the rule set only "
             "(business_day_start and utc_offset in " + o.rules_file + ")",
         2);
}

st::Options settlement_options_or_fail(const SettleOptions& o) {
  refuse_business_day_flags_or_fail(o);
  st::Options options;
  options.out_dir = o.out_dir;
  options.key_dir = o.key_dir;
  return options;
}

// A close on a stopped ledger: the business day of the rule set.
st::DayConfig business_day_of_rules_or_fail(const SettleOptions& o) {
  auto rule_set = rules::load_rule_set(o.rules_file);
  if (!rule_set) fail("cannot read the business day from " + o.rules_file + ": " + rule_set.status().to_string());
  st::DayConfig day;
  day.utc_offset_minutes = rule_set->utc_offset_minutes;
  day.close_minute_of_day = rule_set->business_day_start_minutes;
  if (Status s = day.validate(); !s) fail(o.rules_file + ": " + s.message());
  return day;
}

std::string absolute_path(const std::string& path) {
  return std::filesystem::absolute(path).lexically_normal().string();
}

// A settle_* request for the engine: the paths as the engine must read them.
nlohmann::json engine_settle_request(const char* op, const SettleOptions& o) {
  return nlohmann::json{{"op", op}, {"out_dir", absolute_path(o.out_dir)}, {"key_dir", absolute_path(o.key_dir)}};
}

st::BusinessDay day_or_fail(const std::string& text) {
  auto day = st::BusinessDay::parse(text);
  if (!day) fail("bad business day '" + text + "' (expected YYYY-MM-DD)");
  return *day;
}

// A progress bar on stderr, drawn only when stderr is a terminal.
st::Progress progress_bar(const char* what) {
  if (!::isatty(STDERR_FILENO)) return {};
  return [what](std::uint64_t done, std::uint64_t total) {
    constexpr int width = 40;
    const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
    const int filled = static_cast<int>(fraction * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r%s [%s] %3d%% %llu/%llu transfers", what, bar.c_str(), static_cast<int>(fraction * 100),
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
    if (done >= total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

using st::batch_json;
using st::totals_json;

void print_table(const nlohmann::json& batches, const nlohmann::json& total) {
  const auto row = [](const std::string& who, const nlohmann::json& t) {
    std::cout << fmt::format("{:<28} {:>10} {:>6} {:>14} {:>14} {:>10} {:>10} {:>15}\n", who, t.at("lines").get<std::uint64_t>(),
                             t.at("late_lines").get<std::uint64_t>(), t.at("rider_fare").get<std::int64_t>(),
                             t.at("city_subsidy").get<std::int64_t>() + t.at("points_subsidy").get<std::int64_t>(),
                             t.at("points_redeemed").get<std::int64_t>(), t.at("other").get<std::int64_t>(),
                             t.at("total").get<std::int64_t>());
  };
  std::cout << fmt::format("{:<28} {:>10} {:>6} {:>14} {:>14} {:>10} {:>10} {:>15}\n", "operator", "taps", "late",
                           "rider fares", "subsidies", "points", "other", "total TWD");
  for (const auto& batch : batches)
    row(fmt::format("{} {}", batch.at("operator").get<std::uint32_t>(), batch.at("name").get<std::string>().substr(0, 20)),
        batch.at("totals"));
  row("all operators", total);
}

// "category_fare 3, buy_one_get_one 12" in programme order (the files'
// order), from totals_json's "programmes"; "none" when no programme paid.
std::string programmes_text(const nlohmann::json& totals) {
  const nlohmann::json programmes = totals.value("programmes", nlohmann::json::object());
  std::string text;
  for (Programme programme : all_programmes()) {
    const std::string name(programme_name(programme));
    if (!programmes.contains(name)) continue;
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", name, programmes.at(name).get<std::int64_t>());
  }
  return text.empty() ? "none" : text;
}

// A close's summary (settlement/summary_json.h), from the engine or from a
// close on the ledger: printed the same way.
void print_close(const CliContext& context, nlohmann::json summary) {
  for (const char* engine_field : {"ok", "job", "state"}) summary.erase(engine_field);
  if (context.json) {
    std::cout << summary.dump(2) << "\n";
    return;
  }
  const bool already_closed = summary.at("already_closed").get<bool>();
  std::cout << "business day " << summary.at("day").get<std::string>()
            << (already_closed ? " (already closed; nothing changed)" : " closed") << ": ledger sequences "
            << summary.at("from_sequence").get<std::uint64_t>() << ".." << summary.at("to_sequence").get<std::uint64_t>()
            << ", " << summary.at("transfers_scanned").get<std::uint64_t>() << " transfers scanned\n";
  if (summary.contains("repricing")) std::cout << summary.at("repricing").at("summary").get<std::string>() << "\n";
  print_table(summary.at("batches"), summary.at("total"));
  std::cout << "subsidies by city programme (all operators, TWD): " << programmes_text(summary.at("total")) << "\n";
  if (summary.contains("issuer")) {
    const auto& issuer = summary.at("issuer");
    std::cout << "issuer file " << issuer.at("file").get<std::string>() << ": " << issuer.at("lines").get<std::uint64_t>()
              << " auto top-ups, " << issuer.at("auto_top_up_minor").get<std::int64_t>()
              << " TWD owed by the co-branded card issuer\n";
  }
  std::cout << "files in " << summary.at("out_dir").get<std::string>() << "\n";
}

// Waits for a settlement job the engine started (settle_job, every 200 ms),
// drawing its progress; its result, or fail() with its error.
nlohmann::json await_engine_job(const CliContext& context, const nlohmann::json& started, const st::Progress& progress) {
  if (!started.value("ok", false)) fail(started.value("error", std::string("the engine refused")));
  const std::uint64_t job = started.value("job", std::uint64_t{0});
  std::uint64_t last_total = 0;
  for (;;) {
    auto state = engine_request(context, nlohmann::json{{"op", "settle_job"}, {"job", job}});
    if (!state)
      fail("the engine stopped answering while settlement job " + std::to_string(job) +
           " ran; `citycard settle list` shows whether it finished");
    if (!state->value("ok", false)) fail(state->value("error", std::string("the engine refused")));
    if (state->value("state", std::string()) != "running") {
      if (progress && last_total > 0) progress(last_total, last_total);  // ends the bar's line
      return *state;
    }
    const auto total = state->value("total", std::uint64_t{0});
    last_total = total;
    if (progress && total > 0) progress(std::min(state->value("done", std::uint64_t{0}), total - 1), total);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void run_keygen(const SettleOptions& o) {
  if (Status s = st::generate_keys(o.key_dir); !s) fail(s.message());
  std::cout << "keys written to " << o.key_dir << " (settlement.key, settlement.pub, token.key); give settlement.pub to the clearing house\n";
}

EventTime close_time_or_fail(const SettleOptions& o) {
  if (o.at.empty()) {
    // The CLI is where the clock enters: the library takes the close's time as a value.
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return EventTime{std::chrono::duration_cast<std::chrono::microseconds>(now).count()};
  }
  auto at = st::parse_time(o.at);
  if (!at) fail(at.status().message());
  return at.value();
}

// On a stopped ledger the CLI writes the request's audit entry as the
// engine's desk does (engine/groups/settle_audit.h): a clerk whose role may
// not is refused here, recorded, as the engine refuses and records him.
engine::SettleAudit settle_audit_or_fail(const CliContext& context, ledger::Ledger& ledger, std::string action,
                                         std::string asked) {
  engine::SettleAudit audit(signed_actor(context), std::move(action), std::move(asked));
  Status allowed = role_status(signed_in_clerk(context), ClerkAction::settle_close);
  if (!allowed) {
    Status written = audit.finish(ledger, allowed, {});
    fail(allowed.message() + (written ? "" : " (the refusal was not recorded: " + written.message() + ")"));
  }
  return audit;
}

// Then the entry of what the request did, and how it went.
template <typename T>
const T& audited_or_fail(ledger::Ledger& ledger, const engine::SettleAudit& audit, const Result<T>& outcome,
                         const std::string& unchanged = {}) {
  Status written = audit.finish(ledger, outcome.status(), unchanged);
  if (!outcome) fail(outcome.status().to_string() + (written ? "" : " (its audit entry was not written: " + written.message() + ")"));
  if (!written) fail("done, but its audit entry was not written: " + written.message());
  return outcome.value();
}

void run_close(const CliContext& context, const SettleOptions& o) {
  auto options = settlement_options_or_fail(o);
  const st::BusinessDay day = day_or_fail(o.day);
  auto request = engine_settle_request("settle_close", o);
  request["day"] = day.to_string();
  if (!o.at.empty()) {
    close_time_or_fail(o);  // a bad --at fails here, the same way as without an engine
    request["at"] = o.at;
  }
  if (auto started = engine_request(context, request)) {
    print_close(context, await_engine_job(context, *started, progress_bar("closing")));
    return;
  }
  options.day = business_day_of_rules_or_fail(o);
  auto ledger = open_or_fail(context, false);
  const engine::SettleAudit audit = settle_audit_or_fail(context, *ledger, "settle close", "close of " + day.to_string());
  options.records_with = audit.hook();
  // Repriced as the engine would (engine/groups/repricing.h), with the
  // ledger's installed rule sets; a ledger without any has rated no tap.
  std::optional<engine::RepriceOutcome> repriced;
  auto installed = engine::installed_rules(*ledger);
  if (!installed) fail(installed.status().message());
  std::optional<rules::RuleBook> book;
  if (!installed->empty()) {
    std::vector<rules::InstalledRules> versions;
    for (const auto& plan : *installed) versions.push_back(plan.installed);
    book.emplace(std::move(versions));
    auto system = ledger::ensure_system_accounts(*ledger);
    if (!system) fail(system.status().message());
    ledger::Ledger& writable = *ledger;
    options.before_close = engine::repricing_before_close(
        [&writable, &book, system = *system](std::int32_t business_day) {
          return engine::reprice_day(writable, *book, system, business_day, [&](std::vector<engine::AdminCommand> corrections) {
            return engine::post_corrections_in_ledger(writable, system, std::move(corrections));
          });
        },
        repriced);
  }
  st::Settlement settlement(*ledger, options);
  auto summary = settlement.close(day, close_time_or_fail(o), progress_bar("closing"));
  const auto& closed =
      audited_or_fail(*ledger, audit, summary, "business day " + day.to_string() + " was closed before; nothing changed");
  nlohmann::json reply = st::close_json(closed, options.out_dir);
  if (repriced) reply["repricing"] = engine::repricing_json(*repriced);
  print_close(context, reply);
}

void run_regenerate(const CliContext& context, const SettleOptions& o) {
  require_clerk(context, ClerkAction::settle_close);
  auto options = settlement_options_or_fail(o);
  auto ledger = open_or_fail(context, true);
  st::Settlement settlement(*ledger, options);
  auto summary = settlement.regenerate(day_or_fail(o.day), progress_bar("regenerating"));
  if (!summary) fail(summary.status().to_string());
  print_close(context, st::close_json(summary.value(), options.out_dir));
}

void print_resend(const CliContext& context, nlohmann::json batch) {
  for (const char* engine_field : {"ok", "job", "state"}) batch.erase(engine_field);
  if (context.json) std::cout << batch.dump(2) << "\n";
  else
    std::cout << "resent as " << batch.at("path").get<std::string>() << " (sequence " << batch.at("sequence").get<std::uint32_t>()
              << ", " << batch.at("totals").at("lines").get<std::uint64_t>() << " lines)\n";
}

void run_resend(const CliContext& context, const SettleOptions& o) {
  auto options = settlement_options_or_fail(o);
  const st::BusinessDay day = day_or_fail(o.day);
  auto request = engine_settle_request("settle_resend", o);
  request["day"] = day.to_string();
  request["operator"] = o.operator_id;
  if (auto started = engine_request(context, request)) {
    print_resend(context, await_engine_job(context, *started, {}));
    return;
  }
  auto ledger = open_or_fail(context, false);
  const engine::SettleAudit audit = settle_audit_or_fail(context, *ledger, "settle resend",
                                                         "resend of " + day.to_string() + " for operator " + std::to_string(o.operator_id));
  options.records_with = audit.hook();
  st::Settlement settlement(*ledger, options);
  auto batch = settlement.resend(day, OperatorId{o.operator_id});
  print_resend(context, st::resend_json(audited_or_fail(*ledger, audit, batch)));
}

void print_ack(const CliContext& context, nlohmann::json outcome) {
  for (const char* engine_field : {"ok", "job", "state"}) outcome.erase(engine_field);
  if (context.json) {
    std::cout << outcome.dump(2) << "\n";
    return;
  }
  const std::string file = outcome.at("file").get<std::string>();
  const std::uint32_t operator_id = outcome.at("operator").get<std::uint32_t>();
  if (outcome.at("state").get<std::string>() == st::batch_state_name(st::BatchState::accepted))
    std::cout << file << " accepted: " << outcome.at("totals").at("total").get<std::int64_t>()
              << " TWD moved from payable to settled for operator " << operator_id << "\n";
  else
    std::cout << file << " rejected (" << outcome.at("note").get<std::string>() << "); "
              << outcome.at("lines_held").get<std::size_t>() << " lines held back; `settle resend --day "
              << outcome.at("day").get<std::string>() << " --operator " << operator_id << "` writes sequence "
              << outcome.at("sequence").get<std::uint32_t>() + 1 << "\n";
}

void run_ack(const CliContext& context, const SettleOptions& o) {
  auto options = settlement_options_or_fail(o);
  auto request = engine_settle_request("settle_ack", o);
  request["file"] = absolute_path(o.ack_file);
  if (auto started = engine_request(context, request)) {
    print_ack(context, await_engine_job(context, *started, {}));
    return;
  }
  auto ledger = open_or_fail(context, false);
  const engine::SettleAudit audit =
      settle_audit_or_fail(context, *ledger, "settle ack", "acknowledgement " + absolute_path(o.ack_file));
  options.records_with = audit.hook();
  st::Settlement settlement(*ledger, options);
  auto outcome = settlement.ingest_ack(o.ack_file);
  print_ack(context, st::ack_json(audited_or_fail(*ledger, audit, outcome)));
}

void run_verify(const CliContext& context, const SettleOptions& o) {
  auto options = settlement_options_or_fail(o);
  auto ledger = open_or_fail(context, true);
  st::Settlement settlement(*ledger, options);
  auto report = settlement.verify(day_or_fail(o.day));
  if (!report) fail(report.status().to_string());
  if (context.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : report->rows)
      rows.push_back({{"operator", row.operator_id.value}, {"file", row.file_name},
                      {"file_totals", row.file ? totals_json(*row.file) : nlohmann::json()},
                      {"ledger_totals", totals_json(row.ledger)}, {"problems", row.problems}});
    std::cout << nlohmann::json{{"day", report->day.to_string()}, {"ok", report->ok()}, {"rows", rows},
                                {"file_total", totals_json(report->file_total)},
                                {"ledger_total", totals_json(report->ledger_total)}, {"problems", report->problems}}
                     .dump(2)
              << "\n";
  } else {
    for (const auto& row : report->rows)
      std::cout << fmt::format("{:<34} file {:>15} ledger {:>15}  {}\n", row.file_name,
                               row.file ? std::to_string(row.file->total_minor) : std::string("-"), row.ledger.total_minor,
                               row.problems.empty() ? "ok" : "MISMATCH");
    std::cout << fmt::format("{:<34} file {:>15} ledger {:>15}\n", "day total", report->file_total.total_minor,
                             report->ledger_total.total_minor);
    for (const auto& problem : report->problems) std::cout << "problem: " << problem << "\n";
  }
  if (!report->ok()) fail(std::to_string(report->problems.size()) + " reconciliation problem(s) on " + report->day.to_string(), 3);
  if (!context.json) std::cout << "settlement of " << report->day.to_string() << " reconciles with the ledger\n";
}

void run_list(const CliContext& context, const SettleOptions& o) {
  auto options = settlement_options_or_fail(o);
  auto ledger = open_or_fail(context, true);
  st::Settlement settlement(*ledger, options);
  std::optional<st::BusinessDay> day;
  if (!o.day.empty()) day = day_or_fail(o.day);
  auto batches = settlement.batches(day);
  if (!batches) fail(batches.status().to_string());
  if (context.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& b : batches.value()) list.push_back(batch_json(b));
    std::cout << list.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{:<10} {:>8} {:<20} {:>3} {:<9} {:>10} {:>15}\n", "day", "operator", "name", "seq", "state", "taps", "total TWD");
  for (const auto& b : batches.value())
    std::cout << fmt::format("{:<10} {:>8} {:<20} {:>3} {:<9} {:>10} {:>15}\n", b.day.to_string(), b.operator_id.value,
                             b.operator_name.substr(0, 20), b.sequence, st::batch_state_name(b.state), b.totals.lines,
                             b.totals.total_minor);
}

void run_show(const CliContext& context, const SettleOptions& o) {
  auto options = settlement_options_or_fail(o);
  auto ledger = open_or_fail(context, true);
  st::Settlement settlement(*ledger, options);
  const auto day = day_or_fail(o.day);
  auto closes = settlement.closes();
  if (!closes) fail(closes.status().to_string());
  auto batches = settlement.batches(day);
  if (!batches) fail(batches.status().to_string());
  if (batches->empty()) fail("business day " + day.to_string() + " is not closed");
  nlohmann::json shown = nlohmann::json::array();
  for (const auto& close : closes.value()) {
    if (close.day != day) continue;
    if (!context.json)
      std::cout << "day " << day.to_string() << ": closed at " << st::format_local_time(close.created_at, close.config)
                << ", ledger sequences " << close.from_sequence << ".." << close.to_sequence << " (previous close ended at "
                << close.previous_to_sequence << "; next close starts at " << close.next_from_sequence << ")\n";
  }
  for (const auto& b : batches.value()) {
    if (o.operator_id != 0 && b.operator_id.value != o.operator_id) continue;
    auto held = settlement.held_lines(day, b.operator_id);
    if (!held) fail(held.status().to_string());
    if (context.json) {
      auto json = batch_json(b);
      json["path"] = options.out_dir + "/" + b.file_name;
      nlohmann::json held_json = nlohmann::json::array();
      for (const auto& h : held.value()) held_json.push_back({{"tap", h.tap_id}, {"held_from", h.held_from_sequence}, {"reason", h.reason}});
      json["held"] = held_json;
      shown.push_back(json);
      continue;
    }
    const auto& t = b.totals;
    std::cout << fmt::format("\noperator {} {}: {} sequence {} ({})\n  file    {}/{}\n  sha256  {}\n", b.operator_id.value,
                             b.operator_name, st::batch_state_name(b.state), b.sequence, b.note.empty() ? "-" : b.note,
                             options.out_dir, b.file_name, b.file_sha256);
    std::cout << fmt::format("  taps {} (late {}), rider fares {}, city subsidy {}, points subsidy {}, points {}, other {}, total {} TWD\n",
                             t.lines, t.late_lines, t.rider_fare_minor, t.city_subsidy_minor, t.points_subsidy_minor,
                             t.points_redeemed, t.other_minor, t.total_minor);
    std::cout << "  programmes " << programmes_text(st::totals_json(t)) << "\n";
    for (const auto& h : held.value())
      std::cout << "  held " << h.tap_id << " from sequence " << h.held_from_sequence << ": " << h.reason << "\n";
  }
  if (context.json) std::cout << shown.dump(2) << "\n";
}

}  // namespace

void add_settlement_commands(CLI::App& app, CliContext& context) {
  auto o = std::make_shared<SettleOptions>();
  auto* settle = app.add_subcommand("settle", "business-day close, settlement files, acknowledgements");
  settle->require_subcommand(1);
  settle->add_option("--out", o->out_dir, "settlement file directory (default ./var/settlement)");
  settle->add_option("--keys", o->key_dir, "settlement key directory (default ./var/settlement-keys)");
  settle->add_option("--rules", o->rules_file,
                     "rule set whose business day a close on a stopped ledger uses (default rules/city.toml); "
                     "a running engine uses its own");
  // Hidden: accepted only to say that the rule set decides now.
  settle->add_option("--close-time", o->close_time)->group("");
  settle->add_option("--utc-offset", o->utc_offset)->group("");

  settle->add_subcommand("keygen", "create settlement.key, settlement.pub and token.key")->callback([o] { run_keygen(*o); });

  auto* close = settle->add_subcommand("close", "close a business day and write its signed batch files");
  close->add_option("--day", o->day, "business day YYYY-MM-DD")->required();
  close->add_option("--at", o->at, "the close's time for file headers, ISO 8601 (default now)");
  close->add_option("--out", o->out_dir, "settlement file directory");
  close->callback([&context, o] { run_close(context, *o); });

  auto* regenerate = settle->add_subcommand("regenerate", "rewrite a closed day's files, byte for byte");
  regenerate->add_option("--day", o->day, "business day YYYY-MM-DD")->required();
  regenerate->add_option("--out", o->out_dir, "settlement file directory");
  regenerate->callback([&context, o] { run_regenerate(context, *o); });

  auto* resend = settle->add_subcommand("resend", "write a rejected batch again under the next sequence");
  resend->add_option("--day", o->day, "business day YYYY-MM-DD")->required();
  resend->add_option("--operator", o->operator_id, "operator id")->required();
  resend->callback([&context, o] { run_resend(context, *o); });

  auto* ack = settle->add_subcommand("ack", "ingest a clearing-house acknowledgement");
  ack->add_option("FILE", o->ack_file, "acknowledgement file (CCACK)")->required();
  ack->callback([&context, o] { run_ack(context, *o); });

  auto* verify = settle->add_subcommand("verify", "check a day's files against the ledger; exit 3 on a mismatch");
  verify->add_option("--day", o->day, "business day YYYY-MM-DD")->required();
  verify->add_option("--out", o->out_dir, "settlement file directory");
  verify->callback([&context, o] { run_verify(context, *o); });

  auto* list = settle->add_subcommand("list", "batches and their states");
  list->add_option("--day", o->day, "only this business day");
  list->callback([&context, o] { run_list(context, *o); });

  auto* show = settle->add_subcommand("show", "a closed day's batches in detail");
  show->add_option("--day", o->day, "business day YYYY-MM-DD")->required();
  show->add_option("--operator", o->operator_id, "only this operator");
  show->callback([&context, o] { run_show(context, *o); });
}

}  // namespace citycard::cli
