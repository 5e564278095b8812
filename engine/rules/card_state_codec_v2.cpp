// Card state bytes, versions 2, 3, 4 and 5: variable length, at most
// card_state_bytes_max. Version 3 is version 2 with `programmes` at the end of
// each journey; version 4 is version 3 with groups 24 and 25 (the card
// office's auto top-up threshold and daily limit, and the wallet's day);
// version 5 is version 4 with group 26 (the bonus points); everything else
// is the same.
// A group of fields is written only when it differs from a default-constructed
// CardState's (for a slot: the slot != its struct's default); bit g of
// `present` says group g follows. Groups follow in bit order:
//
//   card_state  := version:u8 (2, 3, 4 or 5) present:var32 group*
//     bit 0     kind          := category:u8 media:u8 status:u8
//     bit 1     wallet_minor:svar64
//     bit 2     points:svar64
//     bit 3     points_month:svar32
//     bits 4-7  recent_legs[0..3]:leg
//     bits 8-15 cap_days[0..7]:(business_day:delta32(previous day) paid_minor:svar64)
//     bits 16-18 cap_months[0..2]:(month:delta32(previous month) paid_minor:svar64)
//     bit 19    visits        := visits_month:delta32(points_month) visits:var16[3]
//     bit 20    auto_top_up   := enabled:bool amount_minor:svar64
//     bit 21    bus:journey
//     bit 22    metro:journey
//     bit 23    bike:rental
//     bit 24    auto_top_up_card := threshold_minor:svar64 daily_max_minor:svar64   (version 4 only;
//                                  absent: threshold -1 = the rule set's, daily_max 0 = the rule set's)
//     bit 25    wallet_day    := business_day:svar32 auto_top_up_minor:svar64 paid_minor:svar64 (versions 4, 5)
//     bit 26    bonus         := bonus_points:svar64 bonus_expiry_month:svar32 (version 5 only)
//     bits 24-31 (versions 2, 3), 26-31 (version 4) and 27-31 (version 5) are unknown: the record is corrupt
//   leg         := rule_set_version:var32 network:index leg_group:index
//                  start_us:delta64(previous leg) end_us:delta64(its start_us)
//                  rider_price_minor:svar64 journey_price_minor:svar64 transfers_used:u8
//                  late_paired:bool used_as_from:bool
//   journey     := open:bool operator:var32 route:var32 location:var32 start_us:delta64(anchor)
//                  rider_paid_minor:svar64 subsidy_paid_minor:svar64 rider_price_start_minor:svar64 transfer
//                  programmes (version 3 only)
//   programmes  := paid:var16 amount:svar64[popcount(paid)]
//                  bit p of paid: programme number p (citycard/programme.h) paid a non-zero
//                  amount, which follows, in bit order; bits >= programme_count are corrupt.
//                  Read from version 2, a journey's subsidy_paid_minor is all `unattributed`.
//   transfer    := rule:index late_rule:index use_own_price:bool ab_minor:svar64 subtract_minor:svar64
//   rental      := open:bool operator:var32 location:var32 start_us:delta64(anchor)
//
//   varN        := LEB128: 7 bits a byte, low first, high bit set = more; at most 10 bytes, value < 2^N
//   svarN       := varN of zigzag(value): 0, -1, 1, -2, ... as 0, 1, 2, 3, ...
//   deltaN(ref) := svarN of (value - ref) modulo 2^N; ref is a field decoded before it:
//                  previous leg/day/month = start_us/business_day/month of the last present slot
//                  before it in the same array (none: 0 for legs and days, points_month for
//                  months); anchor = start_us of the last present leg, 0 if none
//   index       := var16 of (value + 1) modulo 2^16, so no_index is one byte 0
//   bool        := u8 0 or 1
//
// As in v1, one function (visit_groups) lists the fields for both directions.
#include <cstdio>
#include <limits>

#include "card_state_codec.h"
#include "citycard/check.h"
#include "citycard/coding.h"

