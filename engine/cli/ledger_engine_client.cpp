#include "ledger_engine_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "engine/pki/clerk_credentials.h"
#include "ledger/system_accounts.h"
#include "ledger_clerk.h"
#include "ledger_support.h"

namespace citycard::cli {
namespace {

constexpr int reply_timeout_ms = 35'000;
constexpr std::size_t reply_bytes_max = 1 << 20;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

IdempotencyKey key_or_fail(const std::string& ref) {
  if (ref.empty()) return fresh_operator_key();
  auto parsed = IdempotencyKey::parse(ref);
  if (!parsed || parsed->origin != Origin::operator_action) fail("'" + ref + "' is not a reference (op:SOURCE:NUMBER)", 2);
  return *parsed;
}

}  // namespace

std::string engine_socket_path(const CliContext& context) {
  if (const char* path = std::getenv("CITYCARD_ENGINE_SOCKET"); path != nullptr && *path != '\0') return path;
  std::filesystem::path db(context.db_path);
  while (!db.empty() && db.filename().empty()) db = db.parent_path();  // "./var/ledger/" -> "./var/ledger"
  return (db.parent_path() / "engine.sock").string();
}

std::optional<nlohmann::json> engine_request(const CliContext& context, const nlohmann::json& request) {
  return engine_request_at(engine_socket_path(context), request, clerk_prefix(context));
}

namespace {

// One JSON line out, one in, on a connected admin socket.
nlohmann::json exchange(int fd, const std::string& path, const nlohmann::json& request) {
  std::string line = request.dump() + "\n";
  for (std::size_t sent = 0; sent < line.size();) {
    ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) fail("the engine at " + path + " closed the admin connection");
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(reply_timeout_ms);
  while (reply.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd waiting{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&waiting, 1, static_cast<int>(left)) <= 0) fail("the engine at " + path + " did not answer in time");
    char buffer[4096];
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) fail("the engine at " + path + " closed the admin connection");
    reply.append(buffer, static_cast<std::size_t>(n));
    if (reply.size() > reply_bytes_max) fail("the engine's reply is too long");
  }
  auto parsed = nlohmann::json::parse(reply.substr(0, reply.find('\n')), nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) fail("the engine's reply is not JSON");
  return parsed;
}

// Signs the connection in as the clerk at `prefix` (engine/core/admin_access.h).
void sign_in(int fd, const std::string& path, const std::string& prefix) {
  nlohmann::json challenge = exchange(fd, path, {{"op", "sign_in_challenge"}});
  if (!challenge.value("ok", false) || !challenge.contains("challenge") || !challenge["challenge"].is_string()) {
    fail("the engine at " + path + " gave no sign-in challenge: " + challenge.value("error", std::string("no reason given")));
  }
  auto proof = pki::sign_challenge(prefix, challenge["challenge"].get<std::string>());
  if (!proof) fail("clerk " + prefix + ": " + proof.status().message());
  nlohmann::json signed_in =
      exchange(fd, path, {{"op", "sign_in"}, {"certificate", proof->certificate_pem}, {"signature", proof->signature_hex}});
  if (!signed_in.value("ok", false)) fail("the engine refused clerk " + prefix + ": " + signed_in.value("error", std::string()));
}

}  // namespace

std::optional<nlohmann::json> engine_request_at(const std::string& path, const nlohmann::json& request,
                                                const std::string& clerk) {
  sockaddr_un address{};
  if (path.size() >= sizeof address.sun_path) return std::nullopt;
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return std::nullopt;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) return std::nullopt;
  if (!clerk.empty()) sign_in(fd.get(), path, clerk);
  return exchange(fd.get(), path, request);
}

void print_engine_action(const CliContext& context, const nlohmann::json& reply, const std::string& what) {
  if (!reply.value("ok", false)) fail(reply.value("error", std::string("the engine refused")));
  if (context.json) {
    std::cout << reply.dump() << "\n";
    return;
  }
  std::cout << fmt::format("{}{}: card {} is {}, wallet {} TWD, points {} (ref {})\n", what,
                           reply.value("duplicate", false) ? " (already done)" : "", reply.value("card", std::string()),
                           reply.value("status", std::string()), reply.value("wallet_minor", std::int64_t{0}),
                           reply.value("points", std::int64_t{0}), reply.value("ref", std::string()));
}

