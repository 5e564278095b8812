#include "assign.h"

#include <algorithm>
#include <vector>

#include "citycard/check.h"
#include "citycard/programme.h"

namespace citycard::settlement {

PayableIndex::PayableIndex(const std::vector<ledger::OperatorRecord>& operators) {
  for (const auto& op : operators) operator_by_account_.emplace(op.payable_account.value, op.id);
}

std::optional<OperatorId> PayableIndex::operator_of(AccountId account) const {
  auto it = operator_by_account_.find(account.value);
  if (it == operator_by_account_.end()) return std::nullopt;
  return it->second;
}

CardTokens::CardTokens(const ledger::Snapshot& snapshot, const TokenHasher& hasher)
    : snapshot_(snapshot), hasher_(hasher), cache_(slots) {}

std::string_view CardTokens::token_of_account(AccountId account) {
  Slot& slot = cache_[account.value % slots];
  if (slot.account != account.value) {
    slot.account = account.value;
    auto card = snapshot_.card_of_account(account);
    slot.is_card = card.has_value();
    if (slot.is_card) {
      const std::string token = hasher_.token(card->card);
      CITYCARD_CHECK(token.size() == token_chars);
      std::copy(token.begin(), token.end(), slot.token.begin());
    }
  }
  return slot.is_card ? std::string_view(slot.token.data(), slot.token.size()) : std::string_view();
}

namespace {

// The lines one posting group makes, one per operator whose payable it moves.
struct GroupLine {
  OperatorId op;
  BatchLine line;
  std::uint32_t rule_set_version = 0;
  std::int64_t payable_net_minor = 0;  // credits - debits on the payable, counted apart from the columns
};

// The account of the card that paid or was refunded, if the leg names one.
std::optional<AccountId> card_side(const Transfer& t) {
  switch (t.code) {
    case TransferCode::fare:
    case TransferCode::payment:
    case TransferCode::points_redeemed: return t.debit_account;
    case TransferCode::fare_refund: return t.credit_account;
    default: return std::nullopt;
  }
}

class GroupAssembler {
 public:
  GroupAssembler(const AssignRange& range, const PayableIndex& payables, CardTokens* tokens, const LineVisitor& visit)
      : range_(range), payables_(payables), tokens_(tokens), visit_(visit) {
    next_from_ = range.to_sequence + 1;
  }

  Status add(const ledger::StoredTransfer& stored) {
    if (!legs_.empty() && (stored.leg == 0 || !(stored.key == legs_.front().key))) {
      if (Status s = flush(); !s) return s;
    }
    legs_.push_back(stored);
    return Status::ok();
  }

  Status flush() {
    if (legs_.empty()) return Status::ok();
    Status status = assemble();
    legs_.clear();
    lines_.clear();
    return status;
  }

  std::uint64_t next_from() const { return next_from_; }

 private:
  GroupLine& line_for(OperatorId op, const ledger::StoredTransfer& stored) {
    for (auto& line : lines_)
      if (line.op == op) return line;
    GroupLine& line = lines_.emplace_back();
    line.op = op;
    line.line.tap_id = stored.key.to_string();
    line.line.event_time = stored.transfer.event_time;
    line.line.mode = stored.transfer.mode;
    line.line.route = stored.transfer.route;
    line.line.location = stored.transfer.location;
    line.rule_set_version = stored.transfer.rule_set_version;
    return line;
  }

  Status add_payable_leg(OperatorId op, const ledger::StoredTransfer& stored, std::int64_t sign) {
    const Transfer& t = stored.transfer;
    if (t.asset != Asset::twd)
      return Status::corruption("transfer " + std::to_string(stored.sequence) + " moves points through a payable account");
    GroupLine& line = line_for(op, stored);
    const std::int64_t amount = sign * t.amount_minor;
    switch (t.code) {
      case TransferCode::fare:
      case TransferCode::payment:
      case TransferCode::fare_refund: line.line.rider_fare_minor += amount; break;
      default:
        if (auto programme = programme_of(t.code)) {
          // A city programme: welfare points have their own column, the others
          // are the city subsidy; every one is also counted by programme.
          if (*programme == Programme::welfare_points) line.line.points_subsidy_minor += amount;
          else line.line.city_subsidy_minor += amount;
          line.line.programme_minor[programme_index(*programme)] += amount;
        } else {
          line.line.other_minor += amount;
        }
        break;
    }
    line.line.flags |= t.flags;
    line.payable_net_minor += amount;
    return Status::ok();
  }

