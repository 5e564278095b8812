// citycard-engine's admin API with clerks (engine/core/admin_access.h): a
// connection signs in with a clerk certificate of the installation's CA,
// each role is refused what it may not do, and the audit trail names who
// did what. Spoken raw on the admin socket, as any client could.
#include "clerk_fixture.h"
#include "edge_fixture.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "engine/groups/audit_entry.h"
#include "ledger/audit_chain.h"

namespace citycard::engine::testing {
namespace {

using nlohmann::json;

// One admin connection: JSON lines in order.
class AdminConnection {
 public:
  explicit AdminConnection(const std::filesystem::path& socket_path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path.c_str());
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~AdminConnection() { ::close(fd_); }
  json ask(const json& request) {
    std::string line = request.dump() + "\n";
    REQUIRE(::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size()));
    std::string reply;
    char buffer[4096];
    pollfd entry{fd_, POLLIN, 0};
    while (reply.find('\n') == std::string::npos && ::poll(&entry, 1, 20000) > 0) {
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      reply.append(buffer, static_cast<std::size_t>(n));
    }
    REQUIRE(reply.find('\n') != std::string::npos);
    return json::parse(reply.substr(0, reply.find('\n')));
  }
  // Signs in with the certificate and key at prefix.{crt,key}; the reply.
  json sign_in(const std::filesystem::path& prefix) {
    json challenge = ask({{"op", "sign_in_challenge"}});
    REQUIRE(challenge.value("ok", false));
    auto proof = pki::sign_challenge(prefix, challenge["challenge"].get<std::string>());
    REQUIRE(proof);
    return ask({{"op", "sign_in"}, {"certificate", proof->certificate_pem}, {"signature", proof->signature_hex}});
  }

