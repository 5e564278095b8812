// Four eyes in the group builder (engine/groups/approvals.h), on a real
// ledger without threads, as the engine's shards and the CLI's stopped-ledger
// path both use it: a refund over the limit waits and moves nothing; a
// second supervisor -- not the one who asked -- approves it (posted once,
// with the wallet check of that moment) or rejects it.
#include <catch2/catch.hpp>

#include "approvals.h"
#include "office_fixture.h"

using namespace citycard;
using namespace citycard::engine;
using namespace citycard::engine::testing;

namespace {

const std::string card_a = "04A1B2C3D4E5F1";
constexpr std::int64_t limit_minor = 1000;

struct Office : OfficeDesk {
  explicit Office(ledger::Ledger& ledger) : OfficeDesk(ledger, limit_minor) {}

  // Builds the command as `clerk` and posts its group when there is one.
  AdminResult act(AdminAction kind, std::int64_t amount, const std::string& ref, const std::string& clerk,
                  const std::string& role, ledger::PostingGroup* group_out = nullptr) {
    Draft draft;
    draft.admin().action = kind;
    draft.admin().card = *CardId::parse(card_a);
    draft.admin().amount_minor = amount;
    draft.admin().key = *IdempotencyKey::parse(ref);
    draft.admin().time = EventTime{monday_8am_us};
    draft.admin().operator_name = clerk;
    draft.admin().clerk_role = role;
    draft.admin().reason = clerk + "'s reason";
    builder.card_action(draft);
    if (group_out != nullptr) *group_out = draft.group;
    if (draft.admin_result().status.is_ok() && !draft.admin_result().duplicate) {
      auto posted = ledger.post({draft.group});
      REQUIRE(posted);
      REQUIRE(posted->front().posted);
      REQUIRE_FALSE(posted->front().duplicate);
    }
    return draft.admin_result();
  }
  std::int64_t wallet() { return ledger.account(ledger.card(*CardId::parse(card_a))->wallet_account)->balance_minor; }
  Approval approval(const std::string& ref) {
    auto found = load_approval(ledger, *IdempotencyKey::parse(ref));
    REQUIRE(found);
    REQUIRE(found->has_value());
    return **found;
  }
};

}  // namespace

TEST_CASE("four eyes: a refund over the limit waits, moves nothing, and a second supervisor approves it once") {
  TempDir dir("four-eyes-approve");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 5000);
  Office office(*ledger);

  // At the limit: carried out at once.
  AdminResult small = office.act(AdminAction::refund, limit_minor, "op:1:1", "mei", "clerk");
  REQUIRE(small.status.is_ok());
  CHECK_FALSE(small.pending);
  CHECK(office.wallet() == 4000);

  // Over it: recorded under apv:1:2, no transfer, the reference left free.
  ledger::PostingGroup asked;
  AdminResult big = office.act(AdminAction::refund, 2500, "op:1:2", "mei", "clerk", &asked);
  REQUIRE(big.status.is_ok());
  CHECK(big.pending);
  CHECK(asked.transfers.empty());
  CHECK(asked.key.to_string() == "apv:1:2");
  CHECK(office.wallet() == 4000);
  CHECK(office.approval("op:1:2").state == ApprovalState::pending);
  CHECK(office.audit("apv:1:2").outcome == "pending");
  CHECK(office.audit("apv:1:2").clerk == "mei");
  REQUIRE(list_approvals(*ledger, true));
  CHECK(list_approvals(*ledger, true)->size() == 1);

  // Asked again while it waits: still pending, nothing new written.
  AdminResult again = office.act(AdminAction::refund, 2500, "op:1:2", "mei", "clerk");
  CHECK(again.status.is_ok());
  CHECK(again.pending);
  CHECK(again.duplicate);
  // The reference for anything else is refused.
  CHECK(says(office.act(AdminAction::refund, 900, "op:1:2", "mei", "clerk"), "op:1:2 was used for another request"));
  CHECK(says(office.act(AdminAction::top_up, 10, "op:1:2", "mei", "clerk"), "op:1:2 was used for another request"));

  // Whoever asked may not decide, whatever his role.
  AdminResult own = office.act(AdminAction::approve, 0, "op:1:2", "mei", "supervisor");
  CHECK(own.status.code() == StatusCode::refused);
  CHECK(says(own, "clerk mei (supervisor) may not approve refund op:1:2: mei asked for it"));
  CHECK(office.approval("op:1:2").state == ApprovalState::pending);

  // A second supervisor: the refund posts under its own reference.
  ledger::PostingGroup decided;
  AdminResult approved = office.act(AdminAction::approve, 0, "op:1:2", "sue", "supervisor", &decided);
  REQUIRE(approved.status.is_ok());
  CHECK(decided.key.to_string() == "op:1:2");
  REQUIRE(decided.transfers.size() == 1);
  CHECK(decided.transfers[0].code == TransferCode::refund);
  CHECK(decided.transfers[0].amount_minor == 2500);
  CHECK(approved.wallet_minor == 1500);
  CHECK(office.wallet() == 1500);
  Approval done = office.approval("op:1:2");
  CHECK(done.state == ApprovalState::approved);
  CHECK(done.decided_by == "sue");
  AuditEntry entry = office.audit("op:1:2");
  CHECK(entry.outcome == "approved");
  CHECK(entry.clerk == "sue");
  CHECK(entry.amount_minor == 2500);
  CHECK(entry.detail.find("asked for by mei (clerk)") != std::string::npos);

  // Deciding again: the same supervisor's retry is a duplicate, anyone
  // else is told it was approved; the money moved once.
  CHECK(office.act(AdminAction::approve, 0, "op:1:2", "sue", "supervisor").duplicate);
  CHECK(says(office.act(AdminAction::approve, 0, "op:1:2", "ann", "supervisor"), "already approved by sue"));
  CHECK(says(office.act(AdminAction::reject, 0, "op:1:2", "ann", "supervisor"), "already approved by sue"));
  AdminResult retry = office.act(AdminAction::refund, 2500, "op:1:2", "mei", "clerk");
  CHECK(retry.status.is_ok());
  CHECK(retry.duplicate);
  CHECK_FALSE(retry.pending);
  CHECK(office.wallet() == 1500);
  CHECK(list_approvals(*ledger, true)->empty());
  CHECK(ledger->verify().ok());
}

