#include "ledger_clerk.h"
#include "ledger_import.h"

#include <charconv>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "ledger_support.h"

namespace citycard::cli {

namespace {

constexpr std::size_t card_batch_max = 10'000;
constexpr std::size_t group_batch_max = 1024;
constexpr std::size_t rejections_shown_max = 10;

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    auto comma = line.find(',', start);
    std::string field = line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!field.empty() && (field.back() == '\r' || field.back() == ' ')) field.pop_back();
    while (!field.empty() && field.front() == ' ') field.erase(0, 1);
    fields.push_back(field);
    if (comma == std::string::npos) return fields;
    start = comma + 1;
  }
}

template <typename Integer>
bool parse_integer(const std::string& text, Integer& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// Calls visit(line_number, fields) for each data line; skips blanks, comments and a header.
template <typename Visit>
void read_csv_or_fail(const std::string& path, const std::string& header_first_field, Visit visit) {
  std::ifstream in(path);
  if (!in) fail("cannot read " + path);
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    auto fields = split_csv(line);
    if (number == 1 && fields[0] == header_first_field) continue;
    visit(number, fields);
  }
}

struct CardImportOptions {
  std::string path;
};

void run_card_import(const CliContext& context, const std::string& path) {
  require_clerk(context, ClerkAction::card_issue);
  std::vector<ledger::NewCard> cards;
  std::map<CardId, std::size_t> seen;
  read_csv_or_fail(path, "card", [&](std::size_t line, const std::vector<std::string>& fields) {
    auto where = fmt::format("{}:{}: ", path, line);
    if (fields.size() < 3 || fields.size() > 4) fail(where + "expected card,category,media[,overdraft]", 2);
    ledger::NewCard card;
    auto id = CardId::parse(fields[0]);
    auto category = parse_rider_category(fields[1]);
    auto media = parse_media(fields[2]);
    if (!id) fail(where + "'" + fields[0] + "' is not a card id", 2);
    if (!category) fail(where + "unknown rider category '" + fields[1] + "'", 2);
    if (!media) fail(where + "unknown media '" + fields[2] + "'", 2);
    if (fields.size() == 4 && (!parse_integer(fields[3], card.overdraft_minor) || card.overdraft_minor < 0)) {
      fail(where + "overdraft '" + fields[3] + "' is not a non-negative number", 2);
    }
    if (auto [it, inserted] = seen.emplace(*id, line); !inserted) {
      fail(where + "card " + id->to_string() + " also on line " + std::to_string(it->second), 2);
    }
    card.card = *id;
    card.category = *category;
    card.media = *media;
    cards.push_back(card);
  });

  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_write);
  std::vector<ledger::NewCard> fresh;
  std::size_t skipped = 0;
  for (const auto& card : cards) {
    auto existing = ledger->card(card.card);
    if (!existing) {
      if (existing.status().code() != StatusCode::not_found) fail(existing.status().message());
      fresh.push_back(card);
    } else if (existing->category == card.category && existing->media == card.media) {
      ++skipped;
    } else {
      fail("card " + card.card.to_string() + " is already issued as " +
           std::string(rider_category_name(existing->category)) + "/" + std::string(media_name(existing->media)));
    }
  }
  for (std::size_t start = 0; start < fresh.size(); start += card_batch_max) {
    std::size_t end = std::min(fresh.size(), start + card_batch_max);
    auto issued = ledger->issue_cards(std::vector<ledger::NewCard>(fresh.begin() + start, fresh.begin() + end));
    if (!issued) fail(fmt::format("after {} cards: {}", start, issued.status().message()));
  }
  std::cout << fmt::format("issued {} cards ({} already issued) from {}\n", fresh.size(), skipped, path);
}

struct PendingGroup {
  ledger::PostingGroup group;
  std::size_t line = 0;
};