  Status assemble() {
    std::optional<AccountId> card_account;
    for (const auto& stored : legs_) {
      const Transfer& t = stored.transfer;
      if (t.code == TransferCode::settlement) continue;  // settlement's own movements are not taps
      if (auto op = payables_.operator_of(t.credit_account))
        if (Status s = add_payable_leg(*op, stored, +1); !s) return s;
      if (auto op = payables_.operator_of(t.debit_account))
        if (Status s = add_payable_leg(*op, stored, -1); !s) return s;
      if (!card_account) card_account = card_side(t);
    }
    if (lines_.empty()) return Status::ok();
    // Points spent in the group go on the line of the operator the leg names,
    // else on the group's first line: the city pays that operator for them.
    for (const auto& stored : legs_) {
      const Transfer& t = stored.transfer;
      if (t.code != TransferCode::points_redeemed || t.asset != Asset::points) continue;
      GroupLine* target = &lines_.front();
      for (auto& line : lines_)
        if (line.op == t.operator_id) target = &line;
      target->line.points_redeemed += t.amount_minor;
    }
    const std::uint64_t first_sequence = legs_.front().sequence - legs_.front().leg;
    for (auto& line : lines_) {
      // The money rule, read back: the columns account for every unit that
      // moved through the payable, no more and no less.
      CITYCARD_CHECK(line.line.total_minor() == line.payable_net_minor);
      const BusinessDay event_day = business_day_of(line.line.event_time, range_.config);
      if (event_day > range_.day) {
        if (first_sequence < next_from_) next_from_ = first_sequence;
        continue;
      }
      if (event_day < range_.day) {
        if (first_sequence <= range_.previous_to_sequence) continue;  // a batch of an earlier close holds it
        line.line.flags |= transfer_flag_late;
      }
      if (tokens_ && card_account) line.line.card_token = tokens_->token_of_account(*card_account);
      if (Status s = visit_(line.op, line.line, line.rule_set_version); !s) return s;
    }
    return Status::ok();
  }

  const AssignRange& range_;
  const PayableIndex& payables_;
  CardTokens* tokens_;
  const LineVisitor& visit_;
  std::vector<ledger::StoredTransfer> legs_;
  std::vector<GroupLine> lines_;
  std::uint64_t next_from_ = 0;
};

}  // namespace

Result<AssignStats> assign_day(const ledger::Snapshot& snapshot, const AssignRange& range, const PayableIndex& payables,
                               CardTokens* tokens, const LineVisitor& visit, const Progress& progress) {
  AssignStats stats;
  stats.next_from_sequence = range.to_sequence + 1;
  if (range.from_sequence > range.to_sequence) return stats;
  GroupAssembler assembler(range, payables, tokens, visit);
  const std::uint64_t total = range.to_sequence - range.from_sequence + 1;
  constexpr std::uint64_t progress_every = 1u << 16;
  Status failure;
  Status scan = snapshot.scan_transfers(range.from_sequence, range.to_sequence, [&](const ledger::StoredTransfer& stored) {
    if (stats.transfers_scanned == 0 && stored.leg != 0) {
      failure = Status::corruption("settlement scan starts inside posting group " + stored.key.to_string());
      return false;
    }
    ++stats.transfers_scanned;
    failure = assembler.add(stored);
    if (progress && stats.transfers_scanned % progress_every == 0) progress(stats.transfers_scanned, total);
    return failure.is_ok();
  });
  if (!scan) return scan;
  if (!failure) return failure;
  if (Status s = assembler.flush(); !s) return s;
  if (stats.transfers_scanned != total)
    return Status::corruption("ledger sequences " + std::to_string(range.from_sequence) + ".." +
                              std::to_string(range.to_sequence) + " are not all there");
  if (progress) progress(total, total);
  stats.next_from_sequence = assembler.next_from();
  return stats;
}

}  // namespace citycard::settlement
