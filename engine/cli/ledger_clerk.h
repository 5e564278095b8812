// The clerk the CLI acts as: `--clerk PKI/clerks/NAME` (or $CITYCARD_CLERK)
// names a clerk's certificate and key (engine/pki/clerk_credentials.h).
// - Through the engine, the CLI signs in on the admin connection and the
//   engine checks the certificate and the role.
// - On the ledger directly (engine stopped), require_clerk() does the same
//   check here against the installation's CA and CRL: the key signs a fresh
//   challenge, the certificate must be the CA's, unrevoked, and a clerk's,
//   and the role must allow the action (include/citycard/clerk.h).
// The PKI is `--pki DIR`, else $CITYCARD_PKI, else pki beside the ledger
// directory (--db ./var/ledger -> ./var/pki), where citycard-engine keeps it.
#pragma once

#include <string>

#include "citycard/clerk.h"
#include "commands.h"
#include "engine/groups/audit_entry.h"
#include "engine/groups/office_import.h"

namespace citycard::cli {

// The --clerk prefix, or "" when none was given.
std::string clerk_prefix(const CliContext& context);
std::string pki_dir(const CliContext& context);

// The signed-in clerk, allowed to do `action`; fail() naming what is wrong
// (no --clerk, a certificate the CA did not issue or revoked, a role that
// may not). Checked once per run.
const Clerk& require_clerk(const CliContext& context, ClerkAction action);
// The clerk whose certificate and key the CLI was given, proven as
// require_clerk() proves him, whatever his role; fail() otherwise.
const Clerk& signed_in_clerk(const CliContext& context);
// ok when the clerk's role allows `action`; refused naming clerk, role and
// action otherwise (the words the engine's admin API uses).
Status role_status(const Clerk& clerk, ClerkAction action);

// `citycard init`'s first supervisor: the PKI's CA if there is none yet,
// and clerk NAME with role supervisor if he has no certificate. Returns the
// --clerk prefix to sign in with.
std::string bootstrap_first_supervisor(const CliContext& context, const std::string& name);

// An audit entry for a direct-ledger action by `clerk` (audit_entry.h).
engine::AuditEntry clerk_audit_entry(const Clerk& clerk, const IdempotencyKey& key, std::string action, std::string detail);

// The clerk allowed to do `action`, with --reason, now and a fresh reference,
// for the office's bulk work on a stopped ledger (office_import.h).
engine::OfficeActor office_actor(const CliContext& context, ClerkAction action);
// The same for the signed-in clerk whatever his role (a refusal to record).
engine::OfficeActor signed_actor(const CliContext& context);

// The entry with the card, amount and the clerk's reason filled in.
engine::AuditEntry with_card(engine::AuditEntry entry, const CardId& card, std::int64_t amount_minor, std::string reason);

}  // namespace citycard::cli
