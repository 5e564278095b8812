// Ledger commands: init, balance, history (explain: ledger_explain.h), verify, operators, cards, top-up,
// refund, card replace (card adjust: ledger_adjust.cpp). While
// citycard-engine runs, the card commands go through its admin socket
// (ledger_engine_client.h). The card actions check no role before they ask:
// the engine, or card_action_in_ledger on a stopped ledger, checks it and
// records a refusal in the audit trail.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bonus_balance.h"
#include "card_history.h"
#include "eligibility.h"
#include "ledger_records.h"
#include "ledger_access.h"
#include "ledger_report.h"
#include "ledger_taps.h"
#include "citycard/limits.h"
#include "ledger/system_accounts.h"
#include "ledger_approvals.h"
#include "ledger_audit.h"
#include "ledger_card_actions.h"
#include "ledger_clerk.h"
#include "ledger_engine_client.h"
#include "ledger_explain.h"
#include "ledger_import.h"
#include "ledger_support.h"

namespace citycard::cli {

namespace {

std::string signed_amount(std::int64_t minor, const std::string& asset) { return fmt::format("{:+} {}", minor, asset); }

void run_init(const CliContext& context, const std::string& supervisor) {
  auto ledger = open_ledger_or_fail(context, LedgerAccess::create);
  auto accounts = ledger::ensure_system_accounts(*ledger);
  if (!accounts) fail(accounts.status().message());
  const std::string clerk = bootstrap_first_supervisor(context, supervisor);
  std::cout << "ledger ready at " << context.db_path << " (" << ledger->account_count() << " accounts, "
            << ledger->last_sequence() << " transfers); first supervisor: --clerk " << clerk << "\n";
}

// Bonus points, apart from welfare points: their balance and the month they
// are valid to the end of.
void print_bonus_line(std::int64_t bonus_points, const std::string& expire_after) {
  std::cout << fmt::format("  bonus   {:>8}", bonus_points);
  if (bonus_points > 0 && !expire_after.empty()) std::cout << fmt::format("  (valid to the end of {})", expire_after);
  std::cout << "\n";
}

void run_balance(const CliContext& context, const std::string& card_text) {
  require_clerk(context, ClerkAction::look_up);
  if (auto reply = engine_request(context, {{"op", "balance"}, {"card", parse_card_or_fail(card_text).to_string()}})) {
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("the engine refused")));
    reply->erase("ok");
    if (context.json) {
      std::cout << reply->dump() << "\n";
      return;
    }
    std::int64_t wallet = reply->value("wallet_minor", std::int64_t{0});
    std::cout << fmt::format("card {}  {}  {}  {}\n", reply->value("card", std::string()),
                             reply->value("eligibility", reply->value("category", std::string())),
                             reply->value("media", std::string()), reply->value("status", std::string()));
    std::cout << fmt::format("  wallet  {:>8} TWD{}\n", wallet, wallet < 0 ? "  (debt: rides given offline)" : "");
    std::cout << fmt::format("  points  {:>8}\n", reply->value("points", std::int64_t{0}));
    if (reply->contains("bonus_points"))
      print_bonus_line(reply->value("bonus_points", std::int64_t{0}), reply->value("bonus_points_expire_after", std::string()));
    return;
  }
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  auto card = card_or_fail(*ledger, card_text);
  auto wallet = ledger->account(card.wallet_account);
  auto points = ledger->account(card.points_account);
  if (!wallet || !points) fail("card " + card.card.to_string() + " names accounts the ledger does not have");
  auto bonus = engine::bonus_balance_of(*ledger, card);
  if (!bonus) fail("card " + card.card.to_string() + ": " + bonus.status().to_string());
  if (context.json) {
    nlohmann::json out = {{"card", card.card.to_string()},
                          {"category", std::string(rider_category_name(card.category))},
                          {"media", std::string(media_name(card.media))},
                          {"status", std::string(card_status_name(card.status))},
                          {"wallet_minor", wallet->balance_minor},
                          {"wallet_floor_minor", wallet->spec.balance_floor_minor},
                          {"points", points->balance_minor},
                          {"debt", wallet->balance_minor < 0}};
    if (!card.linked_to.empty()) out["linked_to"] = card.linked_to.to_string();
    if (card.category_from_day != no_category_day || card.category_until_day != no_category_day)
      out["eligibility"] = engine::describe_eligibility(card.category, card.category_from_day, card.category_until_day);
    if (card.district != no_district) out["district"] = card.district;
    engine::add_bonus_balance(out, *bonus);
    std::cout << out.dump() << "\n";
    return;
  }
  std::cout << fmt::format("card {}  {}  {}  {}\n", card.card.to_string(),
                           engine::describe_eligibility(card.category, card.category_from_day, card.category_until_day),
                           media_name(card.media), card_status_name(card.status));
  std::cout << fmt::format("  wallet  {:>8} TWD{}\n", wallet->balance_minor,
                           wallet->balance_minor < 0 ? "  (debt: rides given offline)" : "");
  std::cout << fmt::format("  points  {:>8}\n", points->balance_minor);
  if (bonus->has_account) print_bonus_line(bonus->points, engine::bonus_expiry_text(bonus->expiry_month));
  if (card.district != no_district) std::cout << fmt::format("  district {}\n", card.district);
}

