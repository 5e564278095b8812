// Internal to rating: one handler per tap mode. Each returns false when it
// refused (the reason is in the builder's rating).
#pragma once

#include "rating_builder.h"

namespace citycard::rules {

bool rate_bus_board(RatingBuilder& builder) noexcept;     // rate_transit.cpp
bool rate_bus_alight(RatingBuilder& builder) noexcept;
bool rate_metro_in(RatingBuilder& builder) noexcept;
bool rate_metro_out(RatingBuilder& builder) noexcept;
bool rate_bike_rent(RatingBuilder& builder) noexcept;     // rate_bike.cpp
bool rate_bike_return(RatingBuilder& builder) noexcept;
bool rate_entry(RatingBuilder& builder) noexcept;         // rate_services.cpp
bool rate_pay(RatingBuilder& builder) noexcept;
bool rate_identify(RatingBuilder& builder) noexcept;
bool rate_top_up(RatingBuilder& builder) noexcept;

}  // namespace citycard::rules
