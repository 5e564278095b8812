// Card state bytes: the first byte is the format version. encode writes
// version 5 (card_state_codec_v2.cpp); decode reads 1 (card_state_codec_v1.cpp),
// 2, 3, 4 and 5, and every version passes the same checks below.
#include "card_state_codec.h"

#include "citycard/check.h"

namespace citycard::rules {

// The encoder never writes what the decoder would refuse: a state that
// breaks check_card_state comes from a rating bug, and stored it would be
// read back as a fresh card.
std::string encode_card_state(const CardState& state) {
  CITYCARD_CHECK_OK(codec::check_card_state(state));
  return codec::encode_card_state_v5(state);
}

Result<CardState> decode_card_state(std::string_view bytes) {
  if (bytes.empty()) return Status::corruption("card state is empty");
  const auto version = static_cast<std::uint8_t>(bytes[0]);
  if (version == codec::version_fixed) return codec::decode_card_state_v1(bytes);
  if (version == codec::version_compact) return codec::decode_card_state_v2(bytes);
  if (version == codec::version_programmes) return codec::decode_card_state_v3(bytes);
  if (version == codec::version_limits) return codec::decode_card_state_v4(bytes);
  if (version == codec::version_bonus) return codec::decode_card_state_v5(bytes);
  return Status::corruption("card state format version " + std::to_string(version) + " is not supported (expected " +
                            std::to_string(codec::version_fixed) + ", " + std::to_string(codec::version_compact) +
                            ", " + std::to_string(codec::version_programmes) + ", " +
                            std::to_string(codec::version_limits) + " or " + std::to_string(codec::version_bonus) + ")");
}

void codec::attribute_legacy_subsidy(CardState& state) {
  for (OpenJourney* journey : {&state.bus, &state.metro}) {
    journey->programme_paid_minor = {};
    journey->programme_paid_minor[programme_index(Programme::unattributed)] = journey->subsidy_paid_minor;
  }
}

CardState codec::as_stored_by(std::uint8_t version, CardState state) {
  if (version < version_programmes) attribute_legacy_subsidy(state);
  if (version < version_limits) {
    state.auto_top_up_threshold_minor = auto_top_up_threshold_of_rules;
    state.auto_top_up_daily_max_minor = 0;
    state.wallet_day = WalletDay{};
  }
  if (version < version_bonus) {
    state.bonus_points = 0;
    state.bonus_expiry_month = 0;
  }
  state.bonus_account = true;
  return state;
}

Status codec::check_card_state(const CardState& state) {
  auto category = static_cast<int>(state.category);
  if (category < 1 || category > rider_category_count)
    return Status::corruption("card state has unknown rider category " + std::to_string(category));
  auto media = static_cast<int>(state.media);
  if (media < 1 || media > 3) return Status::corruption("card state has unknown media " + std::to_string(media));
  auto status = static_cast<int>(state.status);
  if (status < 1 || status > 4) return Status::corruption("card state has unknown card status " + std::to_string(status));
  if (state.auto_top_up_amount_minor < 0) return Status::corruption("card state has a negative auto top-up amount");
  if (state.auto_top_up_threshold_minor < auto_top_up_threshold_of_rules)
    return Status::corruption("card state has a negative auto top-up threshold");
  if (state.auto_top_up_daily_max_minor < 0) return Status::corruption("card state has a negative daily auto top-up limit");
  if (state.wallet_day.auto_top_up_minor < 0 || state.wallet_day.paid_minor < 0)
    return Status::corruption("card state has a negative daily wallet counter");
  if (state.bonus_points < 0) return Status::corruption("card state has negative bonus points");
  if (state.bonus_expiry_month < 0) return Status::corruption("card state has a negative bonus expiry month");
  for (const auto& day : state.cap_days)
    if (day.paid_minor < 0) return Status::corruption("card state has a negative daily cap accumulator");
  for (const auto& month : state.cap_months)
    if (month.paid_minor < 0) return Status::corruption("card state has a negative monthly cap accumulator");
  for (const OpenJourney* journey : {&state.bus, &state.metro})
    if (journey->rider_paid_minor < 0 || journey->subsidy_paid_minor < 0)
      return Status::corruption("card state has an open journey with a negative amount paid");
  for (const OpenJourney* journey : {&state.bus, &state.metro})
    for (std::int64_t paid : journey->programme_paid_minor)
      if (paid < 0) return Status::corruption("card state has an open journey with a negative amount paid by a programme");
  return Status::ok();
}

}  // namespace citycard::rules
