#include "assign.h"

#include <algorithm>
#include <map>
#include <vector>

#include "citycard/check.h"
#include "citycard/coding.h"
#include "citycard/programme.h"
#include "citycard/repricing_keys.h"

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

}  // namespace

std::optional<AccountId> paying_card_account(const Transfer& t) {
  switch (t.code) {
    case TransferCode::fare:
    case TransferCode::payment:
    case TransferCode::points_redeemed:
    case TransferCode::bonus_points_redeemed: return t.debit_account;
    case TransferCode::fare_refund: return t.credit_account;
    default: return std::nullopt;
  }
}

namespace {

// A leg's amount into the line's columns by its code.
Status add_to_columns(BatchLine& line, const ledger::StoredTransfer& stored, std::int64_t sign) {
  const Transfer& t = stored.transfer;
  if (t.asset != Asset::twd)
    return Status::corruption("transfer " + std::to_string(stored.sequence) + " moves points through a payable account");
  const std::int64_t amount = sign * t.amount_minor;
  switch (t.code) {
    case TransferCode::fare:
    case TransferCode::payment:
    case TransferCode::fare_refund: line.rider_fare_minor += amount; break;
    default:
      if (auto programme = programme_of(t.code)) {
        // A city programme: welfare points have their own column, the others
        // are the city subsidy; every one is also counted by programme.
        if (*programme == Programme::welfare_points) line.points_subsidy_minor += amount;
        else line.city_subsidy_minor += amount;
        line.programme_minor[programme_index(*programme)] += amount;
      } else {
        line.other_minor += amount;
      }
      break;
  }
  return Status::ok();
}

bool all_zero(const BatchLine& line) {
  return line.rider_fare_minor == 0 && line.city_subsidy_minor == 0 && line.points_subsidy_minor == 0 &&
         line.points_redeemed == 0 && line.other_minor == 0;
}

// The close's repricing corrections of the day (engine/groups/repricing.h),
// by the tap they correct: each is folded into that tap's line, so a file
// shows every tap at its repriced money and its bytes do not depend on the
// order taps arrived in. Corrections are few (taps whose price depended on
// arrival order); their groups are skipped where the scan meets them.
struct Correction {
  OperatorId op;
  BatchLine line;              // the difference; flags: the line's after repricing
  std::int64_t payable_net_minor = 0;
  std::uint32_t rule_set_version = 0;
  std::optional<AccountId> card_account;
  bool folded = false;
};
using Corrections = std::map<std::string, std::vector<Correction>>;  // by tap id

Result<Corrections> load_corrections(const ledger::Snapshot& snapshot, const AssignRange& range, const PayableIndex& payables) {
  std::vector<std::pair<IdempotencyKey, std::optional<AccountId>>> keys;
  const std::string prefix = repricing_corrections_prefix(range.day.days_since_epoch);
  Status bad;
  Status scanned = snapshot.scan_records(ledger::RecordSpace::reprice, prefix, [&](std::string_view key, std::string_view value) {
    auto parsed = IdempotencyKey::parse(key.substr(prefix.size()));
    if (!parsed || (parsed->origin != Origin::repriced_tap && parsed->origin != Origin::repriced_service_given)) {
      bad = Status::corruption("repricing index names no correction: '" + std::string(key.substr(prefix.size())) + "'");
      return false;
    }
    // The value: the account of the card paying in the repriced tap (8 bytes BE), or none.
    std::optional<AccountId> card;
    if (value.size() == 8) card = AccountId{coding::load_be<std::uint64_t>(reinterpret_cast<const std::uint8_t*>(value.data()))};
    else if (!value.empty()) {
      bad = Status::corruption("repricing index entry " + parsed->to_string() + " is not 0 or 8 bytes");
      return false;
    }
    keys.push_back({*parsed, card});
    return true;
  });
  if (!scanned) return scanned;
  if (!bad) return bad;
  Corrections corrections;
  for (const auto& [key, paying_card] : keys) {
    auto legs = snapshot.transfers_for(key);
    if (!legs) return legs.status();
    const IdempotencyKey tap{key.origin == Origin::repriced_tap ? Origin::tap : Origin::service_given, key.source, key.sequence};
    std::vector<Correction>& lines = corrections[tap.to_string()];
    auto line_for = [&](OperatorId op, const Transfer& t) -> Correction& {
      for (auto& c : lines)
        if (c.op == op) return c;
      Correction& c = lines.emplace_back();
      c.op = op;
      c.line.tap_id = tap.to_string();
      c.line.event_time = t.event_time;
      c.line.mode = t.mode;
      c.line.route = t.route;
      c.line.location = t.location;
      c.rule_set_version = t.rule_set_version;
      return c;
    };
    for (const auto& stored : *legs) {
      const Transfer& t = stored.transfer;
      for (const auto& [account, sign] : {std::pair{t.credit_account, +1}, std::pair{t.debit_account, -1}}) {
        auto op = payables.operator_of(account);
        if (!op) continue;
        Correction& c = line_for(*op, t);
        if (Status s = add_to_columns(c.line, stored, sign); !s) return s;
        c.payable_net_minor += sign * t.amount_minor;
        c.line.flags |= t.flags & ~transfer_flag_repriced;
      }
    }
    for (const auto& stored : *legs) {
      const Transfer& t = stored.transfer;
      if (t.code != TransferCode::points_redeemed || t.asset != Asset::points) continue;
      // Spent (card -> redeemed) or given back.
      const bool spent = static_cast<bool>(snapshot.card_of_account(t.debit_account));
      Correction& c = line_for(t.operator_id, t);
      c.line.points_redeemed += spent ? t.amount_minor : -t.amount_minor;
      c.line.flags |= t.flags & ~transfer_flag_repriced;
    }
    for (auto& c : lines) c.card_account = paying_card;

  }
  return corrections;
}

class GroupAssembler {
 public:
  GroupAssembler(const AssignRange& range, const PayableIndex& payables, CardTokens* tokens, const LineVisitor& visit,
                 Corrections corrections, const IssuerScan* issuer)
      : range_(range), payables_(payables), tokens_(tokens), visit_(visit), corrections_(std::move(corrections)),
        issuer_(issuer) {
    next_from_ = range.to_sequence + 1;
  }

