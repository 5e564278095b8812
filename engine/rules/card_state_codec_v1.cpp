// Card state bytes, version 1 (written until version 2; still read). Little
// endian, fixed size:
//
//   card_state  := version:u8 category:u8 media:u8 status:u8 auto_top_up:bool
//                  wallet_minor:i64 points:i64 auto_top_up_amount_minor:i64
//                  points_month:i32 visits_month:i32 visits:u16[3]
//                  recent_legs:leg[4] bus:journey metro:journey bike:rental
//                  cap_days:(business_day:i32 paid_minor:i64)[8]
//                  cap_months:(month:i32 paid_minor:i64)[3]
//   leg         := rule_set_version:u32 network:u16 leg_group:u16 start_us:i64 end_us:i64
//                  rider_price_minor:i64 journey_price_minor:i64 transfers_used:u8 late_paired:bool
//                  used_as_from:bool
//   journey     := open:bool operator:u32 route:u32 location:u32 start_us:i64
//                  rider_paid_minor:i64 subsidy_paid_minor:i64 rider_price_start_minor:i64 transfer
//   transfer    := rule:u16 late_rule:u16 use_own_price:bool ab_minor:i64 subtract_minor:i64
//   rental      := open:bool operator:u32 location:u32 start_us:i64
//   bool        := u8 0 or 1
//
// One function (visit_fields) lists the fields once for both directions, so
// the encoder and the decoder cannot disagree on the order.
#include "card_state_codec.h"

#include "citycard/coding.h"

namespace citycard::rules::codec {
namespace {

// The field visitor's two directions over the coding library.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  template <typename T>
  void integer(T& value) { coding::put_le<T>(out_, value); }
  void boolean(bool& value) { coding::put_u8(out_, value ? 1 : 0); }
  template <typename E>
  void enumeration(E& value) { coding::put_le<std::underlying_type_t<E>>(out_, static_cast<std::underlying_type_t<E>>(value)); }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename T>
  void integer(T& value) { value = in_.le<T>(); }
  void boolean(bool& value) {
    const std::uint8_t raw = in_.u8();
    if (raw > 1) bad_bool_ = true;
    value = raw == 1;
  }
  template <typename E>
  void enumeration(E& value) { value = static_cast<E>(in_.le<std::underlying_type_t<E>>()); }
  bool truncated() const { return !in_.ok(); }
  bool bad_bool() const { return bad_bool_; }
  std::size_t left() const { return in_.remaining(); }

 private:
  coding::Reader in_;
  bool bad_bool_ = false;
};

template <typename Io>
void visit_transfer(Io& io, TransferAdjust& t) {
  io.integer(t.rule);
  io.integer(t.late_rule);
  io.boolean(t.use_own_price);
  io.integer(t.ab_minor);
  io.integer(t.subtract_minor);
}

template <typename Io>
void visit_journey(Io& io, OpenJourney& j) {
  io.boolean(j.open);
  io.integer(j.operator_id.value);
  io.integer(j.route);
  io.integer(j.location);
  io.integer(j.start_us);
  io.integer(j.rider_paid_minor);
  io.integer(j.subsidy_paid_minor);
  io.integer(j.rider_price_start_minor);
  visit_transfer(io, j.transfer);
}

template <typename Io>
void visit_fields(Io& io, CardState& s) {
  io.enumeration(s.category);
  io.enumeration(s.media);
  io.enumeration(s.status);
  io.boolean(s.auto_top_up_enabled);
  io.integer(s.wallet_minor);
  io.integer(s.points);
  io.integer(s.auto_top_up_amount_minor);
  io.integer(s.points_month);
  io.integer(s.visits_month);
  for (auto& visits : s.visits) io.integer(visits);
  for (auto& leg : s.recent_legs) {
    io.integer(leg.rule_set_version);
    io.integer(leg.network);
    io.integer(leg.leg_group);
    io.integer(leg.start_us);
    io.integer(leg.end_us);
    io.integer(leg.rider_price_minor);
    io.integer(leg.journey_price_minor);
    io.integer(leg.transfers_used);
    io.boolean(leg.late_paired);
    io.boolean(leg.used_as_from);
  }
  visit_journey(io, s.bus);
  visit_journey(io, s.metro);
  io.boolean(s.bike.open);
  io.integer(s.bike.operator_id.value);
  io.integer(s.bike.location);
  io.integer(s.bike.start_us);
  for (auto& day : s.cap_days) {
    io.integer(day.business_day);
    io.integer(day.paid_minor);
  }
  for (auto& month : s.cap_months) {
    io.integer(month.month);
    io.integer(month.paid_minor);
  }
}

constexpr std::size_t journey_bytes = 1 + 4 * 3 + 8 * 4 + (2 + 2 + 1 + 8 + 8);
constexpr std::size_t leg_bytes = 4 + 2 + 2 + 8 * 4 + 1 + 1 + 1;
constexpr std::size_t encoded_bytes = 1 + 4 + 8 * 3 + 4 * 2 + 2 * visit_kind_count + leg_bytes * legs_kept +
                                      2 * journey_bytes + (1 + 4 + 4 + 8) + (4 + 8) * cap_days_kept +
                                      (4 + 8) * cap_months_kept;
static_assert(encoded_bytes == 496, "card state format v1 is 496 bytes; a change needs a new version");

}  // namespace

std::string encode_card_state_v1(const CardState& state) {
  std::string out;
  out.reserve(encoded_bytes);
  out.push_back(static_cast<char>(version_fixed));
  CardState copy = state;
  Writer writer(out);
  visit_fields(writer, copy);
  return out;
}

Result<CardState> decode_card_state_v1(std::string_view bytes) {
  if (bytes.size() != encoded_bytes)
    return Status::corruption("card state is " + std::to_string(bytes.size()) + " bytes, expected " +
                              std::to_string(encoded_bytes));
  CardState state;
  Reader reader(bytes.substr(1));
  visit_fields(reader, state);
  if (reader.truncated() || reader.left() != 0) return Status::corruption("card state length does not match its fields");
  if (reader.bad_bool()) return Status::corruption(bad_flag_message);
  attribute_legacy_subsidy(state);
  if (Status problem = check_card_state(state); !problem) return problem;
  return state;
}

}  // namespace citycard::rules::codec