namespace citycard::rules::codec {
namespace {

constexpr unsigned group_kind = 0, group_wallet = 1, group_points = 2, group_points_month = 3, group_legs = 4;
constexpr unsigned group_cap_days = group_legs + legs_kept;
constexpr unsigned group_cap_months = group_cap_days + cap_days_kept;
constexpr unsigned group_visits = group_cap_months + cap_months_kept;
constexpr unsigned group_auto_top_up = group_visits + 1, group_bus = group_visits + 2, group_metro = group_visits + 3;
constexpr unsigned group_bike = group_visits + 4, group_count_v3 = group_visits + 5;
constexpr unsigned group_auto_top_up_card = group_count_v3, group_wallet_day = group_count_v3 + 1;
constexpr unsigned group_count_v4 = group_count_v3 + 2;
constexpr unsigned group_bonus = group_count_v4;
constexpr unsigned group_count = group_count_v4 + 1;
static_assert(group_count_v3 == 24, "card state formats v2 and v3 have 24 groups; a change needs a new version");
static_assert(group_count_v4 == 26, "card state format v4 has 26 groups; a change needs a new version");
static_assert(group_count == 27, "card state format v5 has 27 groups; a change needs a new version");
static_assert(sizeof(CardState) == 592 + 2 * sizeof(ProgrammeAmounts) + 16 + sizeof(WalletDay) + 16,
              "a CardState field was added or changed: the formats need a new version");
constexpr unsigned group_count_of(std::uint8_t version) {
  return version >= version_bonus ? group_count : version >= version_limits ? group_count_v4 : group_count_v3;
}
static_assert(programme_count <= 16, "programmes' paid bits are a var16");

constexpr std::size_t var16 = coding::varint_bytes_for(16), var32 = coding::varint_bytes_for(32);
constexpr std::size_t var64 = coding::varint_bytes_for(64);
constexpr std::size_t leg_bytes_max = var32 + 2 * var16 + 4 * var64 + 3;
constexpr std::size_t transfer_bytes_max = 2 * var16 + 1 + 2 * var64;
constexpr std::size_t programmes_bytes_max = coding::varint_bytes_for(programme_count) + programme_count * var64;
constexpr std::size_t journey_bytes_max = 1 + 3 * var32 + 4 * var64 + transfer_bytes_max + programmes_bytes_max;
constexpr std::size_t rental_bytes_max = 1 + 2 * var32 + var64;
constexpr std::size_t bytes_max = 1 + coding::varint_bytes_for(group_count) + 3 + 2 * var64 + var32 +
                                  leg_bytes_max * legs_kept + (var32 + var64) * (cap_days_kept + cap_months_kept) +
                                  (var32 + 3 * var16) + (1 + var64) + 2 * journey_bytes_max + rental_bytes_max +
                                  2 * var64 + (var32 + 2 * var64) + (var64 + var32);
static_assert(bytes_max == card_state_bytes_max, "card_state_bytes_max must be the grammar's largest record");

template <typename S>
constexpr std::make_unsigned_t<S> wrapping_minus(S value, S reference) {
  using U = std::make_unsigned_t<S>;
  return static_cast<U>(static_cast<U>(value) - static_cast<U>(reference));
}

// The field visitor's two directions over the coding library (varints,
// zigzag); svar, delta and index are this format's own.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void flag(const bool& value, const char*) { coding::put_u8(out_, value ? 1 : 0); }
  void octet(const std::uint8_t& value, const char*) { coding::put_u8(out_, value); }
  template <typename E>
  void enumeration(const E& value, const char*) { coding::put_u8(out_, static_cast<std::uint8_t>(value)); }
  template <typename U>
  void unsigned_varint(const U& value, const char*) { coding::put_varint(out_, value); }
  template <typename S>
  void signed_varint(const S& value, const char*) { coding::put_varint(out_, coding::zigzag(value)); }
  template <typename S>
  void delta(const S& value, S reference, const char*) {
    coding::put_varint(out_, coding::zigzag(static_cast<S>(wrapping_minus(value, reference))));
  }
  void index(const Index& value, const char*) { coding::put_varint(out_, static_cast<Index>(value + 1)); }
  void programmes(const ProgrammeAmounts& amounts, const char*) {
    std::uint16_t paid = 0;
    for (std::size_t p = 0; p < programme_count; ++p) paid |= amounts[p] != 0 ? 1u << p : 0u;
    coding::put_varint(out_, paid);
    for (std::int64_t amount : amounts)
      if (amount != 0) coding::put_varint(out_, coding::zigzag(amount));
  }