  // The corrections whose tap had no line of that operator: lines of their own.
  Status visit_unfolded() {
    for (auto& [tap_id, lines] : corrections_) {
      for (Correction& c : lines) {
        if (c.folded || all_zero(c.line)) continue;
        c.folded = true;
        CITYCARD_CHECK(c.line.total_minor() == c.payable_net_minor);
        if (tokens_ && c.card_account) c.line.card_token = tokens_->token_of_account(*c.card_account);
        if (Status s = visit_(c.op, c.line, c.rule_set_version); !s) return s;
      }
    }
    return Status::ok();
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
    GroupLine& line = line_for(op, stored);
    if (Status s = add_to_columns(line.line, stored, sign); !s) return s;
    line.line.flags |= stored.transfer.flags;
    line.payable_net_minor += sign * stored.transfer.amount_minor;
    return Status::ok();
  }

  // The tap's correction for this operator, if repricing made one.
  // Returns the card whose token the line carries after repricing (the
  // repriced tap's paying card), or nullopt when no correction was folded.
  std::optional<std::optional<AccountId>> fold_correction(GroupLine& line) {
    if (corrections_.empty()) return std::nullopt;
    auto found = corrections_.find(line.line.tap_id);
    if (found == corrections_.end()) return std::nullopt;
    std::optional<std::optional<AccountId>> token_card;
    for (Correction& c : found->second) {
      if (c.op != line.op || c.folded) continue;
      c.folded = true;
      BatchLine& l = line.line;
      l.rider_fare_minor += c.line.rider_fare_minor;
      l.city_subsidy_minor += c.line.city_subsidy_minor;
      l.points_subsidy_minor += c.line.points_subsidy_minor;
      l.points_redeemed += c.line.points_redeemed;
      l.other_minor += c.line.other_minor;
      for (std::size_t p = 0; p < programme_count; ++p) l.programme_minor[p] += c.line.programme_minor[p];
      l.flags = static_cast<std::uint16_t>((l.flags & transfer_flag_late) | c.line.flags);
      line.payable_net_minor += c.payable_net_minor;
      line.rule_set_version = c.rule_set_version;
      token_card = c.card_account;
    }
    return token_card;
  }

  // Where a line of the group with this event day goes: the day's batch,
  // a later one's (left for it), or an earlier close's (already in it).
  enum class Place { this_day, later_day, earlier_close };
  Place place(EventTime event_time, std::uint64_t first_sequence, std::uint16_t& flags) {
    const BusinessDay event_day = business_day_of(event_time, range_.config);
    if (event_day > range_.day) {
      if (first_sequence < next_from_) next_from_ = first_sequence;
      return Place::later_day;
    }
    if (event_day < range_.day) {
      if (first_sequence <= range_.previous_to_sequence) return Place::earlier_close;
      flags |= transfer_flag_late;
    }
    return Place::this_day;
  }

