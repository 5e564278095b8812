#include "encoding.h"

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

std::string encode_account(const StoredAccount& account) {
  std::string out;
  out.reserve(account_value_bytes);
  coding::put_le<std::uint8_t>(out, static_cast<std::uint8_t>(account.spec.kind));
  coding::put_le<std::uint8_t>(out, static_cast<std::uint8_t>(account.spec.asset));
  coding::put_le<std::int64_t>(out, account.spec.balance_floor_minor);
  coding::put_le<std::int64_t>(out, account.spec.balance_ceiling_minor);
  coding::put_le<std::uint64_t>(out, account.spec.owner);
  coding::put_le<std::int64_t>(out, account.balance_minor);
  coding::put_le<std::int64_t>(out, account.debits_posted_minor);
  coding::put_le<std::int64_t>(out, account.credits_posted_minor);
  coding::put_le<std::uint64_t>(out, account.transfer_count);
  coding::put_le<std::uint64_t>(out, account.applied_through);
  return out;
}

std::optional<StoredAccount> decode_account(std::string_view value) {
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

void encode_transfer(std::string& out, const IdempotencyKey& key, std::uint32_t leg, const Transfer& transfer) {
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

std::optional<TransferValue> decode_transfer(std::string_view value) {
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
  if (!reader.ok() || !reader.at_end() || !valid_asset(asset) || code < 1 || code > transfer_code_max || mode < 1 ||
      mode > mode_count) {
    return std::nullopt;
  }
  transfer.asset = static_cast<Asset>(asset);
  transfer.code = static_cast<TransferCode>(code);
  transfer.mode = static_cast<Mode>(mode);
  return out;
}

void begin_block(std::string& out) {
  out.clear();
  coding::put_le<std::uint32_t>(out, 0);
}

void finish_block(std::string& out, std::uint32_t count) { coding::store_le<std::uint32_t>(out.data(), count); }

std::optional<std::uint32_t> block_count(std::string_view block) {
  if (block.size() < block_header_bytes) return std::nullopt;
  const auto count = coding::load_le<std::uint32_t>(block.data());
  if (count == 0 || block.size() != block_header_bytes + std::size_t{count} * transfer_value_bytes) return std::nullopt;
  return count;
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
