#include "encoding.h"

#include "citycard/check.h"

namespace citycard::ledger::encoding {

namespace {

bool valid_asset(std::uint8_t value) { return value == 1 || value == 2; }
bool valid_kind(std::uint8_t value) { return value >= 1 && value <= account_kind_count; }

void append_card(std::string& out, const CardId& card) {
  out.push_back(static_cast<char>(card.size()));
  out.append(reinterpret_cast<const char*>(card.data()), card.size());
}

std::optional<CardId> read_card(coding::Reader& reader) {
  auto size = reader.le<std::uint8_t>();
  if (!reader.ok() || size > CardId::bytes_max) return std::nullopt;
  auto bytes = reader.bytes(size);
  if (!reader.ok()) return std::nullopt;
  return CardId::from_bytes(bytes.data(), bytes.size());
}

}  // namespace

std::string account_key(AccountId id) {
  std::string key;
  coding::put_be<std::uint64_t>(key, id.value);
  return key;
}

std::string high_water_key(Origin origin, std::uint64_t source) {
  std::string key(1, 'H');
  key.push_back(static_cast<char>(origin));
  coding::put_be<std::uint64_t>(key, source);
  return key;
}

std::string sequence_key(std::uint64_t sequence) {
  std::string key;
  coding::put_be<std::uint64_t>(key, sequence);
  return key;
}

std::string history_key(AccountId account, std::uint64_t block_first_sequence) {
  std::string key;
  key.reserve(history_key_bytes);
  coding::put_be<std::uint64_t>(key, account.value);
  coding::put_be<std::uint64_t>(key, ~block_first_sequence);
  return key;
}

std::uint64_t history_key_block_first(std::string_view key) { return ~coding::load_be<std::uint64_t>(key.data() + 8); }

void append_group_key(std::string& out, const IdempotencyKey& key) {
  out.push_back(static_cast<char>(key.origin));
  coding::put_be<std::uint64_t>(out, key.source);
  coding::put_be<std::uint64_t>(out, key.sequence);
}

std::string group_key(const IdempotencyKey& key) {
  std::string out;
  out.reserve(group_key_bytes);
  append_group_key(out, key);
  return out;
}

std::optional<IdempotencyKey> decode_group_key(coding::Reader& reader) {
  IdempotencyKey key;
  auto origin = reader.le<std::uint8_t>();
  key.source = reader.be<std::uint64_t>();
  key.sequence = reader.be<std::uint64_t>();
  if (!reader.ok() || origin < 1 || origin > origin_max) return std::nullopt;
  key.origin = static_cast<Origin>(origin);
  return key;
}

std::string card_key(const CardId& card) {
  std::string key(1, 'C');
  key.append(reinterpret_cast<const char*>(card.data()), card.size());
  return key;
}

std::string card_by_account_key(AccountId account) {
  std::string key(1, 'A');
  coding::put_be<std::uint64_t>(key, account.value);
  return key;
}

std::string record_key(std::uint8_t space, std::string_view key) {
  std::string out(1, static_cast<char>(space));
  out.append(key);
  return out;
}

namespace {

// An account value of format 2 starts with this byte; format 1's first byte
// is the kind (1 .. account_kind_count), never 0x80 or above.
constexpr std::uint8_t compact_account_marker = 0x82;

std::optional<StoredAccount> decode_fixed_account(std::string_view value) {
  coding::Reader reader(value);
  StoredAccount account;
  auto kind = reader.le<std::uint8_t>();
  auto asset = reader.le<std::uint8_t>();
  account.spec.balance_floor_minor = reader.le<std::int64_t>();
  account.spec.balance_ceiling_minor = reader.le<std::int64_t>();
  account.spec.owner = reader.le<std::uint64_t>();
  account.balance_minor = reader.le<std::int64_t>();
  account.debits_posted_minor = reader.le<std::int64_t>();
  account.credits_posted_minor = reader.le<std::int64_t>();
  account.transfer_count = reader.le<std::uint64_t>();
  account.applied_through = reader.le<std::uint64_t>();
  if (!reader.ok() || !reader.at_end() || !valid_kind(kind) || !valid_asset(asset)) return std::nullopt;
  account.spec.kind = static_cast<AccountKind>(kind);
  account.spec.asset = static_cast<Asset>(asset);
  return account;
}

}  // namespace

std::string encode_account(const StoredAccount& account) {
  std::string out;
  out.reserve(account_value_bytes_max);
  coding::Writer<std::string> to(out);
  to.u8(compact_account_marker);
  to.u8(static_cast<std::uint8_t>(account.spec.kind));
  to.u8(static_cast<std::uint8_t>(account.spec.asset));
  to.varint(coding::zigzag(account.spec.balance_floor_minor));
  to.varint(coding::zigzag(account.spec.balance_ceiling_minor));
  to.varint(account.spec.owner);
  to.varint(coding::zigzag(account.balance_minor));
  to.varint(coding::zigzag(account.debits_posted_minor));
  to.varint(coding::zigzag(account.credits_posted_minor));
  to.varint(account.transfer_count);
  to.varint(account.applied_through);
  return out;
}

std::optional<StoredAccount> decode_account(std::string_view value) {
  if (value.empty() || static_cast<std::uint8_t>(value[0]) != compact_account_marker) return decode_fixed_account(value);
  coding::Reader reader(value.substr(1));
  StoredAccount account;
  auto kind = reader.u8();
  auto asset = reader.u8();
  account.spec.balance_floor_minor = coding::unzigzag<std::int64_t>(reader.varint());
  account.spec.balance_ceiling_minor = coding::unzigzag<std::int64_t>(reader.varint());
  account.spec.owner = reader.varint();
  account.balance_minor = coding::unzigzag<std::int64_t>(reader.varint());
  account.debits_posted_minor = coding::unzigzag<std::int64_t>(reader.varint());
  account.credits_posted_minor = coding::unzigzag<std::int64_t>(reader.varint());
  account.transfer_count = reader.varint();
  account.applied_through = reader.varint();
  if (!reader.ok() || !reader.at_end() || !valid_kind(kind) || !valid_asset(asset)) return std::nullopt;
  account.spec.kind = static_cast<AccountKind>(kind);
  account.spec.asset = static_cast<Asset>(asset);
  return account;
}

void encode_fixed_transfer(std::string& out, const IdempotencyKey& key, std::uint32_t leg, const Transfer& transfer) {
  out.reserve(out.size() + transfer_value_bytes);
  append_group_key(out, key);
  coding::put_le<std::uint32_t>(out, leg);
  coding::put_le<std::uint64_t>(out, transfer.debit_account.value);
  coding::put_le<std::uint64_t>(out, transfer.credit_account.value);
  coding::put_le<std::uint8_t>(out, static_cast<std::uint8_t>(transfer.asset));
  coding::put_le<std::int64_t>(out, transfer.amount_minor);
  coding::put_le<std::uint16_t>(out, static_cast<std::uint16_t>(transfer.code));
  coding::put_le<std::uint16_t>(out, transfer.flags);
  coding::put_le<std::uint32_t>(out, transfer.rule_set_version);
  coding::put_le<std::int64_t>(out, transfer.event_time.unix_us);
  coding::put_le<std::uint8_t>(out, static_cast<std::uint8_t>(transfer.mode));
  coding::put_le<std::uint32_t>(out, transfer.operator_id.value);
  coding::put_le<std::uint32_t>(out, transfer.route);
  coding::put_le<std::uint32_t>(out, transfer.location);
}

namespace {

// The fields both formats check the same way.
bool set_enums(Transfer& transfer, std::uint8_t asset, std::uint16_t code, std::uint8_t mode) {
  if (!valid_asset(asset) || code < 1 || code > transfer_code_max || mode < 1 || mode > mode_count) return false;
  transfer.asset = static_cast<Asset>(asset);
  transfer.code = static_cast<TransferCode>(code);
  transfer.mode = static_cast<Mode>(mode);
  return true;
}

void encode_compact_transfer(std::string& out, const IdempotencyKey& key, std::uint32_t leg, const Transfer& transfer) {
  coding::Writer<std::string> to(out);
  to.u8(static_cast<std::uint8_t>(key.origin));
  to.varint(key.source);
  to.varint(key.sequence);
  to.varint(leg);
  to.varint(transfer.debit_account.value);
  to.varint(transfer.credit_account.value);
  to.u8(static_cast<std::uint8_t>(transfer.asset));
  to.varint(coding::zigzag(transfer.amount_minor));
  to.varint(static_cast<std::uint16_t>(transfer.code));
  to.varint(transfer.flags);
  to.varint(transfer.rule_set_version);
  to.varint(coding::zigzag(transfer.event_time.unix_us));
  to.u8(static_cast<std::uint8_t>(transfer.mode));
  to.varint(transfer.operator_id.value);
  to.varint(transfer.route);
  to.varint(transfer.location);
}

std::optional<TransferValue> decode_compact_transfer(coding::Reader& in) {
  TransferValue out;
  const std::uint8_t origin = in.u8();
  out.key.source = in.varint();
  out.key.sequence = in.varint();
  out.leg = in.varint<std::uint32_t>();
  Transfer& transfer = out.transfer;
  transfer.debit_account.value = in.varint();
  transfer.credit_account.value = in.varint();
  const std::uint8_t asset = in.u8();
  transfer.amount_minor = coding::unzigzag<std::int64_t>(in.varint());
  const auto code = in.varint<std::uint16_t>();
  transfer.flags = in.varint<std::uint16_t>();
  transfer.rule_set_version = in.varint<std::uint32_t>();
  transfer.event_time.unix_us = coding::unzigzag<std::int64_t>(in.varint());
  const std::uint8_t mode = in.u8();
  transfer.operator_id.value = in.varint<std::uint32_t>();
  transfer.route = in.varint<std::uint32_t>();
  transfer.location = in.varint<std::uint32_t>();
  if (!in.ok() || origin < 1 || origin > origin_max || !set_enums(transfer, asset, code, mode)) return std::nullopt;
  out.key.origin = static_cast<Origin>(origin);
  return out;
}

constexpr std::uint32_t compact_block_flag = 0x8000'0000u;
constexpr std::uint32_t block_skip_stride = 16;
constexpr std::size_t compact_transfer_bytes_min = 16;  // one byte a field

std::size_t skip_count(std::uint32_t count) { return (std::size_t{count} + block_skip_stride - 1) / block_skip_stride; }

}  // namespace

std::optional<TransferValue> decode_fixed_transfer(std::string_view value) {
  coding::Reader reader(value);
  TransferValue out;
  auto key = decode_group_key(reader);
  if (!key) return std::nullopt;
  out.key = *key;
  out.leg = reader.le<std::uint32_t>();
  Transfer& transfer = out.transfer;
  transfer.debit_account.value = reader.le<std::uint64_t>();
  transfer.credit_account.value = reader.le<std::uint64_t>();
  auto asset = reader.le<std::uint8_t>();
  transfer.amount_minor = reader.le<std::int64_t>();
  auto code = reader.le<std::uint16_t>();
  transfer.flags = reader.le<std::uint16_t>();
  transfer.rule_set_version = reader.le<std::uint32_t>();
  transfer.event_time.unix_us = reader.le<std::int64_t>();
  auto mode = reader.le<std::uint8_t>();
  transfer.operator_id.value = reader.le<std::uint32_t>();
  transfer.route = reader.le<std::uint32_t>();
  transfer.location = reader.le<std::uint32_t>();
  if (!reader.ok() || !reader.at_end() || !set_enums(transfer, asset, code, mode)) return std::nullopt;
  return out;
}

BlockWriter::BlockWriter() { coding::put_le<std::uint32_t>(bytes_, 0); }

void BlockWriter::add(const IdempotencyKey& key, std::uint32_t leg, const Transfer& transfer) {
  CITYCARD_CHECK_LT(count_, compact_block_flag - 1);
  if (count_ % block_skip_stride == 0) {
    CITYCARD_CHECK_LT(bytes_.size(), std::size_t{0xFFFF'FFFFu});
    skips_.push_back(static_cast<std::uint32_t>(bytes_.size()));
  }
  encode_compact_transfer(bytes_, key, leg, transfer);
  ++count_;
}

std::string BlockWriter::finish() {
  CITYCARD_CHECK_GT(count_, 0u);
  CITYCARD_CHECK_EQ(skips_.size(), skip_count(count_));
  coding::store_le<std::uint32_t>(bytes_.data(), count_ | compact_block_flag);
  for (std::uint32_t skip : skips_) coding::put_le<std::uint32_t>(bytes_, skip);
  skips_.clear();
  count_ = 0;
  return std::move(bytes_);
}

std::optional<BlockReader> BlockReader::open(std::string_view block) {
  if (block.size() < block_header_bytes) return std::nullopt;
  const auto header = coding::load_le<std::uint32_t>(block.data());
  BlockReader reader;
  reader.block_ = block;
  reader.compact_ = (header & compact_block_flag) != 0;
  reader.count_ = header & ~compact_block_flag;
  if (reader.count_ == 0) return std::nullopt;
  if (!reader.compact_) {
    if (block.size() != block_header_bytes + std::size_t{reader.count_} * transfer_value_bytes) return std::nullopt;
    return reader;
  }
  const std::size_t skips = skip_count(reader.count_);
  if (block.size() < block_header_bytes + compact_transfer_bytes_min * reader.count_ + 4 * skips) return std::nullopt;
  reader.body_end_ = block.size() - 4 * skips;
  std::size_t previous = 0;
  for (std::size_t k = 0; k < skips; ++k) {
    const auto skip = coding::load_le<std::uint32_t>(block.data() + reader.body_end_ + 4 * k);
    if (k == 0 ? skip != block_header_bytes : skip <= previous) return std::nullopt;
    if (skip >= reader.body_end_) return std::nullopt;
    previous = skip;
  }
  return reader;
}

std::optional<TransferValue> BlockReader::at(std::uint32_t i) {
  if (i >= count_) return std::nullopt;
  if (!compact_) return decode_fixed_transfer(block_.substr(block_header_bytes + i * transfer_value_bytes, transfer_value_bytes));
  const std::uint32_t stride_first = i - i % block_skip_stride;
  std::uint32_t index = stride_first;
  std::size_t offset = coding::load_le<std::uint32_t>(block_.data() + body_end_ + 4 * (i / block_skip_stride));
  if (next_offset_ != 0 && next_index_ <= i && next_index_ > stride_first) {
    index = next_index_;
    offset = next_offset_;
  }
  next_offset_ = 0;
  for (;; ++index) {
    coding::Reader in(block_.substr(offset, body_end_ - offset));
    auto decoded = decode_compact_transfer(in);
    if (!decoded) return std::nullopt;
    offset += in.position();
    // Where the next transfer starts must agree with the skip table and the table's place.
    const std::uint32_t next = index + 1;
    const std::size_t expected = next == count_ ? body_end_
                                 : next % block_skip_stride == 0
                                     ? coding::load_le<std::uint32_t>(block_.data() + body_end_ + 4 * (next / block_skip_stride))
                                     : 0;
    if (expected != 0 ? offset != expected : offset >= body_end_) return std::nullopt;
    if (index == i) {
      if (next < count_) {
        next_index_ = next;
        next_offset_ = offset;
      }
      return decoded;
    }
  }
}

std::optional<std::uint32_t> block_count(std::string_view block) {
  auto reader = BlockReader::open(block);
  if (!reader) return std::nullopt;
  return reader->count();
}

std::string encode_idempotency(std::uint64_t first_sequence, std::uint32_t count, std::string_view outcome) {
  std::string out;
  out.reserve(12 + outcome.size());
  coding::put_le<std::uint64_t>(out, first_sequence);
  coding::put_le<std::uint32_t>(out, count);
  out.append(outcome);
  return out;
}

std::optional<IdempotencyValue> decode_idempotency(std::string_view value) {
  coding::Reader reader(value);
  IdempotencyValue out;
  out.first_sequence = reader.le<std::uint64_t>();
  out.count = reader.le<std::uint32_t>();
  if (!reader.ok()) return std::nullopt;
  auto rest = reader.chars(reader.remaining());
  if (rest.size() > outcome_bytes_max) return std::nullopt;
  out.outcome.assign(rest);
  return out;
}

std::string encode_card(const CardRecord& card) {
  std::string out;
  append_card(out, card.card);
  coding::put_le<std::uint64_t>(out, card.wallet_account.value);
  coding::put_le<std::uint64_t>(out, card.points_account.value);
  coding::put_le<std::uint8_t>(out, static_cast<std::uint8_t>(card.category));
  coding::put_le<std::uint8_t>(out, static_cast<std::uint8_t>(card.media));
  coding::put_le<std::uint8_t>(out, static_cast<std::uint8_t>(card.status));
  append_card(out, card.linked_to);
  append_card(out, card.replaced_by);
  // The eligibility period, the district and the bonus points account only
  // when there are, so that every record written before they existed keeps
  // its bytes. Each needs the ones in front of it (open period: zeros;
  // district: no_district, allowed only with a bonus points account after it).
  const bool bonus = card.bonus_points_account.value != 0;
  const bool district = bonus || card.district != no_district;
  if (district || card.category_from_day != no_category_day || card.category_until_day != no_category_day) {
    coding::put_le<std::int32_t>(out, card.category_from_day);
    coding::put_le<std::int32_t>(out, card.category_until_day);
  }
  if (district) coding::put_le<std::uint16_t>(out, card.district);
  if (bonus) coding::put_le<std::uint64_t>(out, card.bonus_points_account.value);
  return out;
}

std::optional<CardRecord> decode_card(std::string_view value) {
  coding::Reader reader(value);
  CardRecord card;
  auto id = read_card(reader);
  card.wallet_account.value = reader.le<std::uint64_t>();
  card.points_account.value = reader.le<std::uint64_t>();
  auto category = reader.le<std::uint8_t>();
  auto media = reader.le<std::uint8_t>();
  auto status = reader.le<std::uint8_t>();
  auto linked = read_card(reader);
  auto replaced = read_card(reader);
  if (reader.ok() && !reader.at_end()) {
    card.category_from_day = reader.le<std::int32_t>();
    card.category_until_day = reader.le<std::int32_t>();
    bool bonus = false;
    if (reader.ok() && !reader.at_end()) {
      card.district = reader.le<std::uint16_t>();
      bonus = reader.ok() && !reader.at_end();
      if (bonus) card.bonus_points_account.value = reader.le<std::uint64_t>();
      if (bonus && (card.bonus_points_account.value == 0)) return std::nullopt;
      // Without a bonus account after it, a district is there because it is set.
      if (card.district != no_district || !bonus)
        if (card.district < district_min || card.district > district_max) return std::nullopt;
    }
    const bool open_period = card.category_from_day == no_category_day && card.category_until_day == no_category_day;
    if (open_period && card.district == no_district && !bonus) return std::nullopt;
    if (card.category_until_day != no_category_day && card.category_until_day < card.category_from_day) return std::nullopt;
  }
  if (!id || !linked || !replaced || !reader.ok() || !reader.at_end()) return std::nullopt;
  if (category < 1 || category > rider_category_count || media < 1 || media > 3 || status < 1 || status > 4) {
    return std::nullopt;
  }
  card.card = *id;
  card.category = static_cast<RiderCategory>(category);
  card.media = static_cast<Media>(media);
  card.status = static_cast<CardStatus>(status);
  card.linked_to = *linked;
  card.replaced_by = *replaced;
  return card;
}

}  // namespace citycard::ledger::encoding
