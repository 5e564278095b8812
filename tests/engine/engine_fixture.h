// Shared set-up for the engine tests: a real ledger in a temporary
// directory with the system accounts and the operators of the real
// rules/city.toml, cards issued and topped up, and the real pipeline.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/engine.h"
#include "ledger/ledger.h"
#include "ledger/readers.h"
#include "ledger/system_accounts.h"
#include "rule_set_loader.h"

namespace citycard::engine::testing {

inline std::filesystem::path make_temp_dir(const char* name) {
  std::string pattern = std::string("/tmp/citycard-") + name + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  REQUIRE(mkdtemp(buffer.data()) != nullptr);
  return std::filesystem::path(buffer.data());
}

struct TempDir {
  explicit TempDir(const char* name) : path(make_temp_dir(name)) {}
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::filesystem::path path;
};

inline const rules::RuleSet& city_rules() {
  static const rules::RuleSet rule_set = [] {
    auto loaded = rules::load_rule_set(std::string(CITYCARD_SOURCE_DIR) + "/rules/city.toml");
    INFO(loaded.status().to_string());
    REQUIRE(loaded);
    return *loaded;
  }();
  return rule_set;
}

// 2026-03-02 (a Monday) 08:00 Taipei time, in microseconds.
inline constexpr std::int64_t monday_8am_us = 1772409600LL * 1'000'000;

// Registers a reader straight in the ledger (as `citycard reader add` does
// on a stopped ledger).
inline void register_reader(ledger::Ledger& ledger, std::uint32_t id, std::uint32_t operator_id, ReaderKind kind,
                            std::int64_t offline_max_minor = 100'000, std::int64_t amount_max_minor = 0) {
  ReaderRecord reader;
  reader.id = ReaderId{id};
  reader.operator_id = OperatorId{operator_id};
  reader.kind = kind;
  reader.modes = rules::modes_for_kind(kind);
  reader.offline_max_minor = offline_max_minor;
  reader.amount_max_minor = amount_max_minor;
  REQUIRE(rules::validate_registration(reader));
  REQUIRE(ledger.put_records({ledger::reader_record_write(reader)}, {}));
}

// The readers the engine tests tap with, one per purpose.
inline constexpr std::uint32_t bus_reader = 17;       // bus validator of Capital Bus (101)
inline constexpr std::uint32_t bus_reader_2 = 30;     // another one
inline constexpr std::uint32_t metro_gate = 18;       // metro (201)
inline constexpr std::uint32_t pool_gate = 19;        // pool (601)
inline constexpr std::uint32_t library_desk = 20;     // library (501)
inline constexpr std::uint32_t shop_terminal = 21;    // partner shop (801)

// A ledger with system accounts and every operator of the city rule set.
inline std::unique_ptr<ledger::Ledger> make_ledger(const std::filesystem::path& dir) {
  ledger::Options options;
  options.create_if_missing = true;
  options.write_buffer_bytes = 4u << 20;
  options.block_cache_bytes = 8u << 20;
  auto opened = ledger::Ledger::open(dir.string(), options);
  INFO(opened.status().to_string());
  REQUIRE(opened);
  auto ledger = std::move(opened).value();
  REQUIRE(ledger::ensure_system_accounts(*ledger));
  for (const auto& rule : city_rules().operators) REQUIRE(ledger->register_operator(rule.id, rule.name));
  register_reader(*ledger, bus_reader, 101, ReaderKind::bus_validator);
  register_reader(*ledger, bus_reader_2, 101, ReaderKind::bus_validator);
  register_reader(*ledger, metro_gate, 201, ReaderKind::metro_gate);
  register_reader(*ledger, pool_gate, 601, ReaderKind::venue_gate);
  register_reader(*ledger, library_desk, 501, ReaderKind::identity_terminal);
  register_reader(*ledger, shop_terminal, 801, ReaderKind::shop_terminal);
  return ledger;
}

inline std::unique_ptr<ledger::Ledger> reopen_ledger(const std::filesystem::path& dir) {
  ledger::Options options;
  options.write_buffer_bytes = 4u << 20;
  options.block_cache_bytes = 8u << 20;
  auto opened = ledger::Ledger::open(dir.string(), options);
  INFO(opened.status().to_string());
  REQUIRE(opened);
  return std::move(opened).value();
}

// Issues the card and tops it up with `balance_minor` straight in the ledger.
inline CardRecord issue_card(ledger::Ledger& ledger, const std::string& hex, std::int64_t balance_minor,
                             RiderCategory category = RiderCategory::general) {
  ledger::NewCard card;
  card.card = *CardId::parse(hex);
  card.category = category;
  auto issued = ledger.issue_cards({card});
  REQUIRE(issued);
  if (balance_minor > 0) {
    auto system = ledger::find_system_accounts(ledger);
    REQUIRE(system);
    ledger::PostingGroup group;
    group.key = IdempotencyKey{Origin::system, 99, issued->front().wallet_account.value};
    Transfer transfer;
    transfer.debit_account = system->topup_float;
    transfer.credit_account = issued->front().wallet_account;
    transfer.amount_minor = balance_minor;
    transfer.code = TransferCode::top_up;
    group.transfers.push_back(transfer);
    auto posted = ledger.post({group});
    REQUIRE(posted);
    INFO(posted->front().reason.to_string());
    REQUIRE(posted->front().posted);
  }
  return issued->front();
}

// What a transfer moves from a city programme's budget to an operator: its
// amount when a programme's budget pays, minus it when the budget is paid back
// (a metro exit below the held fare), 0 for any other transfer.
inline std::int64_t city_paid_minor(const ledger::Ledger& ledger, const Transfer& transfer) {
  const auto programme = programme_of(transfer.code);
  if (!programme) return 0;
  auto system = ledger::find_system_accounts(ledger);
  REQUIRE(system);
  const AccountId budget = system->budget_of(*programme);
  if (transfer.debit_account == budget) return transfer.amount_minor;
  REQUIRE(transfer.credit_account == budget);
  return -transfer.amount_minor;
}

inline std::int64_t wallet_of(const ledger::Ledger& ledger, const std::string& hex) {
  auto card = ledger.card(*CardId::parse(hex));
  REQUIRE(card);
  auto account = ledger.account(card->wallet_account);
  REQUIRE(account);
  return account->balance_minor;
}

inline protocol::TapRecord make_tap(std::uint32_t reader, std::uint64_t sequence, const std::string& card, Mode mode,
                                    std::uint32_t operator_id, std::int64_t event_us, std::uint32_t location = 0) {
  protocol::TapRecord record;
  record.tap.id = TapId{ReaderId{reader}, sequence};
  record.tap.card = *CardId::parse(card);
  record.tap.mode = mode;
  record.tap.operator_id = OperatorId{operator_id};
  record.tap.event_time = EventTime{event_us};
  record.tap.location = location;
  record.tap.route = 1;
  return record;
}

// The pipeline on a ledger; submit() waits (with a deadline) for the answer.
struct Pipeline {
  explicit Pipeline(ledger::Ledger& ledger, EngineOptions options = quick_options())
      : Pipeline(ledger, rules::RuleBook::single(city_rules()), std::move(options)) {}
  Pipeline(ledger::Ledger& ledger, std::shared_ptr<const rules::RuleBook> rules, EngineOptions options = quick_options())
      : log(std::tmpfile()) {
    auto started = Engine::start(ledger, std::move(rules), std::move(options), metrics, log);
    INFO(started.status().to_string());
    REQUIRE(started);
    engine = std::move(started).value();
  }

