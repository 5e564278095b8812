// A real ledger in a fresh temporary directory, with the city's system
// accounts, two operators and a few cards.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "ledger/ledger.h"
#include "ledger/system_accounts.h"

namespace citycard::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct LedgerFixture {
  TempDir dir;
  std::string path = dir.path() + "/ledger";
  std::unique_ptr<ledger::Ledger> ledger;
  ledger::SystemAccounts system;
  ledger::OperatorRecord bus;
  ledger::OperatorRecord metro;

  // A new ledger (`options` with create_if_missing), its system accounts and two operators.
  explicit LedgerFixture(ledger::Options options = {});
  void reopen();
  void close() { ledger.reset(); }
  CardRecord issue(const std::string& hex, std::int64_t overdraft_minor = 0);
  // Tops a card's wallet up from the float as operator action op:1:ref.
  void fund(const CardRecord& card, std::int64_t amount_minor, std::uint64_t ref = 1);
  // Posts one group and requires the write itself to succeed.
  ledger::GroupOutcome post_one(const ledger::PostingGroup& group);
  std::int64_t balance(AccountId id) const;
};

Transfer make_transfer(AccountId debit, AccountId credit, std::int64_t amount_minor,
                       TransferCode code = TransferCode::fare, Asset asset = Asset::twd);
ledger::PostingGroup make_group(IdempotencyKey key, std::vector<Transfer> transfers);
IdempotencyKey tap_key(std::uint32_t reader, std::uint64_t sequence);

}  // namespace citycard::testing
