#include "ledger_clerk.h"
#include "ledger_import.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "eligibility.h"
#include "ledger_card_actions.h"
#include "ledger_engine_client.h"
#include "ledger_support.h"

namespace citycard::cli {

namespace {

constexpr std::size_t cards_per_request = engine::card_import_rows_max;
constexpr std::size_t rows_per_request = 4'096;
constexpr std::size_t problems_shown_max = 20;

// Calls visit(line_number, fields) for each data line; skips blanks,
// comments and a header.
template <typename Visit>
void read_csv_or_fail(const std::string& path, const std::string& header_first_field, Visit visit) {
  std::ifstream in(path);
  if (!in) fail("cannot read " + path);
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    auto fields = engine::split_import_line(line);
    if (number == 1 && fields[0] == header_first_field) continue;
    visit(number, fields);
  }
}

// Every bad line named (up to problems_shown_max), then the command ends
// having written nothing.
class LineProblems {
 public:
  explicit LineProblems(std::string path) : path_(std::move(path)) {}
  void add(std::size_t line, const std::string& why) {
    if (count_++ < problems_shown_max) shown_.push_back(fmt::format("{}:{}: {}", path_, line, why));
  }
  std::size_t count() const { return count_; }
  // One bad line is one line of output; more are listed before the summary.
  void fail_if_any() const {
    if (count_ == 0) return;
    if (count_ == 1) fail(shown_.front() + "; nothing was imported", 2);
    print();
    fail(fmt::format("{} bad lines in {}; nothing was imported", count_, path_), 2);
  }
  void print() const {
    for (const auto& line : shown_) std::cerr << line << '\n';
    if (count_ > shown_.size()) std::cerr << fmt::format("... and {} more\n", count_ - shown_.size());
  }