void replace_card_in_ledger(const CliContext& context, const std::string& old_text, const std::string& new_text,
                            const std::string& ref) {
  IdempotencyKey key = key_or_fail(ref);
  CardId new_id = parse_card_or_fail(new_text);
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_write);
  CardRecord old_card = card_or_fail(*ledger, old_text);
  if (old_card.card == new_id) fail("the new card must differ from the old one", 2);
  if (old_card.status == CardStatus::replaced) fail("card " + old_card.card.to_string() + " was already replaced");
  if (!old_card.linked_to.empty()) fail("card " + old_card.card.to_string() + " is a linked medium; replace its primary card");
  auto wallet = ledger->account(old_card.wallet_account);
  auto points = ledger->account(old_card.points_account);
  if (!wallet || !points) fail("card " + old_card.card.to_string() + " names accounts the ledger does not have");
  if (wallet->balance_minor < 0) fail(fmt::format("card {} owes {} TWD; settle the debt before replacing it", old_card.card.to_string(), -wallet->balance_minor));
  auto target = ledger->card(new_id);
  if (!target) {
    if (target.status().code() != StatusCode::not_found) fail(target.status().message());
    ledger::NewCard fresh;
    fresh.card = new_id;
    fresh.category = old_card.category;
    fresh.media = old_card.media;
    fresh.overdraft_minor = wallet->spec.balance_floor_minor < 0 ? -wallet->spec.balance_floor_minor : 0;
    fresh.wallet_ceiling_minor = wallet->spec.balance_ceiling_minor;
    auto issued = ledger->issue_cards({fresh});
    if (!issued) fail(issued.status().message());
    target = issued->front();
  }
  if (target->status != CardStatus::active || !target->linked_to.empty()) fail("new card " + new_id.to_string() + " is not an active primary card");
  ledger::PostingGroup group;
  group.key = key;
  auto move = [&](AccountId from, AccountId to, Asset asset, std::int64_t amount) {
    if (amount <= 0) return;
    Transfer t;
    t.debit_account = from;
    t.credit_account = to;
    t.asset = asset;
    t.amount_minor = amount;
    t.code = TransferCode::balance_move;
    t.event_time = now();
    group.transfers.push_back(t);
  };
  move(old_card.wallet_account, target->wallet_account, Asset::twd, wallet->balance_minor);
  move(old_card.points_account, target->points_account, Asset::points, points->balance_minor);
  old_card.status = CardStatus::replaced;
  old_card.replaced_by = new_id;
  group.card_updates.push_back(old_card);
  group.records.push_back(engine::audit_record(with_card(
      clerk_audit_entry(require_clerk(context, ClerkAction::replace), key, "replace",
                        fmt::format("card {} replaced by {}: moved {} TWD and {} points (engine stopped)",
                                    old_card.card.to_string(), new_id.to_string(), wallet->balance_minor, points->balance_minor)),
      old_card.card, 0, context.reason)));
  // No "deny/" record: the engine lists the replaced card at its next start
  // from the card's status (engine/core/deny_records.h); it alone writes those.
  auto posted = ledger->post({group});
  if (!posted) fail(posted.status().message());
  if (!posted->front().posted) fail(posted->front().reason.message());
  std::cout << fmt::format("{}card {} replaced by {}: moved {} TWD and {} points ({})\n",
                           posted->front().duplicate ? "already done: " : "", old_card.card.to_string(), new_id.to_string(),
                           wallet->balance_minor, points->balance_minor, key.to_string());
}

void refund_in_ledger(const CliContext& context, const std::string& card_text, std::int64_t amount, const std::string& ref) {
  if (amount <= 0) fail("refund amount must be positive, got " + std::to_string(amount), 2);
  IdempotencyKey key = key_or_fail(ref);
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_write);
  CardRecord card = card_or_fail(*ledger, card_text);
  auto system = ledger::find_system_accounts(*ledger);
  if (!system) fail(system.status().message());
  ledger::PostingGroup group;
  group.key = key;
  Transfer t;
  t.debit_account = card.wallet_account;
  t.credit_account = system->refunds;
  t.amount_minor = amount;
  t.code = TransferCode::refund;
  t.event_time = now();
  group.transfers.push_back(t);
  group.records.push_back(engine::audit_record(
      with_card(clerk_audit_entry(require_clerk(context, ClerkAction::refund), key, "refund",
                                  fmt::format("refund {} TWD card {} (engine stopped)", amount, card.card.to_string())),
                card.card, amount, context.reason)));
  auto posted = ledger->post({group});
  if (!posted) fail(posted.status().message());
  if (!posted->front().posted) fail(posted->front().reason.message());
  auto wallet = ledger->account(card.wallet_account);
  std::cout << fmt::format("{} {} TWD from card {} as {}; wallet now {} TWD\n",
                           posted->front().duplicate ? "already refunded" : "refunded", amount, card.card.to_string(),
                           key.to_string(), wallet ? wallet->balance_minor : 0);
}

}  // namespace citycard::cli
