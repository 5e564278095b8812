// Adjustments as the card office makes them: `citycard card adjust` through
// a running citycard-engine (admin op card_adjust, signed in with clerk
// certificates) and on the stopped ledger of a twin data directory that
// holds the same cards and taps. Both must end with the same balances; the
// refusals are in the audit trail; the ledgers verify.
#include "clerk_fixture.h"
#include "edge_fixture.h"
#include "office_fixture.h"

namespace citycard::engine::testing {
namespace {

struct Cli {
  std::string output;
  bool succeeded = false;
};

// `citycard --db DATA/ledger --clerk <NAME of ROLE> ARGS`, its stdout and stderr.
Cli cli(const std::filesystem::path& data, const std::string& clerk, ClerkRole role, const std::string& args) {
  int code = -1;
  Cli result;
  result.output = run(std::string(CLI_BINARY) + " --db " + (data / "ledger").string() + " --clerk " +
                          test_clerk(data, clerk, role) + " " + args,
                      &code);
  result.succeeded = code == 0;
  return result;
}

bool contains(const std::string& text, const std::string& part) {
  INFO(text);
  return text.find(part) != std::string::npos;
}

// The cards of edge_fixture.h, and a bus ride of `card` the adjustments name (tap:17:1).
void prepare(const std::filesystem::path& data, const std::string& card) {
  issue_cards(data);
  auto ledger = reopen_ledger(data / "ledger");
  OfficeDesk desk(*ledger, limits::four_eyes_minor_default);
  desk.ride(card, 1);
}

nlohmann::json json_of(const Cli& result) {
  INFO(result.output);
  REQUIRE(result.succeeded);
  return nlohmann::json::parse(result.output);
}

}  // namespace

TEST_CASE("citycard card adjust: through the running engine and on a stopped ledger, the same balances and a trail of refusals") {
  TempDir running("engine-adjust");
  TempDir stopped("engine-adjust-stopped");
  const std::string card = card_hex(5);
  for (const auto* data : {&running.path, &stopped.path}) prepare(*data, card);
  make_pki(running.path / "pki", pki::crl_validity(), {});

  // The same work on both: a credit naming the ride, a goodwill debit, one
  // over the ride's fare (refused), a viewer's (refused by role), and a
  // large debit that waits for a second supervisor who then approves it.
  auto office_work = [&](const std::filesystem::path& data) {
    Cli credit = cli(data, "mei", ClerkRole::clerk, "card adjust " + card + " 10 --tap 17:1 --reason \"charged twice\" --ref op:50:1");
    INFO(credit.output);
    CHECK(credit.succeeded);
    CHECK(contains(credit.output, "adjustment +10 TWD card " + card + " for tap:17:1"));
    CHECK(cli(data, "mei", ClerkRole::clerk, "card adjust " + card + " --amount=-30 --reason \"missed transfer\" --ref op:50:2").succeeded);
    Cli too_much = cli(data, "mei", ClerkRole::clerk, "card adjust --card " + card + " --amount 6 --tap tap:17:1 --reason again --ref op:50:3");
    CHECK_FALSE(too_much.succeeded);
    CHECK(contains(too_much.output, "tap tap:17:1 charged card " + card + " 15 TWD and 10 TWD of it was credited back already: at most 5 more, not 6"));
    Cli viewer = cli(data, "vic", ClerkRole::viewer, "card adjust " + card + " 5 --reason \"asked nicely\" --ref op:50:4");
    CHECK_FALSE(viewer.succeeded);
    CHECK(contains(viewer.output, "clerk vic (viewer) may not adjust charges"));
    Cli large = cli(data, "mei", ClerkRole::clerk, "card adjust " + card + " --amount=-1500 --reason \"fare evasion settled\" --ref op:50:5");
    CHECK(contains(large.output, "pending approval: ref op:50:5 (adjustment -1500 TWD card " + card));
    CHECK(contains(cli(data, "vic", ClerkRole::viewer, "approvals list").output,
                   "op:50:5  adjustment  card " + card + "  -1500 TWD  asked by mei (clerk)"));
    CHECK(contains(cli(data, "mei", ClerkRole::clerk, "approvals approve op:50:5").output, "may not approve or reject refunds"));
    Cli approved = cli(data, "sue", ClerkRole::supervisor, "approvals approve op:50:5 --reason \"receipt seen\"");
    CHECK(contains(approved.output, "adjustment op:50:5 approved"));
    // The card's history says what each adjustment corrects and why.
    Cli history = cli(data, "vic", ClerkRole::viewer, "history " + card);
    CHECK(contains(history.output, "adjustment @101"));
    CHECK(contains(history.output, "+10 TWD  op:50:1  tap:17:1: charged twice"));
    CHECK(contains(history.output, "-30 TWD  op:50:2  missed transfer"));
  };

  EngineProcess engine(running.path);
  engine.start();
  office_work(running.path);
  CHECK(engine.terminate() == 0);
  office_work(stopped.path);

  // The same money on both paths.
  for (const auto& [field, query] : {std::pair{"wallet_minor", "--json balance " + card}}) {
    CHECK(json_of(cli(running.path, "vic", ClerkRole::viewer, query)).at(field) ==
          json_of(cli(stopped.path, "vic", ClerkRole::viewer, query)).at(field));
  }
  CHECK(json_of(cli(running.path, "vic", ClerkRole::viewer, "--json balance " + card)).at("wallet_minor") == 5000 - 15 + 10 - 30 - 1500);
  CHECK(json_of(cli(running.path, "vic", ClerkRole::viewer, "--json operator list")) ==
        json_of(cli(stopped.path, "vic", ClerkRole::viewer, "--json operator list")));

  for (const auto* data : {&running.path, &stopped.path}) {
    const std::string trail = cli(*data, "aud", ClerkRole::auditor, "audit --card " + card).output;
    INFO(trail);
    CHECK(contains(trail, "mei (clerk) adjustment card " + card + " 10 TWD done (charged twice): adjustment +10 TWD card " + card +
                              " for tap:17:1: 10 TWD from operator 101 [op:50:1]"));
    CHECK(contains(trail, "mei (clerk) adjustment card " + card + " 6 TWD refused (again): tap tap:17:1 charged card"));
    CHECK(contains(trail, "vic (viewer) adjustment card " + card + " 5 TWD refused (asked nicely): clerk vic (viewer) may not adjust charges [rfs:50:4]"));
    CHECK(contains(trail, "mei (clerk) adjustment card " + card + " -1500 TWD pending"));
    CHECK(contains(trail, "sue (supervisor) adjustment card " + card + " -1500 TWD approved (receipt seen)"));
    CHECK(contains(trail, "mei (clerk) approval card " + card + " refused: clerk mei (clerk) may not approve or reject refunds"));
    CHECK(contains(cli(*data, "vic", ClerkRole::viewer, "verify").output, "OK"));
  }
}

}  // namespace citycard::engine::testing