 private:
  std::string path_;
  std::size_t count_ = 0;
  std::vector<std::string> shown_;
};

// "\r  41% 540000/1307000 cards" on a terminal; silent otherwise.
class Progress {
 public:
  Progress(std::size_t total, const char* what) : total_(total), what_(what), shown_(::isatty(STDERR_FILENO) != 0) {}
  void done(std::size_t count) const {
    if (!shown_ || total_ == 0) return;
    std::fprintf(stderr, "\r  %3zu%% %zu/%zu %s", count * 100 / total_, count, total_, what_);
    if (count >= total_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  std::size_t total_;
  const char* what_;
  bool shown_;
};

void add_reply_problems(const nlohmann::json& reply, const char* list, const char* where_field, LineProblems& problems) {
  for (const auto& item : reply.value(list, nlohmann::json::array())) {
    problems.add(item.value(where_field, std::size_t{0}), item.value("error", std::string()));
  }
}

void run_card_import(const CliContext& context, const std::string& path) {
  std::vector<ledger::NewCard> cards;
  std::map<CardId, std::size_t> seen;
  LineProblems problems(path);
  read_csv_or_fail(path, "card", [&](std::size_t line, const std::vector<std::string>& fields) {
    auto card = engine::parse_card_row(fields);
    if (!card) return problems.add(line, card.status().message());
    if (auto [it, inserted] = seen.emplace(card->card, line); !inserted) {
      return problems.add(line, "card " + card->card.to_string() + " also on line " + std::to_string(it->second));
    }
    cards.push_back(*card);
  });
  problems.fail_if_any();
  engine::IssueReport total;
  Progress progress(cards.size(), "cards");
  std::unique_ptr<ledger::Ledger> ledger;  // opened once when no engine runs
  for (std::size_t start = 0; start < cards.size(); start += cards_per_request) {
    std::vector<ledger::NewCard> chunk(cards.begin() + start, cards.begin() + std::min(cards.size(), start + cards_per_request));
    auto report = issue_cards_through_engine_or_ledger(context, chunk, &ledger);
    for (const auto& [card, why] : report.refused) problems.add(seen[card], why);
    if (!report.refused.empty()) {
      problems.print();
      fail(fmt::format("{} cards issued before line {} ({} already were); the rest not: fix the lines named and run it again",
                       total.issued, seen[chunk.front().card], total.already));
    }
    total.issued += report.issued;
    total.already += report.already;
    progress.done(start + chunk.size());
  }
  std::cout << fmt::format("issued {} cards ({} already issued) from {}\n", total.issued, total.already, path);
}

void run_transfer_import(const CliContext& context, const std::string& path) {
  std::vector<engine::TransferRow> rows;
  LineProblems problems(path);
  const EventTime default_time = now();
  read_csv_or_fail(path, "ref", [&](std::size_t line, const std::vector<std::string>& fields) {
    auto row = engine::parse_transfer_row(fields, default_time);
    if (!row) return problems.add(line, row.status().message());
    row->line = line;
    rows.push_back(std::move(*row));
  });
  problems.fail_if_any();
  // Chunks end at a group boundary: a group is posted whole.
  std::size_t posted = 0, duplicates = 0, transfers = 0, rejected = 0;
  Progress progress(rows.size(), "rows");
  std::unique_ptr<ledger::Ledger> ledger;
  for (std::size_t start = 0; start < rows.size();) {
    std::size_t end = std::min(rows.size(), start + rows_per_request);
    while (end < rows.size() && end > start + 1 && rows[end].key == rows[end - 1].key) --end;
    std::vector<engine::TransferRow> chunk(rows.begin() + start, rows.begin() + end);
    nlohmann::json reply;
    if (auto answer = engine_request(context, with_reason(context, {{"op", "transfers_import"}, {"rows", engine::transfer_rows_json(chunk)}}))) {
      if (!answer->value("ok", false)) fail(answer->value("error", std::string("the engine refused")));
      reply = *answer;
    } else {
      if (!ledger) ledger = open_ledger_or_fail(context, LedgerAccess::read_write);
      auto report = engine::post_transfer_rows(*ledger, chunk, office_actor(context, ClerkAction::transfers_import));
      if (!report) fail(report.status().message());
      reply = engine::import_report_json(*report);
    }
    add_reply_problems(reply, "rejected", "line", problems);
    rejected += reply.value("rejected", nlohmann::json::array()).size();
    posted += reply.value("posted", std::size_t{0});
    duplicates += reply.value("duplicates", std::size_t{0});
    transfers += reply.value("transfers", std::size_t{0});
    progress.done(end);
    start = end;
  }
  std::cout << fmt::format("posted {} groups ({} transfers), {} already posted, {} rejected, from {}\n", posted, transfers,
                           duplicates, rejected, path);
  if (rejected > 0) {
    problems.print();
    exit_with(1);
  }
}

// Through the running engine in chunks (each row a card action through its
// card's shard), else on the stopped ledger with the same actions. Every
// line and every card is checked before anything changes.
void run_card_eligibility(const CliContext& context, const std::string& path) {
  std::vector<engine::EligibilityRow> rows;
  std::map<CardId, std::size_t> seen;
  LineProblems problems(path);
  read_csv_or_fail(path, "card", [&](std::size_t line, const std::vector<std::string>& fields) {
    auto row = engine::parse_eligibility_row(fields, line);
    if (!row) return problems.add(line, row.status().message());
    if (auto [it, inserted] = seen.emplace(row->card, line); !inserted) {
      return problems.add(line, "card " + row->card.to_string() + " also on line " + std::to_string(it->second));
    }
    rows.push_back(*row);
  });
  problems.fail_if_any();
  {
    // Read-only: beside a running engine too. Every card before any change.
    auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
    if (Status cards = engine::check_eligibility_cards(*ledger, rows); !cards) fail(cards.message(), 2);
  }
  std::size_t changed = 0;
  std::unique_ptr<CardActionsInLedger> desk;
  Progress progress(rows.size(), "cards");
  for (std::size_t start = 0; start < rows.size(); start += engine::eligibility_rows_max) {
    std::vector<engine::EligibilityRow> chunk(rows.begin() + start,
                                              rows.begin() + std::min(rows.size(), start + engine::eligibility_rows_max));
    if (auto reply = engine_request(context, with_reason(context, {{"op", "card_eligibility"}, {"rows", engine::eligibility_rows_json(chunk)}}))) {
      add_reply_problems(*reply, "failed", "line", problems);
      changed += reply->value("changed", std::size_t{0});
      if (!reply->value("ok", false)) {
        problems.print();
        fail(fmt::format("{} cards changed; {}", changed, reply->value("error", std::string("the engine refused"))));
      }
    } else {
      if (!desk) desk = std::make_unique<CardActionsInLedger>(context);
      for (const engine::EligibilityRow& row : chunk) {
        engine::AdminCommand command = engine::eligibility_command(row);
        command.key = fresh_operator_key();
        desk->run(std::move(command));
        ++changed;
      }
    }
    progress.done(start + chunk.size());
  }
  std::cout << fmt::format("set the category of {} cards from {}\n", changed, path);
}

struct ImportOptions {
  std::string path;
};

}  // namespace

engine::IssueReport issue_cards_through_engine_or_ledger(const CliContext& context, const std::vector<ledger::NewCard>& cards,
                                                         std::unique_ptr<ledger::Ledger>* kept) {
  if (kept != nullptr && *kept != nullptr) {
    auto report = engine::issue_cards_once(**kept, cards, office_actor(context, ClerkAction::card_issue));
    if (!report) fail(report.status().message());
    return *report;
  }
  if (auto reply = engine_request(context, with_reason(context, {{"op", "card_import"}, {"cards", engine::card_rows_json(cards)}}))) {
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("the engine refused")));
    engine::IssueReport report;
    report.issued = reply->value("issued", std::size_t{0});
    report.already = reply->value("already", std::size_t{0});
    for (const auto& item : reply->value("refused", nlohmann::json::array())) {
      auto card = CardId::parse(item.value("card", std::string()));
      report.refused.emplace_back(card ? *card : CardId(), item.value("error", std::string()));
    }
    return report;
  }
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_write);
  auto report = engine::issue_cards_once(*ledger, cards, office_actor(context, ClerkAction::card_issue));
  if (!report) fail(report.status().message());
  if (kept != nullptr) *kept = std::move(ledger);
  return *report;
}

