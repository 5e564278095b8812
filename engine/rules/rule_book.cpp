#include "rule_book.h"

#include <algorithm>
#include <cstdio>

#include "citycard/check.h"
#include "rule_set_loader.h"

namespace citycard::rules {
namespace {

std::string clock_text(std::int32_t minutes, bool sign) {
  char text[16];
  const std::int32_t magnitude = minutes < 0 ? -minutes : minutes;
  if (sign) std::snprintf(text, sizeof text, "%c%02d:%02d", minutes < 0 ? '-' : '+', magnitude / 60, magnitude % 60);
  else std::snprintf(text, sizeof text, "%02d:%02d", magnitude / 60, magnitude % 60);
  return text;
}

LocalCalendar calendar_of(const std::vector<InstalledRules>& versions) {
  CITYCARD_CHECK(!versions.empty() && versions.front().rules != nullptr);
  const RuleSet& first = *versions.front().rules;
  return LocalCalendar(first.utc_offset_minutes, first.business_day_start_minutes);
}

}  // namespace

RuleBook::RuleBook(std::vector<InstalledRules> versions) : versions_(std::move(versions)), calendar_(calendar_of(versions_)) {
  std::sort(versions_.begin(), versions_.end(), [](const InstalledRules& a, const InstalledRules& b) {
    return a.effective_day != b.effective_day ? a.effective_day < b.effective_day : a.rules->version < b.rules->version;
  });
  for (std::size_t i = 0; i < versions_.size(); ++i) {
    CITYCARD_CHECK(versions_[i].rules != nullptr);
    // One business day for the whole book; versions rise with their days.
    CITYCARD_CHECK(versions_[i].rules->utc_offset_minutes == versions_.front().rules->utc_offset_minutes);
    CITYCARD_CHECK(versions_[i].rules->business_day_start_minutes == versions_.front().rules->business_day_start_minutes);
    if (i > 0) CITYCARD_CHECK(versions_[i].rules->version > versions_[i - 1].rules->version);
  }
}

std::shared_ptr<const RuleBook> RuleBook::single(RuleSet rules) {
  InstalledRules only;
  only.rules = std::make_shared<const RuleSet>(std::move(rules));
  return std::make_shared<const RuleBook>(std::vector<InstalledRules>{std::move(only)});
}

const InstalledRules& RuleBook::in_effect_on(std::int32_t business_day) const noexcept {
  for (auto it = versions_.rbegin(); it != versions_.rend(); ++it) {
    if (it->effective_day <= business_day) return *it;
  }
  return versions_.front();
}

const RuleSet& RuleBook::for_time(EventTime time) const noexcept {
  if (versions_.size() == 1) return *versions_.front().rules;
  return *in_effect_on(calendar_.business_day(time)).rules;
}

const InstalledRules& RuleBook::newest() const noexcept { return versions_.back(); }

Status RuleBook::check_load(const RuleSet& next, std::int32_t today) const {
  const RuleSet& newest_rules = *newest().rules;
  if (next.version <= newest_rules.version) {
    return Status::invalid_argument("version " + std::to_string(next.version) + " is not newer than the installed version " +
                                    std::to_string(newest_rules.version) + ": raise `version` with any change");
  }
  if (next.utc_offset_minutes != newest_rules.utc_offset_minutes ||
      next.business_day_start_minutes != newest_rules.business_day_start_minutes) {
    return Status::invalid_argument(
        "utc_offset " + clock_text(next.utc_offset_minutes, true) + " and business_day_start " +
        clock_text(next.business_day_start_minutes, false) + " differ from the installed rule sets' (" +
        clock_text(newest_rules.utc_offset_minutes, true) + ", " + clock_text(newest_rules.business_day_start_minutes, false) +
        "): the business day the close and settlement use cannot change with a rule set loaded into a running ledger");
  }
  if (!next.effective_from_day) {
    return Status::invalid_argument(
        "no effective_from: a rule set loaded into a running ledger names the business day it takes effect "
        "(effective_from = \"YYYY-MM-DD\", a day after today's " + format_date_days(today) + ")");
  }
  const std::int32_t from = *next.effective_from_day;
  if (from <= today) {
    return Status::invalid_argument("effective_from " + format_date_days(from) + " is not after the current business day " +
                                    format_date_days(today) +
                                    ": taps of a day already begun keep their rules; name a later business day");
  }
  const InstalledRules& latest = versions_.back();
  if (from < latest.effective_day) {
    return Status::invalid_argument("effective_from " + format_date_days(from) + " is before " +
                                    format_date_days(latest.effective_day) + ", from which version " +
                                    std::to_string(latest.rules->version) + " rates taps");
  }
  return Status::ok();
}

RuleBook RuleBook::with(InstalledRules next) const {
  std::vector<InstalledRules> versions = versions_;
  versions.push_back(std::move(next));
  return RuleBook(std::move(versions));
}

std::string RuleBook::status_on(const InstalledRules& version, std::int32_t today) const {
  auto at = std::find_if(versions_.begin(), versions_.end(), [&](const InstalledRules& v) { return &v == &version; });
  CITYCARD_CHECK(at != versions_.end());
  const auto after = std::next(at);
  if (after != versions_.end() && after->effective_day == at->effective_day) return "superseded";
  if (&in_effect_on(today) == &version) return "in effect";
  if (at->effective_day <= today) return "past";
  for (auto it = versions_.begin(); it != at; ++it) {
    if (it->effective_day > today && (std::next(it) == versions_.end() || std::next(it)->effective_day != it->effective_day))
      return "later";
  }
  return "next";
}

}  // namespace citycard::rules
