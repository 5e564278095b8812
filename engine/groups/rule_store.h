// Rule set versions installed in the ledger, so a version loaded into a
// running engine (`citycard rules load`) is still there after a restart and
// a stopped ledger knows every version its taps were rated by. The engine
// (rule_desk.h) and the CLI on a stopped ledger both load through here.
//
// Record (RecordSpace::rule_sets, key = the version as 10 decimal digits, so
// keys sort by version): a JSON object
//   {"version", "effective_day" (days since 1970-01-01, or null: from the
//    start), "source", "sha256", "installed_us", "installed_by", "text"}
// holding the file's own text, parsed again at every start.
//
// The engine's configured file (`rules_file`) joins the book at start: the
// first version of a ledger rates everything before the next; a higher
// version than the ledger holds is installed as if loaded (its
// effective_from, or from the current business day); a version the ledger
// holds must be the same text; an older one it never held is refused.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "citycard/status.h"
#include "citycard/time.h"
#include "ledger/ledger.h"
#include "log.h"
#include "office_import.h"
#include "rule_book.h"

namespace citycard::engine {

struct RuleFile {
  std::string source;  // the name it is known by (file path or the CLI's file name)
  std::string text;
};
Result<RuleFile> read_rule_file(const std::string& path);

// A version ready to install, or one already installed with the same text
// (a retry: nothing to write).
struct RulePlan {
  rules::InstalledRules installed;
  std::string text;
  bool already_installed = false;
};

// The ledger's versions, each parsed again; an empty list for a ledger that
// has none. A stored text that no longer loads is corruption naming it.
Result<std::vector<RulePlan>> installed_rules(const ledger::Ledger& ledger);

// `file` parsed (invalid_argument listing every problem) and checked
// against the book on business day `today` (RuleBook::check_load).
Result<RulePlan> plan_rule_load(const rules::RuleBook& book, const std::vector<RulePlan>& installed, const RuleFile& file,
                                std::int32_t today, const OfficeActor& actor);

// Registers the operators the version names that the ledger lacks, then
// writes the version and its audit entry ("rules load") in one write.
Status install_rules(ledger::Ledger& ledger, const RulePlan& plan, const OfficeActor& actor);

// The engine's start: the configured file with the ledger's versions, as
// one book (see above). Installs the configured file when it is new.
Result<std::shared_ptr<const rules::RuleBook>> open_rule_book(ledger::Ledger& ledger, const RuleFile& configured,
                                                              EventTime now, Log& log);

// The day `now` belongs to in the book's business day.
inline std::int32_t business_day_now(const rules::RuleBook& book, EventTime now) { return book.business_day(now); }

// `rules show`: one object per version with its status on `today`.
nlohmann::json rule_versions_json(const rules::RuleBook& book, std::int32_t today);

}  // namespace citycard::engine