void add_card_import_command(CLI::App& cards, CliContext& context) {
  auto options = std::make_shared<ImportOptions>();
  auto* command = cards.add_subcommand("import", "issue cards from a CSV roster: card,category,media[,overdraft[,linked_to]]");
  command->add_option("FILE", options->path, "CSV file")->required();
  command->add_option("--reason", context.reason, "why, for the audit trail");
  command->callback([&context, options] { run_card_import(context, options->path); });
}

void add_card_eligibility_command(CLI::App& cards, CliContext& context) {
  auto options = std::make_shared<ImportOptions>();
  auto* command = cards.add_subcommand(
      "eligibility", "set riders' categories and eligibility periods from the welfare office's CSV: card,category,from,until");
  command->add_option("FILE", options->path, "CSV file (header card,category,from,until; dates YYYY-MM-DD or empty)")->required();
  command->add_option("--reason", context.reason, "why, for the audit trail");
  command->callback([&context, options] { run_card_eligibility(context, options->path); });
}

void add_transfer_import_command(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<ImportOptions>();
  auto* transfers = app.add_subcommand("transfers", "bulk transfers");
  transfers->require_subcommand(1);
  auto* command = transfers->add_subcommand(
      "import", "post transfers from CSV: ref,debit,credit,amount,code[,event_unix_seconds[,mode[,location[,flags]]]]");
  command->add_option("FILE", options->path, "CSV file")->required();
  command->add_option("--reason", context.reason, "why, for the audit trail");
  command->callback([&context, options] { run_transfer_import(context, options->path); });
}

}  // namespace citycard::cli
