#include "ledger_clerk.h"

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "engine/pki/clerk_credentials.h"
#include "ledger_support.h"

namespace citycard::cli {

std::string clerk_prefix(const CliContext& context) {
  if (!context.clerk.empty()) return context.clerk;
  if (const char* path = std::getenv("CITYCARD_CLERK"); path != nullptr) return path;
  return {};
}

std::string pki_dir(const CliContext& context) {
  if (!context.pki_dir.empty()) return context.pki_dir;
  if (const char* path = std::getenv("CITYCARD_PKI"); path != nullptr && *path != '\0') return path;
  std::filesystem::path db(context.db_path);
  while (!db.empty() && db.filename().empty()) db = db.parent_path();  // "./var/ledger/" -> "./var/ledger"
  return (db.parent_path() / "pki").string();
}

const Clerk& require_clerk(const CliContext& context, ClerkAction action) {
  const Clerk& clerk = signed_in_clerk(context);
  if (Status allowed = role_status(clerk, action); !allowed) fail(allowed.message());
  return clerk;
}

Status role_status(const Clerk& clerk, ClerkAction action) {
  if (role_allows(clerk.role, action)) return Status::ok();
  return Status::refused("clerk " + clerk.name + " (" + std::string(clerk_role_name(clerk.role)) + ") may not " +
                         std::string(clerk_action_name(action)));
}

const Clerk& signed_in_clerk(const CliContext& context) {
  static std::optional<Clerk> signed_in;
  if (!signed_in) {
    const std::string prefix = clerk_prefix(context);
    if (prefix.empty()) {
      fail("this command needs a clerk: --clerk PKI/clerks/NAME or CITYCARD_CLERK (citycard init made the first supervisor)", 2);
    }
    const std::string challenge = pki::new_challenge();
    auto proof = pki::sign_challenge(prefix, challenge);
    if (!proof) fail("clerk " + prefix + ": " + proof.status().message());
    auto clerk = pki::verify_clerk(pki_dir(context), *proof, challenge);
    if (!clerk) fail("clerk " + prefix + ": " + clerk.status().message());
    signed_in = *clerk;
  }
  return *signed_in;
}

std::string bootstrap_first_supervisor(const CliContext& context, const std::string& name) {
  const std::filesystem::path dir = pki_dir(context);
  if (!std::filesystem::exists(pki::Paths{dir}.ca_certificate())) {
    if (Status made = pki::init(dir); !made) fail("PKI " + dir.string() + ": " + made.message());
  }
  if (!std::filesystem::exists(pki::clerk_certificate_path(dir, name))) {
    if (Status issued = pki::issue_clerk(dir, Clerk{name, ClerkRole::supervisor}); !issued) {
      fail("first supervisor: " + issued.message(), issued.code() == StatusCode::invalid_argument ? 2 : 1);
    }
  }
  return (dir / "clerks" / name).string();
}

engine::AuditEntry clerk_audit_entry(const Clerk& clerk, const IdempotencyKey& key, std::string action, std::string detail) {
  engine::AuditEntry entry;
  entry.ref = key.to_string();
  entry.time = now();
  entry.clerk = clerk.name;
  entry.role = std::string(clerk_role_name(clerk.role));
  entry.action = std::move(action);
  entry.detail = std::move(detail);
  return entry;
}

engine::AuditEntry with_card(engine::AuditEntry entry, const CardId& card, std::int64_t amount_minor, std::string reason) {
  entry.card = card.to_string();
  entry.amount_minor = amount_minor;
  entry.reason = std::move(reason);
  return entry;
}

engine::OfficeActor office_actor(const CliContext& context, ClerkAction action) {
  require_clerk(context, action);
  return signed_actor(context);
}

engine::OfficeActor signed_actor(const CliContext& context) {
  const Clerk& clerk = signed_in_clerk(context);
  engine::OfficeActor actor;
  actor.clerk = clerk.name;
  actor.role = std::string(clerk_role_name(clerk.role));
  actor.reason = context.reason;
  actor.time = now();
  actor.key = fresh_operator_key();
  return actor;
}

}  // namespace citycard::cli
