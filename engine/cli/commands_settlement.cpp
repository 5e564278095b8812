// `citycard settle ...`: the business-day close and what follows it.
//
//   settle keygen                         make the signing and token keys
//   settle close --day D [--at TIME]      close a business day, write and sign its files
//   settle regenerate --day D             rewrite a closed day's files (byte-identical)
//   settle resend --day D --operator N    resend a rejected batch under the next sequence
//   settle ack FILE                       ingest a clearing-house acknowledgement
//   settle verify --day D                 files against ledger, per operator and in total
//   settle list [--day D]                 batches and their states
//   settle show --day D [--operator N]    one day's batches in detail, held lines included
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ledger_clerk.h"
#include "commands.h"
#include "ledger/ledger.h"
#include "settlement/ack.h"
#include "settlement/keys.h"
#include "settlement/settlement.h"

namespace citycard::cli {
namespace {

namespace st = citycard::settlement;

struct SettleOptions {
  std::string out_dir = "./var/settlement";
  std::string key_dir = "./var/settlement-keys";
  std::string close_time = "03:00";
  std::string utc_offset = "+08:00";
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
  return std::move(opened.value());
}

int parse_clock_or_fail(const std::string& text, const char* what) {
  // "HH:MM", optionally signed for offsets
  std::string body = text;
  int sign = 1;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    sign = body[0] == '-' ? -1 : 1;
    body = body.substr(1);
  }
  unsigned hours = 0, minutes = 0;
  char tail = 0;
  if (body.size() != 5 || std::sscanf(body.c_str(), "%2u:%2u%c", &hours, &minutes, &tail) != 2 || minutes > 59)
    fail(std::string("bad ") + what + " '" + text + "' (expected HH:MM)");
  return sign * static_cast<int>(hours * 60 + minutes);
}

st::Options settlement_options_or_fail(const SettleOptions& o) {
  st::Options options;
  options.out_dir = o.out_dir;
  options.key_dir = o.key_dir;
  options.day.close_minute_of_day = parse_clock_or_fail(o.close_time, "close time");
  options.day.utc_offset_minutes = parse_clock_or_fail(o.utc_offset, "UTC offset");
  if (Status s = options.day.validate(); !s) fail(s.message());
  return options;
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

nlohmann::json totals_json(const st::BatchTotals& t) {
  return {{"lines", t.lines}, {"late_lines", t.late_lines}, {"rider_fare", t.rider_fare_minor},
          {"city_subsidy", t.city_subsidy_minor}, {"points_subsidy", t.points_subsidy_minor},
          {"points_redeemed", t.points_redeemed}, {"other", t.other_minor}, {"total", t.total_minor}};
}

nlohmann::json batch_json(const st::BatchRecord& b) {
  return {{"day", b.day.to_string()}, {"operator", b.operator_id.value}, {"name", b.operator_name},
          {"sequence", b.sequence}, {"state", std::string(st::batch_state_name(b.state))}, {"file", b.file_name},
          {"sha256", b.file_sha256}, {"note", b.note}, {"totals", totals_json(b.totals)}};
}

void print_table(const std::vector<st::OperatorBatch>& batches, const st::BatchTotals& total) {
  const auto row = [](const std::string& who, const st::BatchTotals& t) {
    std::cout << fmt::format("{:<28} {:>10} {:>6} {:>14} {:>14} {:>10} {:>10} {:>15}\n", who, t.lines, t.late_lines,
                             t.rider_fare_minor, t.city_subsidy_minor + t.points_subsidy_minor, t.points_redeemed,
                             t.other_minor, t.total_minor);
  };
  std::cout << fmt::format("{:<28} {:>10} {:>6} {:>14} {:>14} {:>10} {:>10} {:>15}\n", "operator", "taps", "late",
                           "rider fares", "subsidies", "points", "other", "total TWD");
  for (const auto& batch : batches)
    row(fmt::format("{} {}", batch.batch.operator_id.value, batch.batch.operator_name.substr(0, 20)), batch.batch.totals);
  row("all operators", total);
}

void print_close(const CliContext& context, const st::CloseSummary& summary, const std::string& out_dir) {
  if (context.json) {
    nlohmann::json batches = nlohmann::json::array();
    for (const auto& b : summary.batches) batches.push_back(batch_json(b.batch));
    std::cout << nlohmann::json{{"day", summary.close.day.to_string()}, {"already_closed", summary.already_closed},
                                {"from_sequence", summary.close.from_sequence}, {"to_sequence", summary.close.to_sequence},
                                {"transfers_scanned", summary.close.transfers_scanned}, {"out_dir", out_dir},
                                {"batches", batches}, {"total", totals_json(summary.total)}}
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << "business day " << summary.close.day.to_string()
            << (summary.already_closed ? " (already closed; nothing changed)" : " closed") << ": ledger sequences "
            << summary.close.from_sequence << ".." << summary.close.to_sequence << ", " << summary.close.transfers_scanned
            << " transfers scanned\n";
  print_table(summary.batches, summary.total);
  std::cout << "files in " << out_dir << "\n";
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

void run_close(const CliContext& context, const SettleOptions& o) {
  require_clerk(context, ClerkAction::settle_close);
  auto options = settlement_options_or_fail(o);
  auto ledger = open_or_fail(context, false);
  st::Settlement settlement(*ledger, options);
  auto summary = settlement.close(day_or_fail(o.day), close_time_or_fail(o), progress_bar("closing"));
  if (!summary) fail(summary.status().to_string());
  print_close(context, summary.value(), options.out_dir);
}

void run_regenerate(const CliContext& context, const SettleOptions& o) {
  require_clerk(context, ClerkAction::settle_close);
  auto options = settlement_options_or_fail(o);
  auto ledger = open_or_fail(context, true);
  st::Settlement settlement(*ledger, options);
  auto summary = settlement.regenerate(day_or_fail(o.day), progress_bar("regenerating"));
  if (!summary) fail(summary.status().to_string());
  print_close(context, summary.value(), options.out_dir);
}

void run_resend(const CliContext& context, const SettleOptions& o) {
  require_clerk(context, ClerkAction::settle_close);
  auto options = settlement_options_or_fail(o);
  auto ledger = open_or_fail(context, false);
  st::Settlement settlement(*ledger, options);
  auto batch = settlement.resend(day_or_fail(o.day), OperatorId{o.operator_id});
  if (!batch) fail(batch.status().to_string());
  if (context.json) std::cout << batch_json(batch->batch).dump(2) << "\n";
  else std::cout << "resent as " << batch->path << " (sequence " << batch->batch.sequence << ", " << batch->batch.totals.lines << " lines)\n";
}

void run_ack(const CliContext& context, const SettleOptions& o) {
  require_clerk(context, ClerkAction::settle_close);
  auto options = settlement_options_or_fail(o);
  auto ledger = open_or_fail(context, false);
  st::Settlement settlement(*ledger, options);
  auto outcome = settlement.ingest_ack(o.ack_file);
  if (!outcome) fail(outcome.status().to_string());
  if (context.json) {
    auto json = batch_json(outcome->batch);
    json["settlement_sequence"] = outcome->settlement_sequence;
    json["lines_held"] = outcome->lines_held;
    std::cout << json.dump(2) << "\n";
    return;
  }
  const auto& b = outcome->batch;
  if (b.state == st::BatchState::accepted)
    std::cout << b.file_name << " accepted: " << b.totals.total_minor << " TWD moved from payable to settled for operator "
              << b.operator_id.value << "\n";
  else
    std::cout << b.file_name << " rejected (" << b.note << "); " << outcome->lines_held
              << " lines held back; `settle resend --day " << b.day.to_string() << " --operator " << b.operator_id.value
              << "` writes sequence " << b.sequence + 1 << "\n";
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
  settle->add_option("--close-time", o->close_time, "local time a business day ends, HH:MM (default 03:00)");
  settle->add_option("--utc-offset", o->utc_offset, "local offset from UTC, +HH:MM (default +08:00, Asia/Taipei)");

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
