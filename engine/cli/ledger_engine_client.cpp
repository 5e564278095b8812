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

nlohmann::json with_reason(const CliContext& context, nlohmann::json request) {
  if (!context.reason.empty()) request["reason"] = context.reason;
  return request;
}

}  // namespace citycard::cli