void run_history(const CliContext& context, const std::string& card_text, std::size_t limit,
                 std::uint64_t before) {
  require_clerk(context, ClerkAction::look_up);
  if (limit == 0 || limit > limits::history_page_max) {
    fail("--limit must be 1.." + std::to_string(limits::history_page_max), 2);
  }
  const CardId card = parse_card_or_fail(card_text);
  nlohmann::json page;
  if (auto reply = engine_request(context, {{"op", "history"}, {"card", card.to_string()}, {"limit", limit}, {"before", before}})) {
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("the engine refused")));
    reply->erase("ok");
    page = std::move(*reply);
  } else {
    auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
    auto found = engine::card_history_json(*ledger, card, limit, before);
    if (!found) fail(found.status().code() == StatusCode::not_found ? "unknown card " + card.to_string() : found.status().message());
    page = std::move(*found);
  }
  auto& rows = page["entries"];
  for (auto& row : rows) row["event_time"] = format_utc(EventTime{row.value("event_time_us", std::int64_t{0})});
  if (context.json) {
    std::cout << page.dump() << "\n";
    return;
  }
  std::cout << fmt::format("{:>10}  {:<20}  {:<16}  {:>14}  {}\n", "seq", "event time (UTC)", "what", "amount", "ref");
  for (const auto& row : rows) {
    std::string what = row.value("code", std::string());
    if (row.value("operator", 0u) != 0) what += fmt::format(" @{}", row.value("operator", 0u));
    const std::string id = row.value("id", std::string());
    const std::string note = row.value("note", std::string());
    std::cout << fmt::format("{:>10}  {:<20}  {:<16}  {:>14}  {}{}{}\n", row.value("sequence", std::uint64_t{0}),
                             row.value("event_time", std::string()), what,
                             signed_amount(row.value("amount_minor", std::int64_t{0}), row.value("asset", std::string())),
                             id.substr(0, id.rfind('/')),
                             (row.value("flags", 0u) & transfer_flag_service_given) ? " (given offline)" : "",
                             note.empty() ? "" : "  " + note);
  }
  if (rows.empty()) std::cout << "(no transfers)\n";
  // The way from a line to "why was I charged this?": its ref names the tap.
  for (const auto& row : rows) {
    const std::string id = row.value("id", std::string());
    const std::string ref = id.substr(0, id.rfind('/'));
    if (ref.starts_with("tap:") || ref.starts_with("svc:") || ref.starts_with("rpt:") || ref.starts_with("rps:")) {
      std::cout << "why a tap cost what it cost: citycard explain --tap " << ref << "\n";
      break;
    }
  }
  // Where the card went: the accounts it joined or left, oldest first.
  if (page.contains("moves")) {
    for (const auto& move : page["moves"]) {
      std::cout << fmt::format("{} {}: {}, account of {} ({})\n", format_utc(EventTime{move.value("time_us", std::int64_t{0})}),
                               card.to_string(), move.value("how", std::string()), move.value("account", std::string()),
                               move.value("ref", std::string()));
    }
  }
  if (page.contains("replaced_by")) std::cout << "replaced by " << page.value("replaced_by", std::string()) << "\n";
  if (page.value("next_cursor", std::uint64_t{0}) != 0) std::cout << "more: --before " << page["next_cursor"] << "\n";
}