TEST_CASE("four eyes: the wallet is checked when approved, and a rejection moves nothing") {
  TempDir dir("four-eyes-reject");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 3000);
  Office office(*ledger);
  REQUIRE(office.act(AdminAction::refund, 2000, "op:2:1", "mei", "clerk").pending);
  // A refund past the wallet is refused at once, not left to wait.
  CHECK(says(office.act(AdminAction::refund, 3500, "op:2:9", "mei", "clerk"), "holds 3000 TWD; cannot refund 3500"));
  // The card is used meanwhile: approving now would overdraw it.
  REQUIRE(office.act(AdminAction::refund, 1000, "op:2:2", "mei", "clerk").status.is_ok());
  REQUIRE(office.act(AdminAction::refund, 500, "op:2:3", "mei", "clerk").status.is_ok());
  AdminResult short_wallet = office.act(AdminAction::approve, 0, "op:2:1", "sue", "supervisor");
  CHECK(says(short_wallet, "holds 1500 TWD; cannot refund 2000"));
  CHECK(office.approval("op:2:1").state == ApprovalState::pending);

  // A viewer's certificate never gets here (role table); a decision needs a name.
  CHECK(says(office.act(AdminAction::reject, 0, "op:2:1", "", ""), "needs a signed-in supervisor"));
  CHECK(says(office.act(AdminAction::approve, 0, "op:9:9", "sue", "supervisor"), "no refund or adjustment op:9:9 waits for approval"));

  ledger::PostingGroup rejected_group;
  AdminResult rejected = office.act(AdminAction::reject, 0, "op:2:1", "sue", "supervisor", &rejected_group);
  REQUIRE(rejected.status.is_ok());
  CHECK(rejected_group.transfers.empty());
  CHECK(office.wallet() == 1500);
  CHECK(office.approval("op:2:1").state == ApprovalState::rejected);
  AuditEntry entry = office.audit("op:2:1");
  CHECK(entry.outcome == "rejected");
  CHECK(entry.clerk == "sue");
  CHECK(entry.detail.find("no money moved") != std::string::npos);
  CHECK(entry.detail.find("mei") != std::string::npos);
  // The refund asked again is told who rejected it; approving it now is refused.
  CHECK(says(office.act(AdminAction::refund, 2000, "op:2:1", "mei", "clerk"), "op:2:1 was rejected by sue"));
  CHECK(says(office.act(AdminAction::approve, 0, "op:2:1", "ann", "supervisor"), "already rejected by sue"));
  CHECK(office.wallet() == 1500);
  CHECK(ledger->verify().ok());
}

TEST_CASE("four eyes: a limit of 0 turns it off, and a decision racing another posts once") {
  TempDir dir("four-eyes-race");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 5000);
  {
    Log log(std::tmpfile());
    CardBook book(*ledger, log, 64, false);
    GroupBuilder off(BuildContext{*ledger, *ledger::find_system_accounts(*ledger), rules::RuleBook::single(city_rules()), log, nullptr, false, nullptr, 0},
                     book);
    Draft draft;
    draft.admin().action = AdminAction::refund;
    draft.admin().card = *CardId::parse(card_a);
    draft.admin().amount_minor = 1500;
    draft.admin().key = *IdempotencyKey::parse("op:3:1");
    off.card_action(draft);
    REQUIRE(draft.admin_result().status.is_ok());
    CHECK_FALSE(draft.admin_result().pending);
    CHECK(draft.group.transfers.size() == 1);
    REQUIRE(ledger->post({draft.group}));
  }
  Office office(*ledger);
  REQUIRE(office.act(AdminAction::refund, 1200, "op:3:2", "mei", "clerk").pending);
  // Two supervisors decide before either decision is durable (both in one
  // batch of the card's shard): the ledger keeps the first.
  auto build = [&](AdminAction kind, const std::string& who) {
    Draft draft;
    draft.admin().action = kind;
    draft.admin().card = *CardId::parse(card_a);
    draft.admin().key = *IdempotencyKey::parse("op:3:2");
    draft.admin().operator_name = who;
    draft.admin().clerk_role = "supervisor";
    office.builder.card_action(draft);
    REQUIRE(draft.admin_result().status.is_ok());
    return draft;
  };
  Draft first = build(AdminAction::approve, "sue");
  Draft second = build(AdminAction::approve, "ann");
  auto posted = ledger->post({first.group, second.group});
  REQUIRE(posted);
  CHECK((*posted)[0].posted);
  CHECK((*posted)[1].duplicate);
  Status told = GroupBuilder::check_retry(second.admin(), (*posted)[1].outcome);
  CHECK(told.code() == StatusCode::refused);
  CHECK(told.message().find("already approved") != std::string::npos);
  CHECK(office.wallet() == 5000 - 1500 - 1200);
  CHECK(ledger->verify().ok());
}
