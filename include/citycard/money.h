// Money and points: int64 amounts in the smallest unit the rule set declares.
// Never floating point. An amount travels with its asset; amounts of two
// assets never mix.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace citycard {

enum class Asset : std::uint8_t {
  twd = 1,     // New Taiwan dollars, in the rule set's minor unit (1 TWD by default)
  points = 2,  // senior/disability and reward points, whole points
};

inline constexpr int asset_count = 2;

constexpr std::string_view asset_name(Asset asset) noexcept {
  switch (asset) {
    case Asset::twd: return "TWD";
    case Asset::points: return "points";
  }
  return "?";
}

inline std::optional<Asset> parse_asset(std::string_view text) noexcept {
  if (text == "TWD" || text == "twd") return Asset::twd;
  if (text == "points" || text == "POINTS") return Asset::points;
  return std::nullopt;
}

// An amount of one asset. Signed: balances may be negative (debt, or the
// mirror side of a clearing account); transfer amounts are always > 0.
struct Amount {
  Asset asset = Asset::twd;
  std::int64_t minor = 0;

  bool operator==(const Amount&) const = default;
};

}  // namespace citycard