void run_verify(const CliContext& context) {
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  ledger::VerifyReport report = ledger->verify();
  if (context.json) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& problem : report.problems) problems.push_back({{"kind", problem.kind}, {"detail", problem.detail}});
    std::cout << nlohmann::json{{"ok", report.ok()},
                                {"accounts", report.accounts},
                                {"transfers", report.transfers},
                                {"idempotency_keys", report.idempotency_keys},
                                {"cards", report.cards},
                                {"audit_entries", report.audit_entries},
                                {"problems", problems}}
                     .dump()
              << "\n";
  } else {
    for (const auto& problem : report.problems) std::cout << problem.kind << ": " << problem.detail << "\n";
    std::cout << fmt::format("verify: {} accounts, {} cards, {} transfers, {} idempotency keys, {} audit entries: {}\n",
                             report.accounts, report.cards, report.transfers, report.idempotency_keys, report.audit_entries,
                             report.ok() ? "OK" : fmt::format("{} PROBLEM(S)", report.problems.size()));
  }
  if (!report.ok()) exit_with(1);
}

void run_operator_add(const CliContext& context, std::uint32_t id, const std::string& name) {
  if (auto reply = engine_request(context, with_reason(context, {{"op", "operator_add"}, {"id", id}, {"name", name}}))) {
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("the engine refused")));
    std::cout << fmt::format("operator {} '{}': payable account {}, settled account {}\n", id, reply->value("name", name),
                             reply->value("payable_account", std::uint64_t{0}), reply->value("settled_account", std::uint64_t{0}));
    return;
  }
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_write);
  auto record = engine::add_operator(*ledger, OperatorId{id}, name, office_actor(context, ClerkAction::operator_add));
  if (!record) fail(record.status().message());
  std::cout << fmt::format("operator {} '{}': payable account {}, settled account {}\n", id, record->name,
                           record->payable_account.value, record->settled_account.value);
}

void run_operator_list(const CliContext& context) {
  require_clerk(context, ClerkAction::look_up);
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& record : ledger->operators()) {
    auto payable = ledger->account(record.payable_account);
    std::int64_t balance = payable ? payable->balance_minor : 0;
    if (context.json) {
      rows.push_back({{"id", record.id.value}, {"name", record.name}, {"payable_minor", balance}});
    } else {
      std::cout << fmt::format("{:>6}  {:<32}  payable {:>12} TWD\n", record.id.value, record.name, balance);
    }
  }
  if (context.json) std::cout << rows.dump() << "\n";
}

void run_card_issue(const CliContext& context, const std::string& card_text, const std::string& category_text,
                    const std::string& media_text, std::int64_t overdraft, const std::string& linked_text) {
  ledger::NewCard card;
  card.card = parse_card_or_fail(card_text);
  auto category = parse_rider_category(category_text);
  if (!category) fail("unknown rider category '" + category_text + "' (general, student, senior, disability, disability_companion, employee)", 2);
  auto media = parse_media(media_text);
  if (!media) fail("unknown media '" + media_text + "' (card, mobile, co_branded_credit)", 2);
  if (overdraft < 0) fail("--overdraft must not be negative", 2);
  card.category = *category;
  card.media = *media;
  card.overdraft_minor = overdraft;
  if (!linked_text.empty()) card.linked_to = parse_card_or_fail(linked_text);
  auto report = issue_cards_through_engine_or_ledger(context, {card});  // audited as a card import of one
  if (!report.refused.empty()) fail(report.refused.front().second);
  if (report.already > 0) fail("card " + card.card.to_string() + " is already issued");
  std::cout << fmt::format("card {} issued: {} {}\n", card.card.to_string(), category_text, media_text);
}

