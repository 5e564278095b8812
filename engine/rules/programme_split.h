// Internal to rating: how the city's share of a price splits into city
// programmes (citycard/programme.h). Not part of the public API.
//
// A leg's price falls in steps from what the operator is owed to what the
// rider pays, and each step is a programme's:
//
//   operator   the general fare, less an operator-funded discount (the operator's own)
//   category   the rider's category price (after an operator-funded discount)  category_fare
//   discounted after a city-funded discount                                    citizen_discount
//   transferred after a transfer rule                                          transfer_discount
//   rider      after buy-one-get-one (the units after the first)               buy_one_get_one
//   capped     what the rider is charged under the caps                        fare_cap
//
// The city pays max(operator, rider) - capped: the operator is owed at least
// the rider's price. The part above the rider's price, max(0, operator -
// rider), is split in the fixed order category_fare, citizen_discount,
// transfer_discount, buy_one_get_one, each taking at most its own step
// (max(0, upper - lower)) of what is left; the steps telescope to operator -
// rider, so nothing is left over. fare_cap is rider - capped. The parts sum
// exactly to the city's share (checked in every build).
#pragma once

#include <algorithm>
#include <cstdint>

#include "citycard/programme.h"
#include "rating_builder.h"

namespace citycard::rules {

struct PriceSteps {
  std::int64_t operator_minor = 0;
  std::int64_t category_minor = 0;
  std::int64_t discounted_minor = 0;
  std::int64_t transferred_minor = 0;
  std::int64_t rider_minor = 0;
};

// The city's share of `steps` with the rider charged `capped_minor`
// (<= steps.rider_minor), per programme.
inline ProgrammeAmounts split_city_share(const PriceSteps& steps, std::int64_t capped_minor) noexcept {
  CITYCARD_RULES_CHECK(capped_minor <= steps.rider_minor);
  ProgrammeAmounts parts{};
  std::int64_t left = std::max<std::int64_t>(0, steps.operator_minor - steps.rider_minor);
  auto take = [&](Programme programme, std::int64_t upper, std::int64_t lower) {
    const std::int64_t part = std::min(left, std::max<std::int64_t>(0, upper - lower));
    parts[programme_index(programme)] = part;
    left -= part;
  };
  take(Programme::category_fare, steps.operator_minor, steps.category_minor);
  take(Programme::citizen_discount, steps.category_minor, steps.discounted_minor);
  take(Programme::transfer_discount, steps.discounted_minor, steps.transferred_minor);
  take(Programme::buy_one_get_one, steps.transferred_minor, steps.rider_minor);
  CITYCARD_RULES_CHECK(left == 0);
  parts[programme_index(Programme::fare_cap)] = steps.rider_minor - capped_minor;
  return parts;
}

inline std::int64_t sum_of(const ProgrammeAmounts& amounts) noexcept {
  std::int64_t sum = 0;
  for (std::int64_t amount : amounts) sum += amount;
  return sum;
}

}  // namespace citycard::rules
