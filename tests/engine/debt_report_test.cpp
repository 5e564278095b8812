// The debt report (engine/groups/debt_report.h): which wallets are below
// zero, by how much, and since the transfer that last took them there --
// on a ledger whose history the test writes itself, so the expected dates
// are the test's own.
#include "debt_report.h"
#include "engine_fixture.h"
#include "ledger/system_accounts.h"

namespace citycard::engine::testing {
namespace {

constexpr std::int64_t hour_us = 3'600'000'000LL;

struct Wallets {
  TempDir dir{"engine-debt-report"};
  std::unique_ptr<ledger::Ledger> ledger = make_ledger(dir.path / "ledger");
  ledger::SystemAccounts system = *ledger::find_system_accounts(*ledger);
  AccountId bus_payable;
  std::uint64_t next = 0;

  Wallets() {
    for (const auto& op : ledger->snapshot()->operators()) {
      if (op.id == OperatorId{101}) bus_payable = op.payable_account;
    }
    REQUIRE(bus_payable.value != 0);
  }

  CardRecord issue(const std::string& hex, std::int64_t overdraft_minor, RiderCategory category = RiderCategory::general) {
    ledger::NewCard card;
    card.card = *CardId::parse(hex);
    card.category = category;
    card.overdraft_minor = overdraft_minor;
    auto issued = ledger->issue_cards({card});
    REQUIRE(issued);
    return issued->front();
  }

  // Positive: a top-up into the wallet; negative: a fare out of it.
  void move(const CardRecord& card, std::int64_t amount_minor, std::int64_t event_us) {
    Transfer transfer;
    const bool in = amount_minor > 0;
    transfer.debit_account = in ? system.topup_float : card.wallet_account;
    transfer.credit_account = in ? card.wallet_account : bus_payable;
    transfer.amount_minor = in ? amount_minor : -amount_minor;
    transfer.code = in ? TransferCode::top_up : TransferCode::fare;
    transfer.event_time = EventTime{event_us};
    ledger::PostingGroup group;
    group.key = IdempotencyKey{Origin::system, 77, ++next};
    group.transfers.push_back(transfer);
    auto posted = ledger->post({group});
    REQUIRE(posted);
    INFO(posted->front().reason.to_string());
    REQUIRE(posted->front().posted);
  }
};

}  // namespace

TEST_CASE("debt report: wallets below zero, most in debt first, each since the debit that last took it below zero") {
  Wallets w;
  const std::int64_t t = monday_8am_us;
  const CardRecord once = w.issue("04F1000001", 1000);
  w.move(once, 100, t);
  w.move(once, -150, t + hour_us);  // -50 from here
  const CardRecord deeper = w.issue("04F1000002", 1000, RiderCategory::student);
  w.move(deeper, 20, t);
  w.move(deeper, -50, t + 2 * hour_us);  // -30 from here, and never back to zero
  w.move(deeper, 10, t + 3 * hour_us);   // -20
  w.move(deeper, -5, t + 4 * hour_us);   // -25
  const CardRecord again = w.issue("04F1000003", 1000, RiderCategory::senior);
  w.move(again, 10, t);
  w.move(again, -30, t + hour_us);       // -20
  w.move(again, 50, t + 2 * hour_us);    // +30: the first debt is paid
  w.move(again, -40, t + 5 * hour_us);   // -10 from here
  const CardRecord in_credit = w.issue("04F1000004", 1000);
  w.move(in_credit, 10, t);
  w.move(in_credit, -5, t + hour_us);
  const CardRecord at_zero = w.issue("04F1000005", 1000);
  w.move(at_zero, 10, t);
  w.move(at_zero, -10, t + hour_us);
  w.issue("04F1000006", 0);  // never used
  // A linked medium shares the wallet: the debt is listed once, under the primary card.
  ledger::NewCard mobile;
  mobile.card = *CardId::parse("04F1000007");
  mobile.media = Media::mobile;
  mobile.linked_to = once.card;
  REQUIRE(w.ledger->issue_cards({mobile}));

  auto report = read_debt_report(*w.ledger);
  INFO(report.status().to_string());
  REQUIRE(report);
  REQUIRE(report->size() == 3);
  const auto& first = (*report)[0];
  CHECK(first.card == once.card);
  CHECK(first.balance_minor == -50);
  CHECK(first.since.unix_us == t + hour_us);
  const auto& second = (*report)[1];
  CHECK(second.card == deeper.card);
  CHECK(second.category == RiderCategory::student);
  CHECK(second.balance_minor == -25);
  CHECK(second.since.unix_us == t + 2 * hour_us);
  const auto& third = (*report)[2];
  CHECK(third.card == again.card);
  CHECK(third.balance_minor == -10);
  CHECK(third.since.unix_us == t + 5 * hour_us);
}

TEST_CASE("debt report: a ledger without debts gives an empty list") {
  Wallets w;
  const CardRecord card = w.issue("04F2000001", 0);
  w.move(card, 10, monday_8am_us);
  auto report = read_debt_report(*w.ledger);
  REQUIRE(report);
  CHECK(report->empty());
}

}  // namespace citycard::engine::testing
