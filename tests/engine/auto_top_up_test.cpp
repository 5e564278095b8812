// Auto top-up switched per card by the card office (AdminAction::
// set_auto_top_up, engine/groups/group_auto_top_up.cpp): checked against
// the rule set and the card, audited, through the running engine and on a
// stopped ledger; its daily limit over the taps of a day; and the day's auto
// top-ups settled to the issuing bank in its own signed file at the close.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "engine_fixture.h"
#include "office_fixture.h"
#include "settlement/issuer_file.h"
#include "settlement/keys.h"
#include "settlement/settlement.h"

namespace citycard::engine::testing {
namespace {

namespace st = citycard::settlement;

constexpr std::int64_t hour_us = 3'600'000'000LL;
const st::DayConfig taipei{480, 180};

const std::string credit = "0CC20001";    // a co-branded credit card
const std::string physical = "0CC20002";  // a plain card

CardRecord issue_media(ledger::Ledger& ledger, const std::string& hex, Media media) {
  ledger::NewCard card;
  card.card = *CardId::parse(hex);
  card.media = media;
  auto issued = ledger.issue_cards({card});
  INFO(issued.status().to_string());
  REQUIRE(issued);
  return issued->front();
}

AdminCommand auto_top_up(const std::string& card, bool on, std::uint64_t number, std::int64_t threshold = 100,
                         std::int64_t amount = 500, std::int64_t daily_max = 1000) {
  AdminCommand command;
  command.action = AdminAction::set_auto_top_up;
  command.card = *CardId::parse(card);
  command.auto_top_up = AutoTopUpSetting{on, threshold, amount, daily_max};
  command.key = IdempotencyKey{Origin::operator_action, 9, number};
  command.time = EventTime{monday_8am_us - hour_us};
  command.operator_name = "alice";
  command.clerk_role = "clerk";
  return command;
}

AdminResult act(OfficeDesk& desk, AdminCommand command) {
  Draft draft;
  draft.admin() = std::move(command);
  desk.builder.card_action(draft);
  if (draft.admin_result().status.is_ok() && !draft.admin_result().duplicate) desk.post(draft.group);
  return draft.admin_result();
}

std::uint64_t sequence_next = 1;

protocol::TapRecord payment(const std::string& card, std::int64_t amount, std::int64_t at_us) {
  protocol::TapRecord record = make_tap(shop_terminal, sequence_next++, card, Mode::pay, 801, at_us);
  record.tap.amount_minor = amount;
  return record;
}

std::string message(const AdminResult& result) { return result.status.to_string(); }

}  // namespace

TEST_CASE("auto top-up: the card office's setting is checked against the card and the rule set, and audited") {
  TempDir dir("auto-top-up-desk");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_media(*ledger, credit, Media::co_branded_credit);
  issue_media(*ledger, physical, Media::physical_card);
  OfficeDesk desk(*ledger, 0);

  // Refused, naming the problem; nothing is posted.
  CHECK(message(act(desk, auto_top_up(physical, true, 1))) ==
        "invalid argument: card 0CC20002 is a card medium; the rule set allows auto top-up on no such medium");
  CHECK(message(act(desk, auto_top_up(credit, true, 2, 100, 0))) ==
        "invalid argument: the auto top-up amount must be positive, got 0");
  CHECK(message(act(desk, auto_top_up(credit, true, 3, -1))) ==
        "invalid argument: the auto top-up threshold must not be negative, got -1");
  CHECK(message(act(desk, auto_top_up(credit, true, 4, 100, 20000))) ==
        "invalid argument: the auto top-up amount 20000 is above the wallet maximum of 10000");
  CHECK(message(act(desk, auto_top_up(credit, true, 5, 9600, 500))) ==
        "invalid argument: threshold 9600 plus amount 500 is above the wallet maximum of 10000: a top-up at the "
        "threshold would overfill the wallet");
  CHECK(message(act(desk, auto_top_up(credit, true, 6, 100, 500, 400))) ==
        "invalid argument: the daily limit 400 is less than one auto top-up of 500");
  CHECK(message(act(desk, auto_top_up(credit, true, 7, 100, 500, 0))) ==
        "invalid argument: the daily auto top-up limit must be positive, got 0");
  CHECK(message(act(desk, auto_top_up("0CC2FFFF", true, 8))) == "not found: no card 0CC2FFFF");
  for (const char* key : {"op:9:1", "op:9:2", "op:9:6"}) CHECK_FALSE(ledger->record(ledger::RecordSpace::audit, key));

  // Switched on: audited with the clerk and what it was.
  AdminResult on = act(desk, auto_top_up(credit, true, 10));
  INFO(message(on));
  REQUIRE(on.status.is_ok());
  AuditEntry audit = desk.audit("op:9:10");
  CHECK(audit.action == "auto top-up");
  CHECK(audit.clerk == "alice");
  CHECK(audit.detail == "card 0CC20001 auto top-up on threshold 100 amount 500 daily limit 1000 (was off)");
  // The same reference again is a retry; for another setting it is refused.
  CHECK(act(desk, auto_top_up(credit, true, 10)).duplicate);
  CHECK(message(act(desk, auto_top_up(credit, false, 10))).find("was used for another request") != std::string::npos);

  // Off: audited with the setting it had.
  REQUIRE(act(desk, auto_top_up(credit, false, 11)).status.is_ok());
  CHECK(desk.audit("op:9:11").detail ==
        "card 0CC20001 auto top-up off (was on threshold 100 amount 500 daily limit 1000)");

  // A blocked card cannot be switched on (off is always allowed); a replaced card neither.
  AdminCommand block;
  block.action = AdminAction::set_status;
  block.card = *CardId::parse(credit);
  block.status = CardStatus::blocked;
  block.key = IdempotencyKey{Origin::operator_action, 9, 20};
  block.time = EventTime{monday_8am_us};
  REQUIRE(act(desk, block).status.is_ok());
  CHECK(message(act(desk, auto_top_up(credit, true, 21))) ==
        "refused: card 0CC20001 is blocked; auto top-up is switched on for active cards only");
  CHECK(act(desk, auto_top_up(credit, false, 22)).status.is_ok());
  AdminCommand replace;
  replace.action = AdminAction::replace;
  replace.card = *CardId::parse(credit);
  replace.new_card = *CardId::parse("0CC20003");
  replace.key = IdempotencyKey{Origin::operator_action, 9, 23};
  replace.time = EventTime{monday_8am_us};
  REQUIRE(act(desk, replace).status.is_ok());
  CHECK(message(act(desk, auto_top_up(credit, false, 24))) ==
        "refused: card 0CC20001 was replaced by 0CC20003; set the new card's auto top-up");
  CHECK(ledger->verify().ok());
}

TEST_CASE("auto top-up through the engine: the daily limit within a day, again the next day, off stops it") {
  TempDir dir("auto-top-up-engine");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_media(*ledger, credit, Media::co_branded_credit);
  auto system = ledger::find_system_accounts(*ledger);
  REQUIRE(system);
  auto clearing = [&] { return -ledger->account(system->credit_card_clearing)->balance_minor; };
  Pipeline pipeline(*ledger);

  // No auto top-up yet: an empty wallet is refused.
  CHECK(pipeline.tap(payment(credit, 400, monday_8am_us)).outcome == protocol::Outcome::refused);
  AdminResult on = pipeline.admin(auto_top_up(credit, true, 1));
  INFO(message(on));
  REQUIRE(on.status.is_ok());

  // 0 + 500 - 400 = 100; 100 + 500 - 400 = 200; then the day's 1000 is used up.
  CHECK(pipeline.tap(payment(credit, 400, monday_8am_us + 1 * hour_us)).outcome == protocol::Outcome::approved);
  CHECK(pipeline.tap(payment(credit, 400, monday_8am_us + 2 * hour_us)).outcome == protocol::Outcome::approved);
  CHECK(wallet_of(*ledger, credit) == 200);
  CHECK(clearing() == 1000);
  const protocol::DecisionRecord refused = pipeline.tap(payment(credit, 400, monday_8am_us + 3 * hour_us));
  CHECK(refused.outcome == protocol::Outcome::refused);
  CHECK(refused.reason == RefusalReason::insufficient_balance);
  CHECK(clearing() == 1000);

  // The next business day (from 03:00): available again.
  const std::int64_t tuesday_us = monday_8am_us + 24 * hour_us;
  CHECK(pipeline.tap(payment(credit, 400, tuesday_us)).outcome == protocol::Outcome::approved);
  CHECK(clearing() == 1500);
  CHECK(wallet_of(*ledger, credit) == 300);

  // Switched off: no more top-ups, the wallet alone pays.
  AdminCommand off = auto_top_up(credit, false, 2);
  off.time = EventTime{tuesday_us + hour_us};
  REQUIRE(pipeline.admin(off).status.is_ok());
  CHECK(pipeline.tap(payment(credit, 400, tuesday_us + 2 * hour_us)).outcome == protocol::Outcome::refused);
  CHECK(clearing() == 1500);
  CHECK(ledger->verify().ok());
}

TEST_CASE("the close settles the day's auto top-ups to the issuing bank in its own signed file") {
  TempDir dir("auto-top-up-issuer");
  const std::string keys = (dir.path / "keys").string();
  REQUIRE(st::generate_keys(keys));
  auto ledger = make_ledger(dir.path / "ledger");
  issue_media(*ledger, credit, Media::co_branded_credit);
  auto system = ledger::find_system_accounts(*ledger);
  REQUIRE(system);
  Pipeline pipeline(*ledger);
  REQUIRE(pipeline.admin(auto_top_up(credit, true, 1, 100, 500, 5000)).status.is_ok());
  for (int i = 0; i < 3; ++i)
    REQUIRE(pipeline.tap(payment(credit, 450, monday_8am_us + i * hour_us)).outcome == protocol::Outcome::approved);
  const std::int64_t monday_top_ups = -ledger->account(system->credit_card_clearing)->balance_minor;
  CHECK(monday_top_ups == 1500);
  // Tuesday's top-up belongs to Tuesday's file.
  REQUIRE(pipeline.tap(payment(credit, 450, monday_8am_us + 24 * hour_us)).outcome == protocol::Outcome::approved);

  st::Options options;
  options.day = taipei;
  options.out_dir = (dir.path / "out").string();
  options.key_dir = keys;
  options.issuer_name = "Taoyuan Co-Branded Bank";
  st::Settlement settlement(*ledger, options);
  const auto day = st::business_day_of(EventTime{monday_8am_us}, taipei);
  auto closed = settlement.close(day, EventTime{Pipeline::engine_now_us});
  INFO(closed.status().to_string());
  REQUIRE(closed);
  REQUIRE(closed->issuer);
  CHECK(closed->issuer->file_name == "CCISS_20260302_01.csv");
  CHECK(closed->issuer->totals.lines == 2);  // 1000 at the first payment (two units), none at the second, 500 at the third
  CHECK(closed->issuer->totals.total_minor == monday_top_ups);

  // Beside the operators' files, with its digest and signature.
  const std::string path = options.out_dir + "/" + closed->issuer->file_name;
  auto contents = st::read_issuer_file(path);
  INFO(contents.status().to_string());
  REQUIRE(contents);
  CHECK(contents->day == "2026-03-02");
  CHECK(contents->totals.total_minor == monday_top_ups);
  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  CHECK(header.rfind("H,CCISS,1,Taoyuan Co-Branded Bank,2026-03-02,", 0) == 0);
  auto keyset = st::SettlementKeys::load(keys, true);
  REQUIRE(keyset);
  std::ifstream sig_in(path + ".sig", std::ios::binary);
  std::stringstream signature;
  signature << sig_in.rdbuf();
  CHECK(keyset->verify_file(path, signature.str()));

  // verify compares it with the ledger; regenerate makes the same bytes.
  auto verified = settlement.verify(day);
  REQUIRE(verified);
  INFO((verified->problems.empty() ? std::string() : verified->problems.front()));
  CHECK(verified->ok());
  REQUIRE(verified->issuer_file);
  CHECK(verified->issuer_file->total_minor == monday_top_ups);
  auto regenerated = settlement.regenerate(day);
  INFO(regenerated.status().to_string());
  CHECK(regenerated);
  // An altered file is noticed.
  { std::ofstream(path, std::ios::app) << "L,4,tap:1:1,,2026-03-02T09:00:00.000000+08:00,1,\n"; }
  auto altered = settlement.verify(day);
  REQUIRE(altered);
  CHECK_FALSE(altered->ok());
}

}  // namespace citycard::engine::testing