 private:
  std::string& out_;
};

// Reads after the version byte. The first problem sticks (later reads give
// zeros) and is reported by message() with its byte offset and field.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) { in_.u8(); }
  void flag(bool& value, const char* field) {
    const std::size_t at = in_.position();
    const std::uint8_t raw = next(field);
    if (raw > 1) fail(at, field, bad_flag_message);
    value = raw == 1;
  }
  void octet(std::uint8_t& value, const char* field) { value = next(field); }
  template <typename E>
  void enumeration(E& value, const char* field) { value = static_cast<E>(next(field)); }
  template <typename U>
  void unsigned_varint(U& value, const char* field) { value = varint<U>(field); }
  template <typename S>
  void signed_varint(S& value, const char* field) { value = coding::unzigzag<S>(varint<std::make_unsigned_t<S>>(field)); }
  template <typename S>
  void delta(S& value, S reference, const char* field) {
    using U = std::make_unsigned_t<S>;
    const auto offset = static_cast<U>(coding::unzigzag<S>(varint<U>(field)));
    value = static_cast<S>(static_cast<U>(static_cast<U>(reference) + offset));
  }
  void index(Index& value, const char* field) { value = static_cast<Index>(varint<Index>(field) - 1); }
  void programmes(ProgrammeAmounts& amounts, const char* field) {
    const std::size_t at = in_.position();
    const auto paid = varint<std::uint16_t>(field);
    if ((paid >> programme_count) != 0) fail(at, field, "card state has a journey paid by an unknown programme");
    for (std::size_t p = 0; p < programme_count; ++p)
      amounts[p] = ((paid >> p) & 1u) != 0 ? coding::unzigzag<std::int64_t>(varint<std::uint64_t>(field)) : 0;
  }

  bool failed() const { return problem_ != nullptr; }
  std::size_t position() const { return in_.position(); }
  std::string message() const {
    return std::string(problem_) + " at byte " + std::to_string(at_) + " (" + field_ + ")";
  }

 private:
  std::uint8_t next(const char* field) {
    if (failed()) return 0;
    const std::uint8_t byte = in_.u8();
    if (!in_.ok()) fail(in_.problem_at(), field, "card state is truncated");
    return byte;
  }
  // Read as 64 bits, then narrowed: a varint too long for 64 bits is named
  // as such whatever the field's width.
  template <typename U>
  U varint(const char* field) {
    if (failed()) return 0;
    const std::size_t at = in_.position();
    const std::uint64_t value = in_.varint<std::uint64_t>();
    switch (in_.problem()) {
      case coding::Problem::none: break;
      case coding::Problem::truncated: return fail<U>(in_.problem_at(), field, "card state is truncated");
      case coding::Problem::varint_too_long: return fail<U>(at, field, "card state has a varint longer than 10 bytes");
      case coding::Problem::varint_overflow: return fail<U>(at, field, "card state has a varint that overflows 64 bits");
    }
    if constexpr (sizeof(U) < sizeof(value)) {
      if (value > std::numeric_limits<U>::max())
        return fail<U>(at, field, sizeof(U) == 2 ? "card state has a varint that overflows 16 bits"
                                                   : "card state has a varint that overflows 32 bits");
    }
    return static_cast<U>(value);
  }
  template <typename T = int>
  T fail(std::size_t at, const char* field, const char* problem) {
    if (!failed()) problem_ = problem, field_ = field, at_ = at;
    return T{};
  }
  coding::Reader in_;
  const char* problem_ = nullptr;
  const char* field_ = nullptr;
  std::size_t at_ = 0;
};

// Leg, Journey, State: the struct, const when writing.
template <typename Io, typename Leg>
void visit_leg(Io& io, Leg& leg, std::int64_t previous_start_us) {
  io.unsigned_varint(leg.rule_set_version, "leg.rule_set_version");
  io.index(leg.network, "leg.network");
  io.index(leg.leg_group, "leg.leg_group");
  io.delta(leg.start_us, previous_start_us, "leg.start_us");
  io.delta(leg.end_us, leg.start_us, "leg.end_us");
  io.signed_varint(leg.rider_price_minor, "leg.rider_price_minor");
  io.signed_varint(leg.journey_price_minor, "leg.journey_price_minor");
  io.octet(leg.transfers_used, "leg.transfers_used");
  io.flag(leg.late_paired, "leg.late_paired");
  io.flag(leg.used_as_from, "leg.used_as_from");
}

