// AdminAction::set_auto_top_up: the card office switches auto top-up from
// the co-branded credit card on (threshold, amount, daily limit) or off for
// one card. The setting lives in the rating state of the card's account
// (rules::CardState), where rating reads it; no money moves now. Checked
// against the rule set in force at the command's time: the medium must be
// one wallet.auto_top_up.media allows, and no top-up may take the wallet
// past its maximum.
#include <fmt/format.h>

#include "card_state_codec.h"
#include "group_builder.h"

namespace citycard::engine {

std::string describe_auto_top_up(const AutoTopUpSetting& setting) {
  if (!setting.enabled) return "auto top-up off";
  return fmt::format("auto top-up on threshold {} amount {} daily limit {}", setting.threshold_minor,
                     setting.amount_minor, setting.daily_max_minor);
}

namespace {

// The card's current setting, for the audit entry's "was".
AutoTopUpSetting setting_of(const rules::CardState& state) {
  AutoTopUpSetting setting;
  setting.enabled = state.auto_top_up_enabled;
  setting.threshold_minor = state.auto_top_up_threshold_minor;
  setting.amount_minor = state.auto_top_up_amount_minor;
  setting.daily_max_minor = state.auto_top_up_daily_max_minor;
  return setting;
}

std::string describe_was(const AutoTopUpSetting& was) {
  if (!was.enabled) return "off";
  auto own = [](std::int64_t value, bool set) { return set ? std::to_string(value) : std::string("the rule set's"); };
  return fmt::format("on threshold {} amount {} daily limit {}", own(was.threshold_minor, was.threshold_minor >= 0),
                     own(was.amount_minor, was.amount_minor > 0), own(was.daily_max_minor, was.daily_max_minor > 0));
}

Status check_setting(const CardRecord& card, const AutoTopUpSetting& setting, const rules::WalletRule& wallet) {
  if ((wallet.auto_top_up_media & rules::media_bit(card.media)) == 0)
    return Status::invalid_argument(fmt::format("card {} is a {} medium; the rule set allows auto top-up on no such medium",
                                                card.card.to_string(), media_name(card.media)));
  if (setting.amount_minor <= 0)
    return Status::invalid_argument(fmt::format("the auto top-up amount must be positive, got {}", setting.amount_minor));
  if (setting.threshold_minor < 0)
    return Status::invalid_argument(fmt::format("the auto top-up threshold must not be negative, got {}", setting.threshold_minor));
  if (setting.daily_max_minor <= 0)
    return Status::invalid_argument(fmt::format("the daily auto top-up limit must be positive, got {}", setting.daily_max_minor));
  if (setting.amount_minor > wallet.wallet_max_minor)
    return Status::invalid_argument(fmt::format("the auto top-up amount {} is above the wallet maximum of {}",
                                                setting.amount_minor, wallet.wallet_max_minor));
  if (setting.threshold_minor > wallet.wallet_max_minor - setting.amount_minor)
    return Status::invalid_argument(fmt::format("threshold {} plus amount {} is above the wallet maximum of {}: "
                                                "a top-up at the threshold would overfill the wallet",
                                                setting.threshold_minor, setting.amount_minor, wallet.wallet_max_minor));
  if (setting.daily_max_minor < setting.amount_minor)
    return Status::invalid_argument(fmt::format("the daily limit {} is less than one auto top-up of {}",
                                                setting.daily_max_minor, setting.amount_minor));
  return Status::ok();
}

}  // namespace

Result<std::string> GroupBuilder::build_auto_top_up(CardEntry& entry, const AdminCommand& command) {
  const CardRecord& card = entry.record;
  const AutoTopUpSetting& setting = command.auto_top_up;
  if (card.status == CardStatus::replaced)
    return Status::refused(fmt::format("card {} was replaced by {}; set the new card's auto top-up",
                                       card.card.to_string(), card.replaced_by.to_string()));
  if (setting.enabled) {
    // Off is always allowed: it only stops money moving.
    if (card.status != CardStatus::active)
      return Status::refused(fmt::format("card {} is {}; auto top-up is switched on for active cards only",
                                         card.card.to_string(), card_status_name(card.status)));
    if (context_.rules == nullptr)
      return Status::unavailable("no rule set is installed, so the auto top-up media and wallet maximum are unknown");
    if (Status checked = check_setting(card, setting, context_.rules->for_time(command.time).wallet); !checked)
      return checked;
  }
  rules::CardState state = book_.state_of(entry);
  const std::string was = describe_was(setting_of(state));
  state.auto_top_up_enabled = setting.enabled;
  state.auto_top_up_amount_minor = setting.enabled ? setting.amount_minor : 0;
  state.auto_top_up_threshold_minor = setting.enabled ? setting.threshold_minor : rules::auto_top_up_threshold_of_rules;
  state.auto_top_up_daily_max_minor = setting.enabled ? setting.daily_max_minor : 0;
  // Today's auto top-ups stay counted: switched off and on again the same
  // day, the limit still holds.
  book_.set_state(entry, rules::encode_card_state(state));
  return fmt::format("card {} {} (was {})", card.card.to_string(), describe_auto_top_up(setting), was);
}

}  // namespace citycard::engine
