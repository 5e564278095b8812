// The CLI's side of the engine's admin API (docs/admin-api.md). While
// citycard-engine runs it holds the ledger's lock, so commands that change a
// card (and, for fresh numbers, the reads) go through its admin socket; when
// no engine answers there, the commands open the ledger themselves as before.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"

namespace citycard::cli {

// $CITYCARD_ENGINE_SOCKET, else engine.sock beside the ledger directory
// (--db ./var/ledger -> ./var/engine.sock).
std::string engine_socket_path(const CliContext& context);

// One request, one reply, signed in as the context's clerk. nullopt when no engine listens on the socket (the
// caller then uses the ledger directly); fail() when an engine is there but
// does not answer within 35 s.
std::optional<nlohmann::json> engine_request(const CliContext& context, const nlohmann::json& request);

// The request with the clerk's --reason, for the audit trail.
nlohmann::json with_reason(const CliContext& context, nlohmann::json request);
// The same on the socket at `path`, signed in as the clerk at `clerk`
// (PKI/clerks/NAME; ledger_clerk.h) unless it is empty.
std::optional<nlohmann::json> engine_request_at(const std::string& path, const nlohmann::json& request,
                                                const std::string& clerk);

// The engine's reply to a card action, printed like the direct commands do;
// fail() with its error when it is not ok.
void print_engine_action(const CliContext& context, const nlohmann::json& reply, const std::string& what);

}  // namespace citycard::cli
