// The rule set versions an engine holds: the one in effect, the next one
// loaded ahead of its day, and the earlier ones late offline taps may still
// need. A tap is rated by the newest version in effect on its own business
// day (its event time, not its arrival), so the switch happens exactly at a
// business-day start whatever order taps arrive in. Versions loaded while
// the engine runs keep the book's business day (offset and start): the close
// and settlement depend on it. Immutable; a load makes a new book. Pure: the
// caller says which business day it is now.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "calendar.h"
#include "citycard/status.h"
#include "citycard/time.h"
#include "rule_set.h"

namespace citycard::rules {

// A version as installed: what rates, from when, and where it came from.
struct InstalledRules {
  static constexpr std::int32_t since_always = std::numeric_limits<std::int32_t>::min();

  std::shared_ptr<const RuleSet> rules;
  std::int32_t effective_day = since_always;  // business day it rates from
  std::string source;        // the file name it was loaded from
  std::string sha256;        // of the file's text, lower-case hex
  std::int64_t installed_us = 0;
  std::string installed_by;  // the clerk; empty: the engine's configured file
};

class RuleBook {
 public:
  // `versions` non-empty, each version once; sorted here by (effective_day,
  // version), so a later version for the same day supersedes the earlier.
  explicit RuleBook(std::vector<InstalledRules> versions);
  // A book of one version, rating every tap (tools and tests).
  static std::shared_ptr<const RuleBook> single(RuleSet rules);

  // The version that rates a tap of this time: the newest in effect on its
  // business day; the earliest version for a tap before all of them.
  const RuleSet& for_time(EventTime time) const noexcept;
  const InstalledRules& in_effect_on(std::int32_t business_day) const noexcept;
  const std::vector<InstalledRules>& versions() const noexcept { return versions_; }
  const InstalledRules& newest() const noexcept;  // highest version number
  LocalCalendar calendar() const noexcept { return calendar_; }
  std::int32_t business_day(EventTime time) const noexcept { return calendar_.business_day(time); }

  // May `next` be loaded on business day `today`? It needs an effective_from
  // after today, a version above every installed one, and this book's
  // business day. The error names what is wrong.
  Status check_load(const RuleSet& next, std::int32_t today) const;
  // This book with `next` added (after check_load, or at the engine's start).
  RuleBook with(InstalledRules next) const;

  // "in effect", "next" (loaded, not yet in effect), "superseded" (in effect
  // once, or never: a later version took its day), for `rules show`.
  std::string status_on(const InstalledRules& version, std::int32_t today) const;

 private:
  std::vector<InstalledRules> versions_;
  LocalCalendar calendar_;
};

}  // namespace citycard::rules
