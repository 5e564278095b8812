#include "city.h"

#include <cstdio>

#include "admission.h"
#include "ledger/readers.h"
#include "ledger/system_accounts.h"
#include "settlement/keys.h"

namespace citycard::sim {
namespace {

// Online readers: one of each purpose whose taps the city's rules price.
// Offline: two buses out of coverage.
const SimReader city_readers[] = {
    {ReaderId{17}, OperatorId{101}, ReaderKind::bus_validator, false},
    {ReaderId{18}, OperatorId{201}, ReaderKind::metro_gate, false},
    {ReaderId{20}, OperatorId{501}, ReaderKind::identity_terminal, false},
    {ReaderId{21}, OperatorId{801}, ReaderKind::shop_terminal, false},
    {ReaderId{40}, OperatorId{101}, ReaderKind::bus_validator, true},
    {ReaderId{41}, OperatorId{101}, ReaderKind::bus_validator, true},
};

Status register_readers(ledger::Ledger& ledger) {
  for (const SimReader& sim : city_readers) {
    ReaderRecord reader;
    reader.id = sim.id;
    reader.operator_id = sim.operator_id;
    reader.kind = sim.kind;
    reader.modes = rules::modes_for_kind(sim.kind);
    reader.offline_max_minor = 100'000;
    if (Status valid = rules::validate_registration(reader); !valid) return valid;
    if (Status put = ledger.put_records({ledger::reader_record_write(reader)}, {}); !put) return put;
  }
  return Status::ok();
}

}  // namespace

ledger::Options sim_ledger_options() {
  ledger::Options options;
  options.write_buffer_bytes = 8u << 20;  // few memtable flushes: they run on RocksDB's threads
  options.block_cache_bytes = 4u << 20;
  options.background_compactions = false;
  // A checkpoint pass every few batches, a few records per batch: crashes,
  // torn writes and failed syncs land in the middle of passes too.
  options.checkpoint_interval_transfers = 16;
  options.checkpoint_accounts_per_batch = 4;
  return options;
}

Result<CityPlan> build_city(const std::string& ledger_dir, const std::string& key_dir, const rules::RuleSet& rules,
                            loadgen::Random& random) {
  ledger::Options options = sim_ledger_options();
  options.create_if_missing = true;
  auto opened = ledger::Ledger::open(ledger_dir, options);
  if (!opened) return opened.status();
  ledger::Ledger& ledger = **opened;
  auto system = ledger::ensure_system_accounts(ledger);
  if (!system) return system.status();
  for (const auto& rule : rules.operators) {
    if (auto registered = ledger.register_operator(rule.id, rule.name); !registered) return registered.status();
  }
  if (Status readers = register_readers(ledger); !readers) return readers;

  CityPlan plan;
  plan.readers.assign(std::begin(city_readers), std::end(city_readers));
  const std::size_t card_count = 6 + random.below(10);
  std::vector<ledger::NewCard> cards;
  for (std::size_t i = 0; i < card_count; ++i) {
    char hex[32];  // 16 digits; room for what -Wformat-truncation cannot rule out
    std::snprintf(hex, sizeof hex, "04%06X0000%02X", static_cast<unsigned>(random.below(1u << 24)), static_cast<unsigned>(i));
    ledger::NewCard card;
    card.card = *CardId::parse(hex);
    const RiderCategory categories[] = {RiderCategory::general, RiderCategory::general, RiderCategory::student,
                                        RiderCategory::senior};
    card.category = categories[random.below(4)];
    cards.push_back(card);
    plan.cards.push_back(card.card);
  }
  auto issued = ledger.issue_cards(cards);
  if (!issued) return issued.status();
  // Some cards rich, some nearly empty: refusals and offline debt happen.
  std::vector<ledger::PostingGroup> funding;
  for (const CardRecord& card : *issued) {
    const std::int64_t amount = random.chance(0.3) ? random.between(1, 60) : random.between(100, 3000);
    ledger::PostingGroup group;
    group.key = IdempotencyKey{Origin::system, 99, card.wallet_account.value};
    Transfer transfer;
    transfer.debit_account = system->topup_float;
    transfer.credit_account = card.wallet_account;
    transfer.amount_minor = amount;
    transfer.code = TransferCode::top_up;
    group.transfers.push_back(transfer);
    funding.push_back(group);
  }
  auto posted = ledger.post(funding);
  if (!posted) return posted.status();
  for (const auto& outcome : *posted) {
    if (!outcome.posted) return outcome.reason;
  }
  if (Status keys = settlement::generate_keys(key_dir); !keys) return keys;
  return plan;
}

}  // namespace citycard::sim