template <typename Io, typename Journey>
void visit_journey(Io& io, Journey& j, std::int64_t anchor_us, std::uint8_t version) {
  io.flag(j.open, "journey.open");
  io.unsigned_varint(j.operator_id.value, "journey.operator");
  io.unsigned_varint(j.route, "journey.route");
  io.unsigned_varint(j.location, "journey.location");
  io.delta(j.start_us, anchor_us, "journey.start_us");
  io.signed_varint(j.rider_paid_minor, "journey.rider_paid_minor");
  io.signed_varint(j.subsidy_paid_minor, "journey.subsidy_paid_minor");
  io.signed_varint(j.rider_price_start_minor, "journey.rider_price_start_minor");
  io.index(j.transfer.rule, "transfer.rule");
  io.index(j.transfer.late_rule, "transfer.late_rule");
  io.flag(j.transfer.use_own_price, "transfer.use_own_price");
  io.signed_varint(j.transfer.ab_minor, "transfer.ab_minor");
  io.signed_varint(j.transfer.subtract_minor, "transfer.subtract_minor");
  if (version >= version_programmes) io.programmes(j.programme_paid_minor, "journey.programme_paid_minor");
}

template <typename Io, typename State>
void visit_groups(Io& io, State& s, std::uint32_t present, std::uint8_t version) {
  auto has = [present](std::size_t group) { return ((present >> group) & 1u) != 0; };
  if (has(group_kind)) {
    io.enumeration(s.category, "category");
    io.enumeration(s.media, "media");
    io.enumeration(s.status, "status");
  }
  if (has(group_wallet)) io.signed_varint(s.wallet_minor, "wallet_minor");
  if (has(group_points)) io.signed_varint(s.points, "points");
  if (has(group_points_month)) io.signed_varint(s.points_month, "points_month");
  std::int64_t previous_start_us = 0;
  for (std::size_t i = 0; i < legs_kept; ++i) {
    if (!has(group_legs + i)) continue;
    visit_leg(io, s.recent_legs[i], previous_start_us);
    previous_start_us = s.recent_legs[i].start_us;
  }
  std::int32_t previous = 0;
  for (std::size_t i = 0; i < cap_days_kept; ++i) {
    if (!has(group_cap_days + i)) continue;
    io.delta(s.cap_days[i].business_day, previous, "cap_day.business_day");
    io.signed_varint(s.cap_days[i].paid_minor, "cap_day.paid_minor");
    previous = s.cap_days[i].business_day;
  }
  previous = s.points_month;
  for (std::size_t i = 0; i < cap_months_kept; ++i) {
    if (!has(group_cap_months + i)) continue;
    io.delta(s.cap_months[i].month, previous, "cap_month.month");
    io.signed_varint(s.cap_months[i].paid_minor, "cap_month.paid_minor");
    previous = s.cap_months[i].month;
  }
  if (has(group_visits)) {
    io.delta(s.visits_month, s.points_month, "visits_month");
    for (auto& visits : s.visits) io.unsigned_varint(visits, "visits");
  }
  if (has(group_auto_top_up)) {
    io.flag(s.auto_top_up_enabled, "auto_top_up_enabled");
    io.signed_varint(s.auto_top_up_amount_minor, "auto_top_up_amount_minor");
  }
  if (has(group_bus)) visit_journey(io, s.bus, previous_start_us, version);
  if (has(group_metro)) visit_journey(io, s.metro, previous_start_us, version);
  if (has(group_bike)) {
    io.flag(s.bike.open, "rental.open");
    io.unsigned_varint(s.bike.operator_id.value, "rental.operator");
    io.unsigned_varint(s.bike.location, "rental.location");
    io.delta(s.bike.start_us, previous_start_us, "rental.start_us");
  }
  if (version < version_limits) return;
  if (has(group_auto_top_up_card)) {
    io.signed_varint(s.auto_top_up_threshold_minor, "auto_top_up_threshold_minor");
    io.signed_varint(s.auto_top_up_daily_max_minor, "auto_top_up_daily_max_minor");
  }
  if (has(group_wallet_day)) {
    io.signed_varint(s.wallet_day.business_day, "wallet_day.business_day");
    io.signed_varint(s.wallet_day.auto_top_up_minor, "wallet_day.auto_top_up_minor");
    io.signed_varint(s.wallet_day.paid_minor, "wallet_day.paid_minor");
  }
  if (version < version_bonus) return;
  if (has(group_bonus)) {
    io.signed_varint(s.bonus_points, "bonus_points");
    io.signed_varint(s.bonus_expiry_month, "bonus_expiry_month");
  }
}