  // The group's auto top-up money, as the issuer's line (issuer_file.h).
  Status assemble_issuer() {
    if (issuer_ == nullptr) return Status::ok();
    IssuerLine line;
    std::optional<AccountId> card_account;
    bool found = false;
    for (const auto& stored : legs_) {
      const Transfer& t = stored.transfer;
      if (t.code != TransferCode::auto_top_up || t.asset != Asset::twd) continue;
      const bool from_clearing = t.debit_account == issuer_->clearing;
      if (!from_clearing && t.credit_account != issuer_->clearing) continue;
      if (!found) {
        found = true;
        line.tap_id = stored.key.to_string();
        line.event_time = t.event_time;
      }
      line.amount_minor += from_clearing ? t.amount_minor : -t.amount_minor;
      line.flags |= t.flags & transfer_flag_offline;
      if (!card_account) card_account = from_clearing ? t.credit_account : t.debit_account;
    }
    if (!found) return Status::ok();
    const std::uint64_t first_sequence = legs_.front().sequence - legs_.front().leg;
    if (place(line.event_time, first_sequence, line.flags) != Place::this_day) return Status::ok();
    if (tokens_ && card_account) line.card_token = tokens_->token_of_account(*card_account);
    return issuer_->visit(line);
  }

  Status assemble() {
    // A correction is folded into its tap's line (load_corrections).
    const Origin origin = legs_.front().key.origin;
    if (origin == Origin::repriced_tap || origin == Origin::repriced_service_given) return Status::ok();
    if (Status s = assemble_issuer(); !s) return s;
    std::optional<AccountId> card_account;
    for (const auto& stored : legs_) {
      const Transfer& t = stored.transfer;
      if (t.code == TransferCode::settlement) continue;  // settlement's own movements are not taps
      if (auto op = payables_.operator_of(t.credit_account))
        if (Status s = add_payable_leg(*op, stored, +1); !s) return s;
      if (auto op = payables_.operator_of(t.debit_account))
        if (Status s = add_payable_leg(*op, stored, -1); !s) return s;
      if (!card_account) card_account = paying_card_account(t);
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
      const auto repriced_card = fold_correction(line);
      // The money rule, read back: the columns account for every unit that
      // moved through the payable, no more and no less.
      CITYCARD_CHECK(line.line.total_minor() == line.payable_net_minor);
      // Not this day's: a later close takes it, or a batch of an earlier close holds it.
      if (place(line.line.event_time, first_sequence, line.line.flags) != Place::this_day) continue;
      const std::optional<AccountId> token_card = repriced_card ? *repriced_card : card_account;
      if (tokens_ && token_card) line.line.card_token = tokens_->token_of_account(*token_card);
      if (all_zero(line.line) && corrections_.contains(line.line.tap_id)) continue;  // repriced to nothing
      if (Status s = visit_(line.op, line.line, line.rule_set_version); !s) return s;
    }
    return Status::ok();
  }

  const AssignRange& range_;
  const PayableIndex& payables_;
  CardTokens* tokens_;
  const LineVisitor& visit_;
  Corrections corrections_;
  const IssuerScan* issuer_;
  std::vector<ledger::StoredTransfer> legs_;
  std::vector<GroupLine> lines_;
  std::uint64_t next_from_ = 0;
};

}  // namespace

Result<AssignStats> assign_day(const ledger::Snapshot& snapshot, const AssignRange& range, const PayableIndex& payables,
                               CardTokens* tokens, const LineVisitor& visit, const Progress& progress,
                               const IssuerScan* issuer) {
  AssignStats stats;
  stats.next_from_sequence = range.to_sequence + 1;
  if (range.from_sequence > range.to_sequence) return stats;
  auto corrections = load_corrections(snapshot, range, payables);
  if (!corrections) return corrections.status();
  GroupAssembler assembler(range, payables, tokens, visit, std::move(*corrections), issuer);
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
  if (Status s = assembler.visit_unfolded(); !s) return s;
  if (stats.transfers_scanned != total)
    return Status::corruption("ledger sequences " + std::to_string(range.from_sequence) + ".." +
                              std::to_string(range.to_sequence) + " are not all there");
  if (progress) progress(total, total);
  stats.next_from_sequence = assembler.next_from();
  return stats;
}

}  // namespace citycard::settlement
