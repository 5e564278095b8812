// First start and every start of citycard-engine: the data directory, the
// ledger (created with the system accounts and the rule set's operators
// when missing), the rule set, the certificates (a CA and an engine
// certificate made under the PKI directory on first start; the CRL checked,
// or re-signed, by the PkiKeeper) and the token holding the card master keys
// (card_keys.h: a SoftHSM2 token made on first start unless one is
// configured). Each step's failure names the file or directory.
#pragma once

#include <memory>

#include "card/crypto.h"
#include "config.h"
#include "engine/net/server.h"
#include "ledger/ledger.h"
#include "log.h"
#include "pki_keeper.h"
#include "rule_book.h"

namespace citycard::engine {

struct Prepared {
  std::unique_ptr<ledger::Ledger> ledger;
  // The configured rule file with the versions the ledger holds
  // (engine/groups/rule_store.h: open_rule_book).
  std::shared_ptr<const rules::RuleBook> rules;
  net::TlsFiles tls;
  std::unique_ptr<PkiKeeper> pki;  // keeps the CRL current and reloads it
  std::shared_ptr<card::CardKeySource> card_keys;  // the token's; null when none is configured
  std::uint8_t newest_key_version = 0;             // the token's highest master key version
};

Result<Prepared> prepare(const EngineConfig& config, Log& log);

}  // namespace citycard::engine