void run_card_status(const CliContext& context, const std::string& card_text, CardStatus status, const std::string& ref) {
  const char* op = status == CardStatus::blocked ? "block" : status == CardStatus::lost ? "lost" : "unblock";
  nlohmann::json request = {{"op", op}, {"card", parse_card_or_fail(card_text).to_string()}};
  if (!ref.empty()) request["ref"] = ref;
  if (!context.reason.empty()) request["reason"] = context.reason;
  if (auto reply = engine_request(context, request)) {
    print_engine_action(context, *reply, std::string("card ") + op);
    return;
  }
  engine::AdminCommand command;
  command.action = engine::AdminAction::set_status;
  command.card = parse_card_or_fail(card_text);
  command.status = status;
  command.key = reference_or_fresh(ref);
  auto result = card_action_in_ledger(context, command);
  std::cout << fmt::format("{}card {} is now {} ({})\n", result.duplicate ? "already done: " : "", command.card.to_string(),
                           card_status_name(result.card_status), command.key.to_string());
}

void run_topup(const CliContext& context, const std::string& card_text, std::int64_t amount, const std::string& ref) {
  if (amount <= 0) fail("top-up amount must be positive, got " + std::to_string(amount), 2);
  nlohmann::json request = {{"op", "topup"}, {"card", parse_card_or_fail(card_text).to_string()}, {"amount_minor", amount}};
  if (!ref.empty()) request["ref"] = ref;
  if (!context.reason.empty()) request["reason"] = context.reason;
  if (auto reply = engine_request(context, request)) {
    print_engine_action(context, *reply, fmt::format("topped up {} TWD", amount));
    return;
  }
  engine::AdminCommand command;
  command.action = engine::AdminAction::top_up;
  command.card = parse_card_or_fail(card_text);
  command.amount_minor = amount;
  command.key = reference_or_fresh(ref);
  auto result = card_action_in_ledger(context, command);
  std::cout << fmt::format("{} {} TWD to card {} as {}; wallet now {} TWD\n",
                           result.duplicate ? "already done: topped up" : "topped up", amount, command.card.to_string(),
                           command.key.to_string(), result.wallet_minor);
}

void run_refund(const CliContext& context, const std::string& card_text, std::int64_t amount, const std::string& ref) {
  if (amount <= 0) fail("refund amount must be positive, got " + std::to_string(amount), 2);
  nlohmann::json request = {{"op", "refund"}, {"card", parse_card_or_fail(card_text).to_string()}, {"amount_minor", amount}};
  if (!ref.empty()) request["ref"] = ref;
  if (!context.reason.empty()) request["reason"] = context.reason;
  if (auto reply = engine_request(context, request)) {
    if (reply->value("ok", false) && reply->value("pending", false) && !context.json) {
      std::cout << fmt::format("pending approval: ref {} (refund {} TWD from card {} waits for a second supervisor)\n",
                               reply->value("ref", std::string()), amount, reply->value("card", std::string()));
      return;
    }
    print_engine_action(context, *reply, fmt::format("refunded {} TWD", amount));
    return;
  }
  engine::AdminCommand command;
  command.action = engine::AdminAction::refund;
  command.card = parse_card_or_fail(card_text);
  command.amount_minor = amount;
  command.key = reference_or_fresh(ref);
  auto result = card_action_in_ledger(context, command);
  if (result.pending) {
    if (context.json) {
      std::cout << nlohmann::json{{"ok", true}, {"pending", true}, {"duplicate", result.duplicate}, {"ref", command.key.to_string()},
                                  {"card", command.card.to_string()}, {"wallet_minor", result.wallet_minor}}
                       .dump()
                << "\n";
      return;
    }
    std::cout << fmt::format("pending approval: ref {} (refund {} TWD from card {} waits for a second supervisor)\n",
                             command.key.to_string(), amount, command.card.to_string());
    return;
  }
  std::cout << fmt::format("{} {} TWD from card {} as {}; wallet now {} TWD\n",
                           result.duplicate ? "already done: refunded" : "refunded", amount, command.card.to_string(),
                           command.key.to_string(), result.wallet_minor);
}

