// The welfare office's monthly eligibility file: who rides as a student, a
// senior or with a disability certificate, and from when until when. One
// home for the engine (admin op card_eligibility) and the CLI on a stopped
// ledger (`citycard card eligibility FILE`): the rows are parsed and checked
// here, every bad line named, and each row becomes an AdminAction::
// set_category carried out through the card's shard like any card action.
//
// File (CSV, LF or CRLF, the header line first):
//   card,category,from,until
//   04A1B2C3D4E5F6,senior,2026-12-15,          senior from the 65th birthday
//   04B1B2C3D4E5F7,student,,2027-07-31         student until the school year ends
//   04C1B2C3D4E5F8,disability,2026-01-01,2028-12-31   certificate period
//   04D1B2C3D4E5F9,general,,                   no longer eligible
// Dates name business days (the local date the day starts on); both ends are
// inclusive and either may be empty (open). Outside the period the card rides
// as general (category_on in citycard/card.h).
//
// A fifth column, district, is optional (files without it still read): the
// rider's residence district as its 3-digit postal code (Fuxing = 336), which
// per-district allotments use (rules [[points.districts]]); 0 clears it, an
// empty field or no column leaves the card's district as it is:
//   card,category,from,until,district
//   04E1B2C3D4E5FA,senior,2026-03-01,,336      a senior living in Fuxing
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin_command.h"
#include "citycard/card.h"
#include "citycard/status.h"
#include "ledger/ledger.h"

namespace citycard::engine {

struct EligibilityRow {
  std::size_t line = 0;   // in the file, from 1 (the header)
  CardId card;
  RiderCategory category = RiderCategory::general;
  std::int32_t from_day = no_category_day;
  std::int32_t until_day = no_category_day;
  std::optional<std::uint16_t> district;  // none: unchanged; no_district: cleared
};

// Rows per admin request; the CLI sends a longer file in chunks of this many.
inline constexpr std::size_t eligibility_rows_max = 2'000;
// Bad lines named in one error at most (the count of all is given).
inline constexpr std::size_t eligibility_problems_listed_max = 20;

// One line's fields ("card,category,from,until[,district]"); invalid_argument names the problem.
Result<EligibilityRow> parse_eligibility_row(const std::vector<std::string>& fields, std::size_t line);

// The rows' cards, as the ledger has them: invalid_argument naming each
// unknown or replaced card by line. Nothing is changed either way.
Status check_eligibility_cards(const ledger::Ledger& ledger, const std::vector<EligibilityRow>& rows);

// Rows in an admin request ({"line": N, "fields": [card, category, from, until(, district)]}),
// read back with the same checks as a file's lines.
nlohmann::json eligibility_rows_json(const std::vector<EligibilityRow>& rows);
Result<std::vector<EligibilityRow>> eligibility_rows_from_json(const nlohmann::json& rows);

// The card action a row becomes (key, time, clerk and reason are the caller's).
AdminCommand eligibility_command(const EligibilityRow& row);

// "senior from 2026-12-15 until open" (audit entries, the CLI's report).
std::string describe_eligibility(RiderCategory category, std::int32_t from_day, std::int32_t until_day);

}  // namespace citycard::engine
