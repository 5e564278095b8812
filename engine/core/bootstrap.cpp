#include "bootstrap.h"

#include <chrono>
#include <filesystem>

#include "card_keys.h"
#include "engine/pki/pki.h"
#include "ledger/encoding.h"
#include "ledger/system_accounts.h"
#include "rule_set_loader.h"
#include "rule_store.h"

namespace citycard::engine {

Result<Prepared> prepare(const EngineConfig& config, Log& log) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::create_directories(config.data_dir, error);
  if (error) return Status::io_error("cannot create data directory " + config.data_dir + ": " + error.message());

  Prepared prepared;
  // The file is checked before the ledger opens, so a bad one names its problems first.
  auto rule_file = read_rule_file(config.rules_file);
  if (!rule_file) return rule_file.status();
  auto rule_set = rules::load_rule_set(config.rules_file);
  if (!rule_set) return Status::invalid_argument("rule set " + config.rules_file + ": " + rule_set.status().message());

  ledger::Options options;
  options.create_if_missing = true;
  options.write_buffer_bytes = config.ledger_write_buffer_bytes;
  options.free_bytes_min = config.ledger_free_bytes_min;
  options.block_cache_bytes = config.ledger_block_cache_bytes;
  options.delete_bytes_per_s = config.ledger_delete_bytes_per_s;
  auto opened = ledger::Ledger::open(config.ledger_dir, options);
  if (!opened) return opened.status();
  prepared.ledger = std::move(opened).value();
  if (const std::string& older = prepared.ledger->upgraded_from(); !older.empty()) {
    log.event("ledger_upgraded", {{"ledger", config.ledger_dir}, {"from", older},
                                  {"to", std::string(ledger::encoding::format_value)}});
  }
  auto system = ledger::ensure_system_accounts(*prepared.ledger);
  if (!system) return system.status();
  for (const auto& rule : rule_set->operators) {
    if (prepared.ledger->operator_record(rule.id)) continue;
    auto registered = prepared.ledger->register_operator(rule.id, rule.name);
    if (!registered) return registered.status();
    log.event("operator_registered", {{"operator", std::to_string(rule.id.value)}, {"name", rule.name}});
  }
  const EventTime now{
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count()};
  auto book = open_rule_book(*prepared.ledger, *rule_file, now, log);
  if (!book) return Status::invalid_argument("rule set " + config.rules_file + ": " + book.status().message());
  prepared.rules = std::move(*book);

  pki::Paths paths{config.pki_dir};
  // A CA certificate without its key is a CA held elsewhere: never replace it.
  if (!fs::exists(paths.ca_key()) && !fs::exists(paths.ca_certificate())) {
    if (Status made = pki::init(config.pki_dir); !made) return made;
    log.event("pki_created", {{"dir", config.pki_dir}});
  }
  if (!fs::exists(paths.engine_certificate()) || !fs::exists(paths.engine_key())) {
    if (Status made = pki::issue_engine(config.pki_dir, config.engine_hosts); !made) return made;
    log.event("engine_certificate_issued", {{"dir", config.pki_dir}});
  }
  auto keeper = PkiKeeper::open(PkiKeeperOptions{config.pki_dir, config.crl_lifetime, config.crl_check_interval}, log);
  if (!keeper) return keeper.status();
  prepared.pki = std::move(keeper).value();
  prepared.tls = prepared.pki->tls_files();

  auto card_keys = open_card_keys(config, log, &prepared.newest_key_version);
  if (!card_keys) return card_keys.status();
  prepared.card_keys = std::move(*card_keys);
  if (config.require_card_proof && !prepared.card_keys) {
    return Status::invalid_argument(
        "[card] require_proof is on but no card key source is configured: set [card] token_dir, or pkcs11_module "
        "with token_label and pin_file / pin_env (or require_proof = false)");
  }
  return prepared;
}

}  // namespace citycard::engine