void run_card_replace(const CliContext& context, const std::string& old_text, const std::string& new_text,
                      const std::string& ref) {
  nlohmann::json request = {{"op", "replace"},
                            {"card", parse_card_or_fail(old_text).to_string()},
                            {"new_card", parse_card_or_fail(new_text).to_string()}};
  if (!ref.empty()) request["ref"] = ref;
  if (!context.reason.empty()) request["reason"] = context.reason;
  nlohmann::json reply_json;
  if (auto reply = engine_request(context, request)) {
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("the engine refused")));
    reply_json = *reply;
  } else {
    engine::AdminCommand command;
    command.action = engine::AdminAction::replace;
    command.card = parse_card_or_fail(old_text);
    command.new_card = parse_card_or_fail(new_text);
    command.key = reference_or_fresh(ref);
    auto result = card_action_in_ledger(context, command);
    reply_json = {{"ok", true}, {"duplicate", result.duplicate}, {"card", result.card.to_string()},
                  {"moved_wallet_minor", result.moved_wallet_minor}, {"moved_points", result.moved_points},
                  {"ref", command.key.to_string()}};
  }
  if (context.json) {
    std::cout << reply_json.dump() << "\n";
    return;
  }
  std::cout << fmt::format("{}card {} replaced by {}: moved {} TWD and {} points ({})\n",
                           reply_json.value("duplicate", false) ? "already done: " : "", parse_card_or_fail(old_text).to_string(),
                           reply_json.value("card", std::string()), reply_json.value("moved_wallet_minor", std::int64_t{0}),
                           reply_json.value("moved_points", std::int64_t{0}), reply_json.value("ref", std::string()));
}

// Option values live as long as the app: the callbacks share ownership.
struct LedgerOptions {
  std::string card;
  std::size_t limit = 20;
  std::uint64_t before = 0;
  std::uint32_t operator_id = 0;
  std::string operator_name;
  std::string category = "general";
  std::string media = "card";
  std::string linked;
  std::int64_t overdraft = 0;
  std::int64_t amount = 0;
  std::string ref;
  std::string new_card;
  std::string supervisor = "supervisor";
  std::string reason;
};

}  // namespace

