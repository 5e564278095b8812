#include "pki_clerks.h"

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "engine/pki/clerk_credentials.h"

namespace citycard::cli {
namespace {

struct ClerkOptions {
  std::string dir = "./var/pki";
  std::string name;
  std::string role;
  int days = 0;  // 0: the default lifetime (two years)
};

void check(const Status& status) {
  if (!status.is_ok()) fail(status.to_string(), status.code() == StatusCode::already_exists ? 3 : 1);
}

}  // namespace

void add_clerk_pki_commands(CLI::App& pki_command) {
  auto options = std::make_shared<ClerkOptions>();
  CLI::App* issue = pki_command.add_subcommand("issue-clerk", "issue a clerk's key and certificate: DIR/clerks/NAME.{crt,key}");
  issue->add_option("--dir", options->dir, "PKI directory (default ./var/pki)");
  issue->add_option("--name", options->name, "the clerk's name (a-z 0-9 . _ -)")->required();
  issue->add_option("--role", options->role, "viewer, clerk, supervisor, auditor or settlement")->required();
  issue->add_option("--days", options->days, "lifetime in days (default 730)");
  issue->callback([options] {
    auto role = parse_clerk_role(options->role);
    if (!role) fail("unknown role '" + options->role + "' (viewer, clerk, supervisor, auditor, settlement)", 2);
    if (!valid_clerk_name(options->name)) {
      fail("'" + options->name + "' is not a clerk name (1 to 32 of a-z 0-9 . _ -, starting with a letter or digit)", 2);
    }
    pki::Validity validity;
    if (options->days > 0) validity.lifetime = std::chrono::hours(24 * options->days);
    check(pki::issue_clerk(options->dir, Clerk{options->name, *role}, validity));
    std::cout << "clerk " << options->name << " (" << options->role << "): "
              << pki::clerk_certificate_path(options->dir, options->name).string() << " (key "
              << pki::clerk_key_path(options->dir, options->name).string() << ", mode 0600); sign in with --clerk "
              << (std::filesystem::path(options->dir) / "clerks" / options->name).string() << "\n";
  });

  CLI::App* revoke = pki_command.add_subcommand("revoke-clerk", "revoke a clerk's certificate (updates the CRL)");
  revoke->add_option("--dir", options->dir, "PKI directory (default ./var/pki)");
  revoke->add_option("--name", options->name, "the clerk's name")->required();
  revoke->callback([options] {
    check(pki::revoke_clerk(options->dir, options->name));
    std::cout << "clerk " << options->name << " revoked; CRL " << pki::Paths{options->dir}.crl().string()
              << " re-signed (the engine checks it at every sign-in)\n";
  });
}

}  // namespace citycard::cli
