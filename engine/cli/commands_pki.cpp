// `citycard pki ...`: the CA, engine and reader certificates and the CRL
// (engine/pki/pki.h), and telling a running engine to load them again.
// Prints which files were written, never their contents: keys stay on disk.
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "engine/core/reader_json.h"
#include "engine/pki/pki.h"
#include "ledger/readers.h"
#include "ledger_clerk.h"
#include "ledger_engine_client.h"
#include "ledger_support.h"
#include "pki_clerks.h"

namespace citycard::cli {
namespace {

struct PkiOptions {
  std::string dir = "./var/pki";
  std::uint32_t reader_id = 0;
  std::vector<std::string> hosts;
  int days = 0;      // 0: the default lifetime
  std::string csr;   // sign-reader: the reader's certificate signing request
  std::string out;   // sign-reader: where the certificate goes (default DIR/readers/reader-N.crt)
  bool new_crl = false;
  std::string socket;  // reload: the engine's admin socket
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

std::string utc(std::chrono::system_clock::time_point when) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

// The one place the CLI issues a reader certificate: with --csr from the
// reader's own key (sign-reader), else with a key made here (issue-reader,
// tools and tests). A check that the reader may have a certificate at all
// (that it is registered) belongs here, before either.
void require_registered(const CliContext& context, ReaderId reader) {
  const std::string id = std::to_string(reader.value);
  const std::string how = "; register it first (citycard reader add --id " + id + " --operator OP --modes ...)";
  std::optional<ReaderRecord> found;
  if (auto reply = engine_request(context, nlohmann::json{{"op", "reader_show"}, {"id", reader.value}})) {
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("reader " + id + " is not registered")) + how);
    auto parsed = engine::reader_from_json(*reply);
    if (!parsed) fail("the engine's reply: " + parsed.status().message());
    found = *parsed;
  } else {
    auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
    auto loaded = ledger::load_reader(*ledger, reader);
    if (!loaded) fail(loaded.status().message() + (loaded.status().code() == StatusCode::not_found ? how : ""));
    found = *loaded;
  }
  if (found->status == ReaderStatus::retired) fail("reader " + id + " is retired; a new device gets a new id");
}

void issue_reader_certificate(const CliContext& context, const PkiOptions& options, ReaderId reader) {
  require_registered(context, reader);
  pki::Validity validity = validity_for(options.days, {});
  if (options.csr.empty()) {
    check(pki::issue_reader(options.dir, reader, validity));
  } else {
    check(pki::sign_reader(options.dir, options.csr, reader, validity, options.out));
  }
}

void reload_engine(const PkiOptions& options, const CliContext& context) {
  std::string path = options.socket.empty() ? engine_socket_path(context) : options.socket;
  auto reply = engine_request_at(path, nlohmann::json{{"op", "reload_pki"}}, clerk_prefix(context));
  if (!reply) fail("no engine answers on " + path + "; it loads the certificates and the CRL when it starts");
  if (!reply->value("ok", false)) fail("the engine kept its certificates: " + reply->value("error", std::string("refused")));
  std::cout << "engine reloaded the CA and CRL " << reply->value("crl", std::string()) << ": CRL number "
            << reply->value("crl_number", std::int64_t{0}) << ", " << reply->value("revoked", std::int64_t{0})
            << " revoked, valid until " << reply->value("crl_next_update", std::string()) << "; "
            << reply->value("connections_closed", std::int64_t{0}) << " connection(s) of revoked readers closed\n";
}

}  // namespace

void add_pki_commands(CLI::App& app, CliContext& context) {
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

  CLI::App* sign = pki->add_subcommand("sign-reader", "issue a reader's certificate from its CSR (citycard-reader keygen)");
  sign->add_option("--dir", options->dir, "PKI directory (default ./var/pki)");
  sign->add_option("--csr", options->csr, "the reader's certificate signing request (PEM)")->required();
  sign->add_option("--reader-id", options->reader_id, "reader id (goes into the certificate)")->required();
  sign->add_option("--days", options->days, "lifetime in days (default 730)");
  sign->add_option("--out", options->out, "certificate file (default DIR/readers/reader-N.crt)");
  sign->callback([options, &context] {
    ReaderId id = reader_of(*options);
    issue_reader_certificate(context, *options, id);
    std::string out = options->out.empty() ? pki::Paths{options->dir}.reader_certificate(id).string() : options->out;
    std::cout << "reader " << id.value << " certificate: " << out << " (the key stays on the reader)\n";
  });

  CLI::App* reader = pki->add_subcommand("issue-reader", "issue a reader key and certificate here (tools and tests; "
                                                         "production readers use keygen + sign-reader)");
  reader->add_option("--dir", options->dir, "PKI directory (default ./var/pki)");
  reader->add_option("--reader-id", options->reader_id, "reader id (goes into the certificate)")->required();
  reader->add_option("--days", options->days, "lifetime in days (default 730)");
  reader->callback([options, &context] {
    ReaderId id = reader_of(*options);
    issue_reader_certificate(context, *options, id);
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
              << " re-signed (`citycard pki reload` or SIGHUP makes a running engine use it)\n";
  });

  CLI::App* crl = pki->add_subcommand("crl", "re-sign the CRL: same entries, a new nextUpdate");
  crl->add_option("--dir", options->dir, "PKI directory (default ./var/pki)");
  crl->add_option("--days", options->days, "days until the new CRL's nextUpdate (default 30)");
  crl->add_flag("--new", options->new_crl,
                "start an empty CRL when DIR/crl.pem is lost (un-revokes every reader: only when there is no copy)");
  crl->callback([options] {
    pki::Validity validity = options->days > 0 ? pki::crl_validity(std::chrono::hours(24 * options->days))
                                               : pki::crl_validity();
    auto info = options->new_crl ? pki::new_empty_crl(options->dir, validity) : pki::resign_crl(options->dir, validity);
    if (!info) check(info.status());
    std::cout << "CRL " << pki::Paths{options->dir}.crl().string() << " signed: number " << info->number << ", "
              << info->revoked << " revoked, valid until " << utc(info->next_update)
              << " (`citycard pki reload` or SIGHUP makes a running engine use it)\n";
  });

  CLI::App* reload = pki->add_subcommand("reload", "make the running engine load the CA and CRL again (and close "
                                                   "connections of revoked readers)");
  reload->add_option("--socket", options->socket,
                     "the engine's admin socket (default $CITYCARD_ENGINE_SOCKET, else engine.sock beside --db)");
  reload->callback([options, &context] { reload_engine(*options, context); });
  add_clerk_pki_commands(*pki);
}

}  // namespace citycard::cli