  // The tests' taps are dated around monday_8am_us: the engine's clock is
  // a fixed day after them, and offline retention covers the months between.
  static constexpr std::int64_t engine_now_us = monday_8am_us + 120 * 24 * 3'600'000'000LL;
  // Without card proofs: for the tests that are not about them (proof_test.cpp is).
  static EngineOptions quick_options() {
    EngineOptions options;
    options.batch_wait = std::chrono::microseconds(100);
    options.clock = [] { return EventTime{engine_now_us}; };
    options.event_time_bounds.offline_retention_us = 366 * us_per_day;
    options.require_card_proof = false;
    return options;
  }

  net::SubmitResult submit_raw(std::vector<protocol::TapRecord> taps) {
    auto promise = std::make_shared<std::promise<net::SubmitResult>>();
    auto future = promise->get_future();
    ReaderId reader = taps.empty() ? ReaderId{} : taps.front().tap.id.reader;
    engine->submit(reader, std::move(taps), [promise](net::SubmitResult result) { promise->set_value(std::move(result)); });
    REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    return future.get();
  }

  std::vector<protocol::DecisionRecord> submit(std::vector<protocol::TapRecord> taps) {
    auto result = submit_raw(std::move(taps));
    REQUIRE(result.kind == net::SubmitResult::Kind::decided);
    return result.decisions;
  }

  protocol::DecisionRecord tap(const protocol::TapRecord& record) { return submit({record}).front(); }

  AdminResult admin(AdminCommand command) {
    auto promise = std::make_shared<std::promise<AdminResult>>();
    auto future = promise->get_future();
    engine->admin(std::move(command), [promise](AdminResult result) { promise->set_value(std::move(result)); });
    REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    return future.get();
  }

  Metrics metrics;
  Log log;
  std::unique_ptr<Engine> engine;
};

}  // namespace citycard::engine::testing
