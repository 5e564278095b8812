#include "tap_records.h"

#include <limits>

#include "citycard/coding.h"
#include "tap_token.h"

namespace citycard::engine {
namespace {

constexpr std::uint8_t flag_offline = 0x01;
constexpr std::uint8_t flag_anonymised = 0x02;
constexpr std::uint8_t flags_known = flag_offline | flag_anonymised;
constexpr std::uint32_t day_bias = 0x8000'0000u;

std::uint32_t biased(std::int32_t day) { return static_cast<std::uint32_t>(day) ^ day_bias; }
std::int32_t unbiased(std::uint32_t stored) { return static_cast<std::int32_t>(stored ^ day_bias); }

Status corrupt(std::string_view what) { return Status::corruption("tap record: " + std::string(what)); }

}  // namespace

bool RecordedTap::operator==(const RecordedTap& other) const {
  // Tap has no comparison of its own; TapRecord's compares every field of it.
  return protocol::TapRecord{tap, {}} == protocol::TapRecord{other.tap, {}} && origin == other.origin &&
         business_day == other.business_day && arrival == other.arrival && account == other.account &&
         category == other.category && outcome == other.outcome && reason == other.reason &&
         fare_minor == other.fare_minor && subsidy_minor == other.subsidy_minor &&
         points_redeemed == other.points_redeemed && rule_set_version == other.rule_set_version &&
         anonymised == other.anonymised;
}

std::string tap_record_key(std::int32_t business_day, Origin origin, TapId tap) {
  std::string key;
  key.reserve(tap_record_key_bytes);
  coding::Writer out(key);
  out.be<std::uint32_t>(biased(business_day));
  out.u8(static_cast<std::uint8_t>(origin));
  out.be<std::uint32_t>(tap.reader.value);
  out.be<std::uint64_t>(tap.sequence);
  return key;
}

std::string tap_records_day_begin(std::int32_t business_day) {
  std::string key;
  coding::put_be<std::uint32_t>(key, biased(business_day));
  return key;
}

std::string tap_records_day_end(std::int32_t business_day) {
  // The day after, as a prefix; the last day of int32 ends at the space's end.
  std::string key;
  if (business_day == std::numeric_limits<std::int32_t>::max()) return std::string(5, '\xFF');
  coding::put_be<std::uint32_t>(key, biased(business_day + 1));
  return key;
}

std::optional<std::int32_t> tap_record_key_day(std::string_view key) {
  if (key.size() != tap_record_key_bytes) return std::nullopt;
  return unbiased(coding::load_be<std::uint32_t>(key.data()));
}

std::string encode_recorded_tap(const RecordedTap& record) {
  const Tap& tap = record.tap;
  std::string value;
  value.reserve(64);
  coding::Writer out(value);
  out.u8(tap_record_format_version);
  out.u8(static_cast<std::uint8_t>((tap.offline ? flag_offline : 0) | (record.anonymised ? flag_anonymised : 0)));
  out.u8(static_cast<std::uint8_t>(tap.card.size()));
  out.bytes(tap.card.data(), tap.card.size());
  out.varint(record.account.value);
  out.u8(record.category);
  out.u8(static_cast<std::uint8_t>(tap.media));
  out.u8(static_cast<std::uint8_t>(tap.mode));
  out.u8(static_cast<std::uint8_t>(record.outcome));
  out.u8(static_cast<std::uint8_t>(record.reason));
  out.varint(coding::zigzag(tap.event_time.unix_us));
  // Wraps on absurd times rather than overflowing; decode wraps back.
  const auto after = static_cast<std::int64_t>(static_cast<std::uint64_t>(record.arrival.unix_us) -
                                               static_cast<std::uint64_t>(tap.event_time.unix_us));
  out.varint(coding::zigzag(after));
  out.varint(tap.operator_id.value);
  out.varint(tap.route);
  out.varint(tap.location);
  out.varint(coding::zigzag(tap.amount_minor));
  out.varint(coding::zigzag(record.fare_minor));
  out.varint(coding::zigzag(record.subsidy_minor));
  out.varint(coding::zigzag(record.points_redeemed));
  out.varint(record.rule_set_version);
  return value;
}

Result<RecordedTap> decode_recorded_tap(std::string_view key, std::string_view value) {
  RecordedTap record;
  if (key.size() != tap_record_key_bytes) return corrupt("key of " + std::to_string(key.size()) + " bytes");
  coding::Reader keys(key);
  record.business_day = unbiased(keys.be<std::uint32_t>());
  const std::uint8_t origin = keys.u8();
  if (origin != static_cast<std::uint8_t>(Origin::tap) && origin != static_cast<std::uint8_t>(Origin::service_given)) {
    return corrupt("key origin " + std::to_string(origin));
  }
  record.origin = static_cast<Origin>(origin);
  record.tap.id.reader.value = keys.be<std::uint32_t>();
  record.tap.id.sequence = keys.be<std::uint64_t>();

  coding::Reader in(value);
  const std::uint8_t format = in.u8();
  if (in.ok() && format != tap_record_format_version) return corrupt("format " + std::to_string(format));
  const std::uint8_t flags = in.u8();
  if ((flags & ~flags_known) != 0) return corrupt("unknown flags");
  record.tap.offline = (flags & flag_offline) != 0;
  record.anonymised = (flags & flag_anonymised) != 0;
  const std::uint8_t card_size = in.u8();
  if (card_size > CardId::bytes_max) return corrupt("card of " + std::to_string(card_size) + " bytes");
  const coding::ByteSpan card = in.bytes(card_size);
  if (in.ok()) record.tap.card = CardId::from_bytes(card.data(), card.size());
  record.account.value = in.varint();
  record.category = in.u8();
  const std::uint8_t media = in.u8();
  const std::uint8_t mode = in.u8();
  const std::uint8_t outcome = in.u8();
  const std::uint8_t reason = in.u8();
  record.tap.event_time.unix_us = coding::unzigzag<std::int64_t>(in.varint());
  const auto after = coding::unzigzag<std::int64_t>(in.varint());
  record.arrival.unix_us = static_cast<std::int64_t>(static_cast<std::uint64_t>(record.tap.event_time.unix_us) +
                                                     static_cast<std::uint64_t>(after));
  record.tap.operator_id.value = in.varint<std::uint32_t>();
  record.tap.route = in.varint<std::uint32_t>();
  record.tap.location = in.varint<std::uint32_t>();
  record.tap.amount_minor = coding::unzigzag<std::int64_t>(in.varint());
  record.fare_minor = coding::unzigzag<std::int64_t>(in.varint());
  record.subsidy_minor = coding::unzigzag<std::int64_t>(in.varint());
  record.points_redeemed = coding::unzigzag<std::int64_t>(in.varint());
  record.rule_set_version = in.varint<std::uint32_t>();
  if (!in.ok()) return corrupt(std::string(coding::problem_text(in.problem())) + " at byte " + std::to_string(in.problem_at()));
  if (!in.at_end()) return corrupt(std::to_string(in.remaining()) + " bytes past the end");

  if (record.category > rider_category_count) return corrupt("category " + std::to_string(record.category));
  if (media < 1 || media > static_cast<std::uint8_t>(Media::co_branded_credit)) return corrupt("media " + std::to_string(media));
  if (mode < 1 || mode > mode_count) return corrupt("mode " + std::to_string(mode));
  if (outcome != static_cast<std::uint8_t>(protocol::Outcome::approved) &&
      outcome != static_cast<std::uint8_t>(protocol::Outcome::refused)) {
    return corrupt("outcome " + std::to_string(outcome));
  }
  if (reason > static_cast<std::uint8_t>(refusal_reason_last)) return corrupt("reason " + std::to_string(reason));
  record.tap.media = static_cast<Media>(media);
  record.tap.mode = static_cast<Mode>(mode);
  record.outcome = static_cast<protocol::Outcome>(outcome);
  record.reason = static_cast<RefusalReason>(reason);
  if ((record.outcome == protocol::Outcome::approved) != (record.reason == RefusalReason::none)) {
    return corrupt("outcome and reason disagree");
  }
  if (record.anonymised && (record.tap.card.size() != tap_token_bytes || record.account.value != 0)) {
    return corrupt("anonymised, but with a card of " + std::to_string(record.tap.card.size()) + " bytes or an account");
  }
  return record;
}

ledger::RecordWrite tap_record_write(const RecordedTap& record) {
  return {ledger::RecordSpace::tap_records, tap_record_key(record.business_day, record.origin, record.tap.id),
          encode_recorded_tap(record)};
}

// The first business day of any tap record, if there is one.
Result<std::optional<std::int32_t>> first_tap_record_day(const ledger::Snapshot& snapshot) {
  std::optional<std::int32_t> first;
  Status scanned = snapshot.scan_records(ledger::RecordSpace::tap_records, {}, [&](std::string_view key, std::string_view) {
    first = tap_record_key_day(key);
    return false;
  });
  if (!scanned) return scanned;
  return first;
}

}  // namespace citycard::engine