void add_ledger_commands(CLI::App& app, CliContext& context) {
  auto o = std::make_shared<LedgerOptions>();
  auto* init = app.add_subcommand("init", "create the ledger, the city's system accounts, and the PKI's first supervisor");
  init->add_option("--supervisor", o->supervisor, "the first supervisor's name (default supervisor): PKI/clerks/NAME");
  init->callback([&context, o] { run_init(context, o->supervisor); });

  auto* balance = app.add_subcommand("balance", "a card's wallet, points, bonus points and status");
  balance->add_option("CARD", o->card, "card id (hex)")->required();
  balance->callback([&context, o] { run_balance(context, o->card); });

  auto* history = app.add_subcommand("history", "a card's transfers, newest first");
  history->add_option("CARD", o->card, "card id (hex)")->required();
  history->add_option("--limit", o->limit, "entries per page (default 20)");
  history->add_option("--before", o->before, "show transfers older than this sequence (paging)");
  history->callback([&context, o] { run_history(context, o->card, o->limit, o->before); });

  add_taps_command(app, context);
  add_explain_command(app, context);
  add_records_commands(app, context);
  add_report_commands(app, context);
  add_access_commands(app, context);

  app.add_subcommand("verify", "check every ledger invariant; non-zero exit on any problem")
      ->callback([&context] { run_verify(context); });

  auto* operators = app.add_subcommand("operator", "register and list operators");
  operators->require_subcommand(1);
  auto* operator_add = operators->add_subcommand("add", "register an operator with payable and settled accounts");
  operator_add->add_option("--id", o->operator_id, "operator id (1..)")->required()->check(CLI::Range(1u, 4'000'000'000u));
  operator_add->add_option("--name", o->operator_name, "operator name")->required();
  operator_add->add_option("--reason", context.reason, "why, for the audit trail");
  operator_add->callback([&context, o] { run_operator_add(context, o->operator_id, o->operator_name); });
  operators->add_subcommand("list", "operators and what the city owes each")->callback([&context] { run_operator_list(context); });

  auto* cards = app.add_subcommand("card", "issue cards and change their status");
  cards->require_subcommand(1);
  auto* issue = cards->add_subcommand("issue", "issue a card with a wallet, a points and a bonus points account");
  issue->add_option("CARD", o->card, "card id (hex UID or token)")->required();
  issue->add_option("--category", o->category, "rider category (default general)");
  issue->add_option("--media", o->media, "card, mobile or co_branded_credit (default card)");
  issue->add_option("--overdraft", o->overdraft, "allowed negative wallet balance, TWD (default 0)");
  issue->add_option("--linked-to", o->linked, "share the accounts of this already issued card");
  issue->add_option("--reason", context.reason, "why, for the audit trail");
  issue->callback([&context, o] { run_card_issue(context, o->card, o->category, o->media, o->overdraft, o->linked); });
  for (auto [name, status] : {std::pair{"block", CardStatus::blocked}, std::pair{"unblock", CardStatus::active},
                              std::pair{"lost", CardStatus::lost}}) {
    auto* command = cards->add_subcommand(name, std::string("mark a card ") + std::string(card_status_name(status)));
    command->add_option("CARD", o->card, "card id (hex)")->required();
    command->add_option("--ref", o->ref, "idempotency reference op:SOURCE:NUMBER; repeat it to retry safely");
    command->add_option("--reason", context.reason, "why, for the audit trail");
    command->callback([&context, o, status = status] { run_card_status(context, o->card, status, o->ref); });
  }
  auto* replace = cards->add_subcommand("replace", "move a card's balance and points to a new card; the old one becomes replaced");
  replace->add_option("OLD", o->card, "the card being replaced (hex)")->required();
  replace->add_option("NEW", o->new_card, "the new card (hex); issued with the old one's category if new")->required();
  replace->add_option("--ref", o->ref, "idempotency reference op:SOURCE:NUMBER; repeat it to retry safely");
  replace->add_option("--reason", context.reason, "why, for the audit trail");
  replace->callback([&context, o] { run_card_replace(context, o->card, o->new_card, o->ref); });
  add_card_import_command(*cards, context);
  add_card_eligibility_command(*cards, context);
  add_card_adjust_command(*cards, context);
  add_card_account_commands(*cards, context);
  add_card_auto_top_up_command(*cards, context);

  auto* topup = app.add_subcommand("topup", "cash top-up of a card's wallet");
  topup->add_option("CARD", o->card, "card id (hex)")->required();
  topup->add_option("AMOUNT", o->amount, "TWD")->required();
  topup->add_option("--ref", o->ref, "idempotency reference op:SOURCE:NUMBER; repeat it to retry safely");
  topup->add_option("--reason", context.reason, "why, for the audit trail");
  topup->callback([&context, o] { run_topup(context, o->card, o->amount, o->ref); });

  auto* refund = app.add_subcommand("refund", "card office refund from a card's wallet");
  refund->add_option("CARD", o->card, "card id (hex)")->required();
  refund->add_option("AMOUNT", o->amount, "TWD")->required();
  refund->add_option("--ref", o->ref, "idempotency reference op:SOURCE:NUMBER; repeat it to retry safely");
  refund->add_option("--reason", context.reason, "why, for the audit trail");
  refund->callback([&context, o] { run_refund(context, o->card, o->amount, o->ref); });

  add_transfer_import_command(app, context);
  add_audit_command(app, context);
  add_approvals_command(app, context);
}

}  // namespace citycard::cli
