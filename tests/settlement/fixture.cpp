#include "fixture.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <catch2/catch.hpp>

#include "settlement/ack.h"
#include "settlement/keys.h"

namespace citycard::settlement::testing {

EventTime at(const std::string& iso) {
  auto time = parse_time(iso);
  REQUIRE(time.has_value());
  return time.value();
}

BusinessDay day(const std::string& text) {
  auto parsed = BusinessDay::parse(text);
  REQUIRE(parsed.has_value());
  return *parsed;
}

City::City(const std::string& keys_from) {
  char pattern[] = "/tmp/citycard-settlement-XXXXXX";
  REQUIRE(::mkdtemp(pattern) != nullptr);
  root = pattern;
  ledger::Options ledger_options;
  ledger_options.create_if_missing = true;
  ledger_options.write_buffer_bytes = 4u << 20;
  ledger_options.block_cache_bytes = 8u << 20;
  auto opened = ledger::Ledger::open((root / "ledger").string(), ledger_options);
  REQUIRE(opened.has_value());
  ledger_ = std::move(opened.value());
  auto accounts = ledger::ensure_system_accounts(*ledger_);
  REQUIRE(accounts.has_value());
  system = accounts.value();
  auto bus_op = ledger_->register_operator(bus, "Bus, \"Red\" Line");  // a name that needs CSV quoting
  auto metro_op = ledger_->register_operator(metro, "Metro");
  REQUIRE(bus_op.has_value());
  REQUIRE(metro_op.has_value());
  bus_record = bus_op.value();
  metro_record = metro_op.value();

  std::vector<ledger::NewCard> new_cards;
  for (const char* uid : {"04A1B2C3D4E5F6", "04A1B2C3D4E5F7", "04A1B2C3D4E5F8"}) {
    ledger::NewCard card;
    card.card = *CardId::parse(uid);
    new_cards.push_back(card);
  }
  auto issued = ledger_->issue_cards(new_cards);
  REQUIRE(issued.has_value());
  cards = issued.value();
  // Money and points for the cards, under operator-action keys.
  std::vector<ledger::PostingGroup> funding;
  for (std::size_t i = 0; i < cards.size(); ++i) {
    ledger::PostingGroup group;
    group.key = {Origin::operator_action, 1, i + 1};
    Transfer top_up;
    top_up.debit_account = system.topup_float;
    top_up.credit_account = cards[i].wallet_account;
    top_up.amount_minor = 5000;
    top_up.code = TransferCode::top_up;
    Transfer allotment;
    allotment.debit_account = system.points_budget;
    allotment.credit_account = cards[i].points_account;
    allotment.asset = Asset::points;
    allotment.amount_minor = 500;
    allotment.code = TransferCode::points_allotment;
    group.transfers = {top_up, allotment};
    funding.push_back(group);
  }
  auto posted = ledger_->post(funding);
  REQUIRE(posted.has_value());
  for (const auto& outcome : posted.value()) REQUIRE(outcome.posted);

  options.out_dir = (root / "out").string();
  options.key_dir = (root / "keys").string();
  if (keys_from.empty()) {
    REQUIRE(generate_keys(options.key_dir).is_ok());
  } else {
    std::filesystem::copy(keys_from, options.key_dir);
  }
}

City::~City() {
  ledger_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(root, ignored);
}

void City::tap(const TapSpec& spec) {
  const ledger::OperatorRecord& op = spec.op == bus ? bus_record : metro_record;
  ledger::PostingGroup group;
  group.key = IdempotencyKey::for_tap({ReaderId{spec.reader}, spec.reader_sequence});
  Transfer base;
  base.event_time = at(spec.when);
  base.mode = spec.op == bus ? Mode::bus_board : Mode::metro_out;
  base.operator_id = spec.op;
  base.route = 307;
  base.location = 1200 + static_cast<std::uint32_t>(spec.reader_sequence % 7);
  base.rule_set_version = 3;
  base.credit_account = op.payable_account;
  if (spec.fare > 0) {
    Transfer fare = base;
    fare.debit_account = cards[spec.card].wallet_account;
    fare.amount_minor = spec.fare;
    fare.code = TransferCode::fare;
    group.transfers.push_back(fare);
  }
  if (spec.subsidy > 0) {
    Transfer subsidy = base;
    subsidy.debit_account = system.budget_of(spec.programme);
    subsidy.amount_minor = spec.subsidy;
    subsidy.code = programme_code(spec.programme);
    group.transfers.push_back(subsidy);
  }
  if (spec.points > 0) {
    Transfer points = base;
    points.debit_account = cards[spec.card].points_account;
    points.credit_account = system.points_redeemed;
    points.asset = Asset::points;
    points.amount_minor = spec.points;
    points.code = TransferCode::points_redeemed;
    Transfer paid = base;
    paid.debit_account = system.subsidy_budget;
    paid.amount_minor = spec.points;
    paid.code = TransferCode::points_subsidy;
    group.transfers.push_back(points);
    group.transfers.push_back(paid);
  }
  auto posted = ledger_->post({group});
  REQUIRE(posted.has_value());
  INFO(posted->front().reason.to_string());
  REQUIRE(posted->front().posted);
}

std::int64_t City::balance(AccountId account) const {
  auto found = ledger_->account(account);
  REQUIRE(found.has_value());
  return found->balance_minor;
}

const OperatorBatch& batch_of(const CloseSummary& summary, OperatorId op) {
  for (const auto& batch : summary.batches)
    if (batch.batch.operator_id == op) return batch;
  FAIL("no batch for operator " << op.value);
  return summary.batches.front();
}

bool mentions(const ReconcileReport& report, const std::string& text) {
  for (const auto& problem : report.problems)
    if (problem.find(text) != std::string::npos) return true;
  return false;
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

int run(const std::string& command, std::string* output) {
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  std::string text;
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) text.append(buffer.data(), got);
  int status = ::pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace citycard::settlement::testing
