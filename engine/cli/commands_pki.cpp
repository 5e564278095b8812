// `citycard pki ...`: the CA, engine and reader certificates (engine/pki/pki.h).
// Prints which files were written, never their contents: keys stay on disk.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "engine/pki/pki.h"

namespace citycard::cli {
namespace {

struct PkiOptions {
  std::string dir = "./var/pki";
  std::uint32_t reader_id = 0;
  std::vector<std::string> hosts;
  int days = 0;  // 0: the default lifetime
};

void check(const Status& status) {
  if (!status.is_ok()) fail(status.to_string(), status.code() == StatusCode::already_exists ? 3 : 1);
}

pki::Validity validity_for(int days, pki::Validity fallback) {
  if (days > 0) fallback.lifetime = std::chrono::hours(24 * days);
  return fallback;
}

ReaderId reader_of(const PkiOptions& options) {
  if (options.reader_id == 0) fail("--reader-id must be a positive number", 2);
  return ReaderId{options.reader_id};
}

}  // namespace

void add_pki_commands(CLI::App& app, CliContext& /*context*/) {
  auto options = std::make_shared<PkiOptions>();
  CLI::App* pki = app.add_subcommand("pki", "certificate authority for the engine and the readers");
  pki->require_subcommand(1);

  CLI::App* init = pki->add_subcommand("init", "create the CA (key, certificate, empty CRL) in --dir");
  init->add_option("--dir", options->dir, "PKI directory (default ./var/pki)");
  init->add_option("--days", options->days, "CA lifetime in days (default 3650)");
  init->callback([options] {
    check(pki::init(options->dir, validity_for(options->days, pki::ca_validity())));
    pki::Paths paths{options->dir};
    std::cout << "CA created: " << paths.ca_certificate().string() << " (key " << paths.ca_key().string()
              << ", mode 0600), CRL " << paths.crl().string() << "\n";
  });

  CLI::App* reader = pki->add_subcommand("issue-reader", "issue a reader device's client certificate");
  reader->add_option("--dir", options->dir, "PKI directory (default ./var/pki)");
  reader->add_option("--reader-id", options->reader_id, "reader id (goes into the certificate)")->required();
  reader->add_option("--days", options->days, "lifetime in days (default 730)");
  reader->callback([options] {
    ReaderId id = reader_of(*options);
    check(pki::issue_reader(options->dir, id, validity_for(options->days, {})));
    pki::Paths paths{options->dir};
    std::cout << "reader " << id.value << " certificate: " << paths.reader_certificate(id).string() << " (key "
              << paths.reader_key(id).string() << ", mode 0600)\n";
  });

  CLI::App* engine = pki->add_subcommand("issue-engine", "issue the engine's server certificate");
  engine->add_option("--dir", options->dir, "PKI directory (default ./var/pki)");
  engine->add_option("--host", options->hosts, "DNS name or IP address the readers connect to (repeatable)")
      ->required();
  engine->add_option("--days", options->days, "lifetime in days (default 730)");
  engine->callback([options] {
    check(pki::issue_engine(options->dir, options->hosts, validity_for(options->days, {})));
    pki::Paths paths{options->dir};
    std::cout << "engine certificate: " << paths.engine_certificate().string() << " (key "
              << paths.engine_key().string() << ", mode 0600)\n";
  });

  CLI::App* revoke = pki->add_subcommand("revoke", "revoke a reader's certificate (updates the CRL)");
  revoke->add_option("--dir", options->dir, "PKI directory (default ./var/pki)");
  revoke->add_option("--reader-id", options->reader_id, "reader id to revoke")->required();
  revoke->callback([options] {
    ReaderId id = reader_of(*options);
    check(pki::revoke_reader(options->dir, id));
    std::cout << "reader " << id.value << " revoked; CRL " << pki::Paths{options->dir}.crl().string()
              << " re-signed (restart the engine to load it)\n";
  });
}

}  // namespace citycard::cli