void run_transfer_import(const CliContext& context, const std::string& path) {
  require_clerk(context, ClerkAction::transfers_import);
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_write);
  std::map<std::string, AccountId> resolved;
  std::vector<PendingGroup> groups;
  read_csv_or_fail(path, "ref", [&](std::size_t line, const std::vector<std::string>& fields) {
    auto where = fmt::format("{}:{}: ", path, line);
    if (fields.size() < 5 || fields.size() > 9) {
      fail(where + "expected ref,debit,credit,amount,code[,event_unix_seconds[,mode[,location[,flags]]]]", 2);
    }
    auto key = IdempotencyKey::parse(fields[0]);
    if (!key) fail(where + "'" + fields[0] + "' is not a reference (tap:R:N, op:S:N or sys:S:N)", 2);
    Transfer transfer;
    AccountId* sides[2] = {&transfer.debit_account, &transfer.credit_account};
    for (int side = 0; side < 2; ++side) {
      const std::string& reference = fields[1 + side];
      auto it = resolved.find(reference);
      if (it == resolved.end()) {
        auto account = resolve_account(*ledger, reference);
        if (!account) fail(where + account.status().message(), 2);
        it = resolved.emplace(reference, *account).first;
      }
      *sides[side] = it->second;
      if (reference.rfind("operator:", 0) == 0) {
        parse_integer(reference.substr(9, reference.find(':', 9) - 9), transfer.operator_id.value);
      }
    }
    if (!parse_integer(fields[3], transfer.amount_minor) || transfer.amount_minor <= 0) {
      fail(where + "amount '" + fields[3] + "' is not a positive whole number", 2);
    }
    auto code = parse_transfer_code(fields[4]);
    if (!code) fail(where + "unknown transfer code '" + fields[4] + "'", 2);
    transfer.code = *code;
    auto debit = ledger->account(transfer.debit_account);
    transfer.asset = debit ? debit->spec.asset : Asset::twd;
    std::int64_t seconds = now().unix_seconds();
    if (fields.size() > 5 && !parse_integer(fields[5], seconds)) fail(where + "bad event time '" + fields[5] + "'", 2);
    transfer.event_time = EventTime::from_unix_seconds(seconds);
    if (fields.size() > 6) {
      auto mode = parse_mode(fields[6]);
      if (!mode) fail(where + "unknown mode '" + fields[6] + "'", 2);
      transfer.mode = *mode;
    }
    if (fields.size() > 7 && !parse_integer(fields[7], transfer.location)) fail(where + "bad location '" + fields[7] + "'", 2);
    if (fields.size() > 8 && !parse_integer(fields[8], transfer.flags)) fail(where + "bad flags '" + fields[8] + "'", 2);
    if (groups.empty() || groups.back().group.key != *key) {
      groups.push_back({ledger::PostingGroup{*key, {}, {}, {}, {}}, line});
    }
    groups.back().group.transfers.push_back(transfer);
  });

  std::size_t posted = 0, duplicates = 0, rejected = 0, transfers = 0;
  for (std::size_t start = 0; start < groups.size(); start += group_batch_max) {
    std::size_t end = std::min(groups.size(), start + group_batch_max);
    std::vector<ledger::PostingGroup> batch;
    for (std::size_t i = start; i < end; ++i) batch.push_back(groups[i].group);
    auto outcomes = ledger->post(batch);
    if (!outcomes) fail(fmt::format("after {} groups: {}", start, outcomes.status().message()));
    for (std::size_t i = 0; i < outcomes->size(); ++i) {
      const auto& outcome = (*outcomes)[i];
      if (outcome.duplicate) {
        ++duplicates;
      } else if (outcome.posted) {
        ++posted;
        transfers += outcome.transfer_count;
      } else {
        if (rejected++ < rejections_shown_max) {
          std::cerr << fmt::format("{}:{}: rejected: {}\n", path, groups[start + i].line, outcome.reason.message());
        }
      }
    }
  }
  std::cout << fmt::format("posted {} groups ({} transfers), {} already posted, {} rejected, from {}\n", posted,
                           transfers, duplicates, rejected, path);
  if (rejected > 0) exit_with(1);
}

}  // namespace

void add_card_import_command(CLI::App& cards, CliContext& context) {
  auto options = std::make_shared<CardImportOptions>();
  auto* command = cards.add_subcommand("import", "issue cards from a CSV roster: card,category,media[,overdraft]");
  command->add_option("FILE", options->path, "CSV file")->required();
  command->callback([&context, options] { run_card_import(context, options->path); });
}

void add_transfer_import_command(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<CardImportOptions>();
  auto* transfers = app.add_subcommand("transfers", "bulk transfers");
  transfers->require_subcommand(1);
  auto* command = transfers->add_subcommand(
      "import", "post transfers from CSV: ref,debit,credit,amount,code[,event_unix_seconds[,mode[,location[,flags]]]]");
  command->add_option("FILE", options->path, "CSV file")->required();
  command->callback([&context, options] { run_transfer_import(context, options->path); });
}

}  // namespace citycard::cli