 private:
  int fd_ = -1;
};

std::string error_of(const json& reply) {
  INFO(reply.dump());
  CHECK_FALSE(reply.value("ok", true));
  return reply.value("error", std::string());
}

// `citycard --db DATA/ledger --clerk NAME ARGS` (the clerk issued with
// `role` the first time), its output; it must exit 0 exactly if `succeeds`.
std::string run_cli(const std::filesystem::path& data, const std::string& clerk, ClerkRole role, const std::string& args,
                    bool succeeds) {
  std::string command = std::string(CLI_BINARY) + " --db " + (data / "ledger").string() + " --clerk " +
                        test_clerk(data, clerk, role) + " " + args + " 2>&1";
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  int status = ::pclose(pipe);
  INFO(command << "\n" << output);
  CHECK(WIFEXITED(status));
  CHECK((WEXITSTATUS(status) == 0) == succeeds);
  return output;
}

bool contains(const std::string& text, const std::string& part) {
  INFO(text);
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("admin API: nothing but ping before a clerk signs in, and only with a certificate of this CA's clerks") {
  TempDir dir("engine-clerk-sign-in");
  issue_cards(dir.path);
  const std::filesystem::path pki_dir = dir.path / "pki";
  make_pki(pki_dir, pki::crl_validity(), {1});
  const std::string supervisor = test_clerk(dir.path);
  EngineProcess engine(dir.path);
  engine.start();
  const std::string card = card_hex(1);

  AdminConnection anonymous(engine.admin_socket());
  CHECK(anonymous.ask({{"op", "ping"}}).value("ok", false));
  CHECK(contains(error_of(anonymous.ask({{"op", "balance"}, {"card", card}})), "sign in as a clerk first"));
  CHECK(contains(error_of(anonymous.ask({{"op", "topup"}, {"card", card}, {"amount_minor", 5}})), "sign in as a clerk first"));
  CHECK(contains(error_of(anonymous.ask({{"op", "sign_in"}, {"certificate", "x"}, {"signature", "00"}})), "ask for a challenge first"));

  // A reader's certificate from the same CA is not a clerk's.
  AdminConnection as_reader(engine.admin_socket());
  CHECK(contains(error_of(as_reader.sign_in(pki_dir / "readers" / "reader-1")), "not a clerk's"));
  CHECK(contains(error_of(as_reader.ask({{"op", "balance"}, {"card", card}})), "sign in as a clerk first"));

  // A clerk of another CA.
  TempDir other("engine-clerk-other-ca");
  REQUIRE(pki::init(other.path).is_ok());
  REQUIRE(pki::issue_clerk(other.path, Clerk{"supervisor", ClerkRole::supervisor}).is_ok());
  AdminConnection stranger(engine.admin_socket());
  CHECK(contains(error_of(stranger.sign_in(other.path / "clerks" / "supervisor")), "not accepted"));

  // The right certificate without its key: a signature over another challenge.
  AdminConnection replay(engine.admin_socket());
  REQUIRE(replay.ask({{"op", "sign_in_challenge"}}).value("ok", false));
  auto old_proof = pki::sign_challenge(supervisor, "an earlier challenge");
  REQUIRE(old_proof);
  CHECK(contains(error_of(replay.ask({{"op", "sign_in"}, {"certificate", old_proof->certificate_pem},
                                      {"signature", old_proof->signature_hex}})),
                 "signature does not verify"));

  // The supervisor signs in; once revoked, he cannot again.
  AdminConnection signed_in(engine.admin_socket());
  json welcome = signed_in.sign_in(supervisor);
  CHECK(welcome.value("clerk", std::string()) == "supervisor");
  CHECK(welcome.value("role", std::string()) == "supervisor");
  CHECK(signed_in.ask({{"op", "balance"}, {"card", card}}).value("ok", false));
  REQUIRE(pki::revoke_clerk(pki_dir, "supervisor").is_ok());
  AdminConnection revoked(engine.admin_socket());
  CHECK(contains(error_of(revoked.sign_in(supervisor)), "revoked"));
  CHECK(engine.terminate() == 0);
}

TEST_CASE("admin API: each role is refused what it may not do, and the audit trail names clerk, role and reason") {
  TempDir dir("engine-clerk-roles");
  issue_cards(dir.path);
  make_pki(dir.path / "pki", pki::crl_validity(), {});
  EngineProcess engine(dir.path);
  engine.start();
  const std::string card = card_hex(2);
  auto connect_as = [&](const std::string& name, ClerkRole role) {
    auto connection = std::make_unique<AdminConnection>(engine.admin_socket());
    REQUIRE(connection->sign_in(test_clerk(dir.path, name, role)).value("ok", false));
    return connection;
  };
  const json top_up = {{"op", "topup"}, {"card", card}, {"amount_minor", 30}, {"reason", "cash at the counter"}};
  const json block = {{"op", "block"}, {"card", card}};
  const json reload = {{"op", "reload_pki"}};
  const json add_reader = {{"op", "reader_add"}, {"id", 900}, {"operator", 501}, {"modes", {"identify"}}};

  auto viewer = connect_as("vic", ClerkRole::viewer);
  CHECK(viewer->ask({{"op", "balance"}, {"card", card}}).value("ok", false));
  CHECK(contains(error_of(viewer->ask(top_up)), "clerk vic (viewer) may not top up"));
  CHECK(contains(error_of(viewer->ask(block)), "may not block or unblock cards"));

  for (auto [name, role] : {std::pair{"ann", ClerkRole::auditor}, std::pair{"sam", ClerkRole::settlement}}) {
    auto other = connect_as(name, role);
    CHECK(other->ask({{"op", "history"}, {"card", card}}).value("ok", false));
    CHECK(contains(error_of(other->ask(top_up)), "may not top up"));
    CHECK(contains(error_of(other->ask({{"op", "refund"}, {"card", card}, {"amount_minor", 1}})), "may not refund"));
    CHECK(contains(error_of(other->ask(add_reader)), "may not manage readers"));
  }

  // A refused request under its own reference, sent again and again: one
  // entry in the trail, and the reference stays free for a request allowed.
  json with_ref = top_up;
  with_ref["ref"] = "op:5:1";
  for (int i = 0; i < 3; ++i) CHECK(contains(error_of(viewer->ask(with_ref)), "clerk vic (viewer) may not top up"));

  auto counter = connect_as("cleo", ClerkRole::clerk);
  json topped = counter->ask(top_up);
  json topped_with_ref = counter->ask(with_ref);
  INFO(topped_with_ref.dump());
  CHECK(topped_with_ref.value("ok", false));
  CHECK_FALSE(topped_with_ref.value("duplicate", true));
  INFO(topped.dump());
  CHECK(topped.value("ok", false));
  CHECK(contains(error_of(counter->ask(reload)), "may not reload certificates"));
  CHECK(contains(error_of(counter->ask(add_reader)), "may not manage readers"));
  // The office's bulk work and the day's close have their roles too.
  CHECK(contains(error_of(counter->ask({{"op", "operator_add"}, {"id", 990}, {"name", "Nobody"}})), "may not add operators"));
  CHECK(contains(error_of(counter->ask({{"op", "transfers_import"}, {"rows", json::array()}})), "may not import transfers"));
  CHECK(contains(error_of(counter->ask({{"op", "settle_close"}, {"day", "2026-01-01"}})), "may not close a business day"));
  CHECK(contains(error_of(viewer->ask({{"op", "card_import"}, {"cards", json::array()}})), "may not issue cards"));

  auto supervisor = connect_as("sue", ClerkRole::supervisor);
  CHECK(supervisor->ask(block).value("ok", false));
  CHECK(supervisor->ask(reload).value("ok", false));
  const std::string top_up_ref = topped.value("ref", std::string());
  viewer.reset();
  counter.reset();
  supervisor.reset();
  CHECK(engine.terminate() == 0);

  ledger::Options options;
  options.read_only = true;
  auto ledger = ledger::Ledger::open((dir.path / "ledger").string(), options);
  REQUIRE(ledger);
  auto report = (*ledger)->verify();
  CHECK(report.ok());
  // Done: the engine's rule file installed at its first start, two top-ups
  // and the block. Refused: 15 requests, each once
  // (the viewer's three with one reference count once).
  std::vector<AuditEntry> trail;
  REQUIRE((*ledger)->snapshot()->scan_records(ledger::RecordSpace::audit_chain, "", [&](std::string_view, std::string_view value) {
    auto link = ledger::decode_audit_link(value);
    REQUIRE(link);
    trail.push_back(audit_entry_from_body(link->key, link->body));
    return true;
  }));
  CHECK(report.audit_entries == trail.size());
  auto count = [&](const std::string& outcome) {
    return std::count_if(trail.begin(), trail.end(), [&](const AuditEntry& e) { return e.outcome == outcome; });
  };
  CHECK(count("done") == 4);
  CHECK(count("refused") == 15);
  // A refused card action names what was asked, and why it was refused;
  // the request's reference is the key of the entry under origin rfs.
  auto refused = std::find_if(trail.begin(), trail.end(), [](const AuditEntry& e) { return e.ref == "rfs:5:1"; });
  REQUIRE(refused != trail.end());
  CHECK(refused->clerk == "vic");
  CHECK(refused->role == "viewer");
  CHECK(refused->action == "top-up");
  CHECK(refused->card == card);
  CHECK(refused->amount_minor == 30);
  CHECK(refused->reason == "cash at the counter");
  CHECK(refused->outcome == "refused");
  CHECK(contains(refused->detail, "clerk vic (viewer) may not top up"));
  // Any other op by its name, as its own entries name it.
  CHECK(std::any_of(trail.begin(), trail.end(), [](const AuditEntry& e) {
    return e.clerk == "cleo" && e.action == "settle close" && e.outcome == "refused" &&
           e.detail.find("may not close a business day") != std::string::npos;
  }));
  auto body = (*ledger)->record(ledger::RecordSpace::audit, top_up_ref);
  REQUIRE(body);
  AuditEntry entry = audit_entry_from_body(top_up_ref, *body);
  CHECK(entry.clerk == "cleo");
  CHECK(entry.role == "clerk");
  CHECK(entry.action == "top-up");
  CHECK(entry.card == card);
  CHECK(entry.amount_minor == 30);
  CHECK(entry.reason == "cash at the counter");
  CHECK(entry.outcome == "done");
}

// Four eyes (docs/clerks.md): refunds over [admin] four_eyes_minor wait for
// a second supervisor, through the running engine and on the stopped ledger.
TEST_CASE("admin API: four eyes -- a large refund waits for a second supervisor, who is never the one who asked") {
  TempDir dir("engine-four-eyes");
  issue_cards(dir.path);
  make_pki(dir.path / "pki", pki::crl_validity(), {});
  // Not the default (1000): the engine must take it from its config.
  EngineProcess engine(dir.path, "[admin]\nfour_eyes_minor = 2000\n");
  engine.start();
  const std::string card = card_hex(3);
  const std::string other_card = card_hex(4);
  auto connect_as = [&](const std::string& name, ClerkRole role) {
    auto connection = std::make_unique<AdminConnection>(engine.admin_socket());
    REQUIRE(connection->sign_in(test_clerk(dir.path, name, role)).value("ok", false));
    return connection;
  };
  auto wallet = [&](AdminConnection& connection, const std::string& which) {
    json reply = connection.ask({{"op", "balance"}, {"card", which}});
    REQUIRE(reply.value("ok", false));
    return reply.value("wallet_minor", std::int64_t{-1});
  };
  auto cli_as = [&](const std::string& clerk, const std::string& args, bool succeeds) {
    return run_cli(dir.path, clerk, ClerkRole::viewer, args, succeeds);
  };
  auto mei = connect_as("mei", ClerkRole::clerk);
  auto vic = connect_as("vic", ClerkRole::viewer);
  auto sue = connect_as("sue", ClerkRole::supervisor);
  auto ann = connect_as("ann", ClerkRole::supervisor);
  test_clerk(dir.path, "aud", ClerkRole::auditor);

  // Over the limit: pending, no money moves; asked again: still one pending.
  const json big = {{"op", "refund"}, {"card", card}, {"amount_minor", 2500}, {"ref", "op:77:1"}, {"reason", "double charge"}};
  json asked = mei->ask(big);
  INFO(asked.dump());
  REQUIRE(asked.value("ok", false));
  CHECK(asked.value("pending", false));
  CHECK(wallet(*vic, card) == 5000);
  json again = mei->ask(big);
  CHECK(again.value("pending", false));
  CHECK(again.value("duplicate", false));
  // At the limit: at once.
  json small = mei->ask({{"op", "refund"}, {"card", card}, {"amount_minor", 2000}, {"ref", "op:77:2"}});
  CHECK(small.value("ok", false));
  CHECK_FALSE(small.value("pending", true));
  CHECK(wallet(*vic, card) == 3000);

  // Only a supervisor decides, and never his own.
  const json approve_1 = {{"op", "approval_approve"}, {"ref", "op:77:1"}, {"reason", "receipt seen"}};
  CHECK(contains(error_of(mei->ask(approve_1)), "clerk mei (clerk) may not approve or reject refunds"));
  CHECK(contains(error_of(vic->ask(approve_1)), "clerk vic (viewer) may not approve or reject refunds"));
  REQUIRE(sue->ask({{"op", "refund"}, {"card", card}, {"amount_minor", 2800}, {"ref", "op:77:3"}}).value("pending", false));
  CHECK(contains(error_of(sue->ask({{"op", "approval_approve"}, {"ref", "op:77:3"}})),
                 "clerk sue (supervisor) may not approve refund op:77:3: sue asked for it"));
  json listed = vic->ask({{"op", "approval_list"}});
  REQUIRE(listed.value("ok", false));
  REQUIRE(listed["approvals"].size() == 2);
  CHECK(listed["approvals"][0].value("ref", std::string()) == "op:77:1");
  CHECK(listed["approvals"][0].value("clerk", std::string()) == "mei");
  CHECK(listed["approvals"][0].value("amount_minor", std::int64_t{0}) == 2500);
  CHECK(listed["approvals"][0].value("reason", std::string()) == "double charge");
  CHECK(wallet(*vic, card) == 3000);

  // A second supervisor approves: the wallet moves once.
  json approved = ann->ask(approve_1);
  INFO(approved.dump());
  REQUIRE(approved.value("ok", false));
  CHECK(approved.value("state", std::string()) == "approved");
  CHECK(wallet(*vic, card) == 500);
  CHECK(ann->ask(approve_1).value("duplicate", false));
  CHECK(contains(error_of(sue->ask(approve_1)), "refund op:77:1 was already approved by ann"));
  CHECK(contains(error_of(sue->ask({{"op", "approval_reject"}, {"ref", "op:77:1"}})), "already approved by ann"));
  json retried = mei->ask(big);
  CHECK(retried.value("duplicate", false));
  CHECK_FALSE(retried.value("pending", true));
  CHECK(wallet(*vic, card) == 500);
  // Rejected: no money moves; a retry of the refund is told so.
  json rejected = ann->ask({{"op", "approval_reject"}, {"ref", "op:77:3"}, {"reason", "no receipt"}});
  REQUIRE(rejected.value("ok", false));
  CHECK(wallet(*vic, card) == 500);
  CHECK(contains(error_of(sue->ask({{"op", "refund"}, {"card", card}, {"amount_minor", 2800}, {"ref", "op:77:3"}})),
                 "op:77:3 was rejected by ann (no receipt)"));
  CHECK(vic->ask({{"op", "approval_list"}})["approvals"].empty());

  // The CLI through the engine says so, and lists who asked.
  std::string pending = cli_as("mei", "refund " + other_card + " 4000 --reason \"lost card\"", true);
  CHECK(contains(pending, "pending approval: ref op:"));
  const std::string cli_ref = pending.substr(pending.find("op:"), pending.find(' ', pending.find("op:")) - pending.find("op:"));
  CHECK(contains(cli_as("vic", "approvals list", true), cli_ref + "  card " + other_card + "  4000 TWD  asked by mei (clerk)"));
  CHECK(contains(cli_as("mei", "approvals approve " + cli_ref, false), "may not approve or reject refunds"));
  CHECK(contains(cli_as("ann", "approvals approve " + cli_ref, true), "refund " + cli_ref + " approved"));
  CHECK(wallet(*vic, other_card) == 1000);
  mei.reset();
  vic.reset();
  sue.reset();
  ann.reset();
  CHECK(engine.terminate() == 0);

  // On the stopped ledger the same rule, with the CLI's limit.
  std::string stopped = cli_as("mei", "--four-eyes-minor 100 refund " + other_card + " 300", true);
  CHECK(contains(stopped, "pending approval: ref op:"));
  const std::string stopped_ref = stopped.substr(stopped.find("op:"), stopped.find(' ', stopped.find("op:")) - stopped.find("op:"));
  CHECK(contains(cli_as("vic", "--json balance " + other_card, true), "\"wallet_minor\":1000"));
  CHECK(contains(cli_as("sue", "approvals reject " + stopped_ref + " --reason \"asked twice\"", true),
                 "refund " + stopped_ref + " rejected"));
  CHECK(contains(cli_as("ann", "approvals approve " + stopped_ref, false), "already rejected by sue"));
  CHECK(contains(cli_as("vic", "--json balance " + other_card, true), "\"wallet_minor\":1000"));

  // The trail: who asked, who decided.
  std::string trail = cli_as("aud", "audit", true);
  INFO(trail);
  CHECK(contains(trail, "mei (clerk) refund card " + card + " 2500 TWD pending (double charge)"));
  CHECK(contains(trail, "ann (supervisor) refund card " + card + " 2500 TWD approved (receipt seen): refund 2500 TWD card " + card +
                            " asked for by mei (clerk): double charge [op:77:1]"));
  CHECK(contains(trail, "ann (supervisor) refund card " + card + " 2800 TWD rejected (no receipt)"));
  CHECK(contains(trail, "sue (supervisor) refund card " + other_card + " 300 TWD rejected (asked twice)"));
  CHECK(contains(cli_as("vic", "verify", true), "OK"));
}

// One account, many media (docs/clerks.md, "Accounts and media"): `card
// link` and `card merge` through the running engine, `card unlink` and
// `history` on the stopped ledger, with the roles of each.
TEST_CASE("card link and merge through the engine, unlink on the stopped ledger, each with its role") {
  TempDir dir("engine-clerk-accounts");
  issue_cards(dir.path);  // every card 5000 TWD
  make_pki(dir.path / "pki", pki::crl_validity(), {});
  const std::string primary = card_hex(3), phone = card_hex(4), other = card_hex(5), survivor = card_hex(6);
  auto cli_as = [&](const std::string& clerk, ClerkRole role, const std::string& args, bool succeeds) {
    return run_cli(dir.path, clerk, role, args, succeeds);
  };
  {
    EngineProcess engine(dir.path);
    engine.start();
    CHECK(contains(cli_as("mei", ClerkRole::clerk, "card link " + phone + " --to " + primary + " --reason \"new phone\"", true),
                   "card " + phone + " linked to the account of " + primary + ": moved 5000 TWD and 0 points"));
    CHECK(contains(cli_as("mei", ClerkRole::clerk, "card merge " + other + " --into " + primary, false), "may not merge accounts"));
    CHECK(contains(cli_as("sue", ClerkRole::supervisor, "card merge " + phone + " --into " + other, false),
                   "merge accounts by their primary cards"));
    // 5000 more would pass the primary wallet's ceiling (10 000): refused, nothing moves.
    CHECK(contains(cli_as("sue", ClerkRole::supervisor, "card merge " + other + " --into " + primary, false),
                   "would pass its ceiling of 10000"));
    CHECK(contains(cli_as("sue", ClerkRole::supervisor, "card merge " + other + " --into " + survivor, true),
                   "account of card " + other + " merged into " + survivor + ": moved 5000 TWD"));
    CHECK(contains(cli_as("vic", ClerkRole::viewer, "--json balance " + phone, true), "\"wallet_minor\":10000"));
    CHECK(contains(cli_as("vic", ClerkRole::viewer, "--json balance " + other, true), "\"wallet_minor\":10000"));
    CHECK(engine.terminate() == 0);
  }
  CHECK(contains(cli_as("mei", ClerkRole::clerk, "card unlink " + phone, true), "card " + phone + " unlinked"));
  CHECK(contains(cli_as("vic", ClerkRole::viewer, "--json balance " + phone, true), "\"wallet_minor\":0"));
  CHECK(contains(cli_as("vic", ClerkRole::viewer, "--json balance " + primary, true), "\"wallet_minor\":10000"));
  // The absorbed card's history: its top-up, the move, and where it went.
  std::string history = cli_as("vic", ClerkRole::viewer, "history " + other, true);
  CHECK(contains(history, "top_up"));
  CHECK(contains(history, "merged into " + survivor + ", account of " + survivor));
  std::string trail = cli_as("aud", ClerkRole::auditor, "audit", true);
  CHECK(contains(trail, "mei (clerk) link card " + phone));
  CHECK(contains(trail, "sue (supervisor) merge card " + other));
  CHECK(contains(trail, "mei (clerk) unlink card " + phone));
  CHECK(contains(cli_as("vic", ClerkRole::viewer, "verify", true), "OK"));
}

}  // namespace citycard::engine::testing
