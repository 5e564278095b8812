// Where the close's repricing (engine/groups/repricing.h) lists the
// corrections of a business day, so that settlement (assign.h) folds each
// into the line of the tap it corrects: RecordSpace::reprice, key
// "x" day:u32 BE (days since epoch + 2^31) then the correction's key text
// (rpt:R:S or rps:R:S), empty value.
#pragma once

#include <cstdint>
#include <string>

#include "citycard/coding.h"

namespace citycard {

inline std::string repricing_corrections_prefix(std::int32_t business_day) {
  std::string key = "x";
  coding::put_be<std::uint32_t>(key, static_cast<std::uint32_t>(business_day) ^ 0x80000000u);
  return key;
}

}  // namespace citycard
