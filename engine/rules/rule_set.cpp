// Rule set lookups. Tables are small (tens of rows): linear scans over
// contiguous vectors beat maps here; stops use a sorted table.
#include "rule_set.h"

#include <algorithm>

namespace citycard::rules {

std::string_view service_kind_name(ServiceKind kind) noexcept {
  switch (kind) {
    case ServiceKind::bus: return "bus";
    case ServiceKind::metro: return "metro";
    case ServiceKind::bike: return "bike";
    case ServiceKind::taxi: return "taxi";
    case ServiceKind::pool: return "pool";
    case ServiceKind::sports_centre: return "sports_centre";
    case ServiceKind::library: return "library";
    case ServiceKind::door: return "door";
    case ServiceKind::meeting: return "meeting";
    case ServiceKind::parking: return "parking";
    case ServiceKind::government: return "government";
    case ServiceKind::shop: return "shop";
    case ServiceKind::railway: return "railway";
  }
  return "?";
}

std::optional<ServiceKind> parse_service_kind(std::string_view text) noexcept {
  for (int i = 1; i <= service_kind_count; ++i) {
    auto kind = static_cast<ServiceKind>(i);
    if (service_kind_name(kind) == text) return kind;
  }
  return std::nullopt;
}

void RuleSet::finalize() {
  stop_areas.clear();
  for (std::size_t i = 0; i < areas.size(); ++i)
    for (std::uint32_t stop : areas[i].stops) stop_areas.push_back({areas[i].network, stop, static_cast<Index>(i)});
  std::sort(stop_areas.begin(), stop_areas.end());

  leg_rule_buckets.clear();
  leg_rule_candidates.clear();
  for (std::size_t n = 0; n < networks.size(); ++n) {
    std::vector<Index> network_areas{no_index};
    for (std::size_t a = 0; a < areas.size(); ++a)
      if (areas[a].network == n) network_areas.push_back(static_cast<Index>(a));
    for (Index from : network_areas) {
      for (Index to : network_areas) {
        LegRuleBucket bucket{static_cast<Index>(n), from, to, static_cast<std::uint32_t>(leg_rule_candidates.size()), 0};
        for (std::size_t r = 0; r < leg_rules.size(); ++r) {
          const LegRule& rule = leg_rules[r];
          if (rule.network != n) continue;
          if (rule.from_area != no_index && rule.from_area != from) continue;
          if (rule.to_area != no_index && rule.to_area != to) continue;
          leg_rule_candidates.push_back(static_cast<Index>(r));
          ++bucket.count;
        }
        leg_rule_buckets.push_back(bucket);
      }
    }
  }
  std::sort(leg_rule_buckets.begin(), leg_rule_buckets.end(),
            [](const LegRuleBucket& a, const LegRuleBucket& b) { return a.key() < b.key(); });
}

const LegRuleBucket* RuleSet::find_leg_rule_bucket(Index network, Index from_area, Index to_area) const noexcept {
  const auto key = std::tuple(network, from_area, to_area);
  auto it = std::lower_bound(leg_rule_buckets.begin(), leg_rule_buckets.end(), key,
                             [](const LegRuleBucket& bucket, const auto& wanted) { return bucket.key() < wanted; });
  if (it == leg_rule_buckets.end() || it->key() != key) return nullptr;
  return &*it;
}

const OperatorRule* RuleSet::find_operator(OperatorId id) const noexcept {
  for (const OperatorRule& rule : operators)
    if (rule.id == id) return &rule;
  return nullptr;
}

Index RuleSet::find_network(OperatorId id, std::uint32_t route, ServiceKind kind) const noexcept {
  for (std::size_t i = 0; i < networks.size(); ++i) {
    const Network& network = networks[i];
    if (network.kind != kind) continue;
    if (std::find(network.operators.begin(), network.operators.end(), id) == network.operators.end()) continue;
    if (!network.routes.empty() && std::find(network.routes.begin(), network.routes.end(), route) == network.routes.end())
      continue;
    return static_cast<Index>(i);
  }
  return no_index;
}

Index RuleSet::find_area(Index network, std::uint32_t stop) const noexcept {
  StopArea key{network, stop, 0};
  auto it = std::lower_bound(stop_areas.begin(), stop_areas.end(), key);
  if (it == stop_areas.end() || it->network != network || it->stop != stop) return no_index;
  return it->area;
}

namespace {
template <typename Rule>
const Rule* find_by_operator(const std::vector<Rule>& rules, OperatorId id) noexcept {
  for (const Rule& rule : rules)
    if (std::find(rule.operators.begin(), rule.operators.end(), id) != rule.operators.end()) return &rule;
  return nullptr;
}
}  // namespace

const Venue* RuleSet::find_venue(OperatorId id) const noexcept { return find_by_operator(venues, id); }
const PaymentRule* RuleSet::find_payment(OperatorId id) const noexcept { return find_by_operator(payments, id); }
const BikeRule* RuleSet::find_bike(OperatorId id) const noexcept { return find_by_operator(bikes, id); }

Index RuleSet::find_index(const std::vector<std::string>& ids, std::string_view id) const noexcept {
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] == id) return static_cast<Index>(i);
  return no_index;
}

std::optional<std::int64_t> product_price(const FareProduct& product, RiderCategory category, Media media) noexcept {
  // Most specific row wins: category and medium, category, medium, default.
  int best_score = -1;
  std::int64_t amount = 0;
  for (const ProductPrice& price : product.prices) {
    if (price.category && *price.category != category) continue;
    if (price.media && *price.media != media) continue;
    int score = (price.category ? 2 : 0) + (price.media ? 1 : 0);
    if (score > best_score) {
      best_score = score;
      amount = price.amount_minor;
    }
  }
  if (best_score < 0) return std::nullopt;
  return amount;
}

std::int64_t PointsRule::allotment(RiderCategory category, std::uint16_t district) const noexcept {
  const auto index = static_cast<std::size_t>(category);
  if (district != no_district) {
    for (const DistrictAllotment& row : districts)
      if (row.district == district && row.monthly_allotment[index] != allotment_not_given) return row.monthly_allotment[index];
  }
  return monthly_allotment[index];
}

std::int64_t bike_fare_minor(const BikeRule& rule, std::int64_t minutes) noexcept {
  const std::int64_t chargeable = std::max<std::int64_t>(0, minutes - rule.free_minutes);
  const std::int64_t periods = (chargeable + rule.period_minutes - 1) / rule.period_minutes;
  std::int64_t first_tier = periods;
  if (rule.tier_after_minutes > 0) first_tier = std::min(periods, (rule.tier_after_minutes - rule.free_minutes) / rule.period_minutes);
  std::int64_t fare = first_tier * rule.fare_per_period_minor + (periods - first_tier) * rule.fare_per_period_after_tier_minor;
  if (rule.rental_fare_max_minor > 0) fare = std::min(fare, rule.rental_fare_max_minor);
  return fare;
}

}  // namespace citycard::rules