std::uint32_t present_groups(const CardState& s) {
  constexpr CardState empty{};
  std::uint32_t present = 0;
  auto mark = [&present](std::size_t group, bool differs) { present |= differs ? 1u << group : 0u; };
  mark(group_kind, s.category != empty.category || s.media != empty.media || s.status != empty.status);
  mark(group_wallet, s.wallet_minor != empty.wallet_minor);
  mark(group_points, s.points != empty.points);
  mark(group_points_month, s.points_month != empty.points_month);
  for (std::size_t i = 0; i < legs_kept; ++i) mark(group_legs + i, s.recent_legs[i] != LegMemory{});
  for (std::size_t i = 0; i < cap_days_kept; ++i) mark(group_cap_days + i, s.cap_days[i] != CapDay{});
  for (std::size_t i = 0; i < cap_months_kept; ++i) mark(group_cap_months + i, s.cap_months[i] != CapMonth{});
  mark(group_visits, s.visits_month != empty.visits_month || s.visits != empty.visits);
  mark(group_auto_top_up, s.auto_top_up_enabled != empty.auto_top_up_enabled ||
                              s.auto_top_up_amount_minor != empty.auto_top_up_amount_minor);
  mark(group_bus, s.bus != OpenJourney{});
  mark(group_metro, s.metro != OpenJourney{});
  mark(group_bike, s.bike != OpenRental{});
  mark(group_auto_top_up_card, s.auto_top_up_threshold_minor != empty.auto_top_up_threshold_minor ||
                                   s.auto_top_up_daily_max_minor != empty.auto_top_up_daily_max_minor);
  mark(group_wallet_day, s.wallet_day != WalletDay{});
  mark(group_bonus, s.bonus_points != empty.bonus_points || s.bonus_expiry_month != empty.bonus_expiry_month);
  return present;
}

std::string encode(const CardState& state, std::uint8_t version) {
  std::string out;
  out.reserve(card_state_bytes_max);
  Writer writer(out);
  writer.octet(version, "version");
  // An older version has no groups for the newer fields: they are dropped
  // (tests compare against that, as for v2 and the programmes).
  const std::uint32_t present = present_groups(state) & ((1u << group_count_of(version)) - 1);
  writer.unsigned_varint(present, "present");
  visit_groups(writer, state, present, version);
  // The static_asserts above say it cannot be longer.
  CITYCARD_CHECK(out.size() <= card_state_bytes_max);
  return out;
}

Result<CardState> decode(std::string_view bytes, std::uint8_t version) {
  if (bytes.size() > card_state_bytes_max)
    return Status::corruption("card state is " + std::to_string(bytes.size()) + " bytes, more than the " +
                              std::to_string(card_state_bytes_max) + " of format version " + std::to_string(version));
  Reader reader(bytes);
  std::uint32_t present = 0;
  reader.unsigned_varint(present, "present");
  const unsigned groups = group_count_of(version);
  if (!reader.failed() && (present >> groups) != 0) {
    char bits[16];
    std::snprintf(bits, sizeof bits, "%#x", static_cast<unsigned>(present >> groups << groups));
    return Status::corruption(std::string("card state has unknown presence bits ") + bits + " (bits 0-" +
                              std::to_string(groups - 1) + " are defined)");
  }
  CardState state;
  visit_groups(reader, state, present, version);
  if (reader.failed()) return Status::corruption(reader.message());
  if (reader.position() != bytes.size())
    return Status::corruption("card state has " + std::to_string(bytes.size() - reader.position()) +
                              " trailing byte(s) after its fields end at byte " + std::to_string(reader.position()));
  if (version < version_programmes) attribute_legacy_subsidy(state);
  if (Status problem = check_card_state(state); !problem) return problem;
  return state;
}

}  // namespace

std::string encode_card_state_v2(const CardState& state) { return encode(state, version_compact); }
Result<CardState> decode_card_state_v2(std::string_view bytes) { return decode(bytes, version_compact); }
std::string encode_card_state_v3(const CardState& state) { return encode(state, version_programmes); }
Result<CardState> decode_card_state_v3(std::string_view bytes) { return decode(bytes, version_programmes); }
std::string encode_card_state_v4(const CardState& state) { return encode(state, version_limits); }
Result<CardState> decode_card_state_v4(std::string_view bytes) { return decode(bytes, version_limits); }
std::string encode_card_state_v5(const CardState& state) { return encode(state, version_bonus); }
Result<CardState> decode_card_state_v5(std::string_view bytes) { return decode(bytes, version_bonus); }

}  // namespace citycard::rules::codec
