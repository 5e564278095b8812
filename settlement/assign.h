// Which batch a transfer belongs to, decided while streaming the ledger.
//
// Closes happen in day order, and close(D) records S_D, the ledger's last
// sequence at that moment. A posting group with first sequence s that moves
// an operator's payable, with event day d, belongs to
//   - batch(d), when s <= S_d: it was posted before its day closed;
//   - otherwise batch(D*), flagged late: D* is the first day closed after it
//     was posted (the smallest closed D with s <= S_D), so D* > d.
// That makes close(D) take, from the sequences [from_D, S_D], the groups with
// d == D plus those with d < D and s > S_{D-1}. A group with d > D (a tap of
// tomorrow posted before today closed) is left for its own day, and the
// first such group is where the next close starts: from_{D+1} is its first
// sequence, or S_D + 1 when there is none. Memory is one group at a time; the
// scan is as long as the ledger grew since the oldest still-open tap.
//
// The rule is a function of the ledger and the close records alone, so
// regenerating a day assigns exactly the same lines.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <array>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "batch_file.h"
#include "business_day.h"
#include "issuer_file.h"
#include "keys.h"
#include "ledger/ledger.h"

namespace citycard::settlement {

// Operator payable accounts by account id (operators are few; built once).
class PayableIndex {
 public:
  explicit PayableIndex(const std::vector<ledger::OperatorRecord>& operators);
  std::optional<OperatorId> operator_of(AccountId account) const;

 private:
  std::unordered_map<std::uint64_t, OperatorId> operator_by_account_;
};

// Card tokens of card accounts, with a fixed-size direct-mapped cache (slot =
// account id mod slots): a day of taps touches the same cards many times, and
// two ledger reads plus one HMAC per tap would dominate the close. Memory is
// the same for a quiet day and a busy one: slots * 40 bytes (10 MiB).
class CardTokens {
 public:
  static constexpr std::size_t slots = 1u << 18;
  static constexpr std::size_t token_chars = 32;
  CardTokens(const ledger::Snapshot& snapshot, const TokenHasher& hasher);
  // The token of the card owning `account`; "" when the account is no card's.
  std::string_view token_of_account(AccountId account);

 private:
  struct Slot {
    std::uint64_t account = 0;  // 0: empty (account ids start at 1)
    std::array<char, token_chars> token{};
    bool is_card = false;
  };
  const ledger::Snapshot& snapshot_;
  const TokenHasher& hasher_;
  std::vector<Slot> cache_;
};

// The account of the card that paid or was refunded, if the leg names one:
// a line's card token comes from the first leg of its group that does.
std::optional<AccountId> paying_card_account(const Transfer& t);

struct AssignRange {
  BusinessDay day;
  DayConfig config;
  std::uint64_t from_sequence = 1;
  std::uint64_t to_sequence = 0;
  std::uint64_t previous_to_sequence = 0;
};

struct AssignStats {
  std::uint64_t next_from_sequence = 0;
  std::uint64_t transfers_scanned = 0;
};

// Sees each line assigned to the day, in ledger order; a non-ok Status stops
// the scan and is returned.
using LineVisitor = std::function<Status(OperatorId op, const BatchLine& line, std::uint32_t rule_set_version)>;
// Called now and then with transfers scanned so far and the range's size.
using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

// The issuer's side of the same scan (issuer_file.h): a group that moves
// `clearing` with auto_top_up legs is one issuer line, assigned to a day by
// the same rule as an operator's line (late included).
struct IssuerScan {
  AccountId clearing;
  std::function<Status(const IssuerLine& line)> visit;
};

// Streams [from, to] of `snapshot`. `tokens` may be null (totals only: the
// card token column is left empty). `issuer` may be null (no issuer lines).
Result<AssignStats> assign_day(const ledger::Snapshot& snapshot, const AssignRange& range, const PayableIndex& payables,
                               CardTokens* tokens, const LineVisitor& visit, const Progress& progress = {},
                               const IssuerScan* issuer = nullptr);

}  // namespace citycard::settlement
