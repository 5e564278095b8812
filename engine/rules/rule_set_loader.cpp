// TOML -> RuleSet. Sections are read in dependency order (operators and
// products before what refers to them) whatever their order in the file;
// every problem is collected and reported together.
#include "rule_set_loader.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "calendar.h"
#include "toml_fields.h"

namespace citycard::rules {

std::optional<std::int32_t> parse_clock_minutes(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9' ? text[i] - '0' : -1; };
  for (std::size_t i : {0u, 1u, 3u, 4u})
    if (digit(i) < 0) return std::nullopt;
  int hours = digit(0) * 10 + digit(1);
  int minutes = digit(3) * 10 + digit(4);
  if (hours > 24 || minutes > 59 || (hours == 24 && minutes != 0)) return std::nullopt;
  return hours * 60 + minutes;
}

std::optional<std::int32_t> parse_utc_offset_minutes(std::string_view text) {
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-')) return std::nullopt;
  auto minutes = parse_clock_minutes(text.substr(1));
  if (!minutes || *minutes > 14 * 60) return std::nullopt;
  return text[0] == '-' ? -*minutes : *minutes;
}

std::optional<std::int32_t> parse_date_days(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  std::int32_t parts[3] = {0, 0, 0};
  const std::size_t starts[3] = {0, 5, 8}, sizes[3] = {4, 2, 2};
  for (int part = 0; part < 3; ++part) {
    for (std::size_t i = starts[part]; i < starts[part] + sizes[part]; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      parts[part] = parts[part] * 10 + (text[i] - '0');
    }
  }
  const auto [year, month, day] = parts;
  if (year < 1970 || month < 1 || month > 12 || day < 1) return std::nullopt;
  const std::int64_t days = days_from_civil(year, month, day);
  if (civil_from_days(days).day != day) return std::nullopt;  // 2026-02-30
  return static_cast<std::int32_t>(days);
}

std::string format_date_days(std::int32_t days) {
  const CivilDate date = civil_from_days(days);
  char text[40];  // room for any int32 year, month and day
  std::snprintf(text, sizeof text, "%04d-%02d-%02d", date.year, date.month, date.day);
  return text;
}

namespace {

constexpr std::int64_t amount_max = limits::transfer_amount_minor_max;
constexpr std::int64_t u32_max = 0xFFFF'FFFF;

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Ids of one table: index by id, and the line of the first definition.
struct IdTable {
  std::map<std::string, std::pair<Index, std::uint32_t>, std::less<>> rows;
  Index find(std::string_view id) const {
    auto it = rows.find(id);
    return it == rows.end() ? no_index : it->second.first;
  }
};

class Loader {
 public:
  explicit Loader(std::string file) : log_(std::move(file)) {}

  RuleSetLoad load(const toml::table& root) {
    Fields fields(log_, root, "");
    if (auto version = fields.integer("version", true, 1, u32_max)) rules_.version = static_cast<std::uint32_t>(*version);
    if (auto name = fields.string("name", false)) rules_.name = *name;
    if (auto currency = fields.string("currency", false)) rules_.currency = *currency;
    if (auto offset = fields.string("utc_offset", true)) {
      if (auto minutes = parse_utc_offset_minutes(*offset)) rules_.utc_offset_minutes = *minutes;
      else fields.problem("utc_offset", "expected \"+HH:MM\" or \"-HH:MM\", got " + quoted(*offset));
    }
    if (auto start = fields.string("business_day_start", false)) {
      auto minutes = parse_clock_minutes(*start);
      if (minutes && *minutes < 24 * 60) rules_.business_day_start_minutes = *minutes;
      else fields.problem("business_day_start", "expected a local time \"HH:MM\", got " + quoted(*start));
    }
    if (auto from = fields.string("effective_from", false)) {
      if (auto day = parse_date_days(*from)) rules_.effective_from_day = *day;
      else fields.problem("effective_from", "expected the date a business day starts, \"YYYY-MM-DD\", got " + quoted(*from));
    }
    each(fields, "operators", [&](Fields& row, std::size_t) { read_operator(row); });
    each(fields, "fare_products", [&](Fields& row, std::size_t) { read_product(row); });
    each(fields, "networks", [&](Fields& row, std::size_t) { read_network(row); });
    each(fields, "areas", [&](Fields& row, std::size_t) { read_area(row); });
    each(fields, "timeframes", [&](Fields& row, std::size_t) { read_timeframe(row); });
    each(fields, "leg_rules", [&](Fields& row, std::size_t) { read_leg_rule(row); });
    each(fields, "fare_matrices", [&](Fields& row, std::size_t) { read_fare_matrix(row); });
    each(fields, "transfer_rules", [&](Fields& row, std::size_t) { read_transfer_rule(row); });
    each(fields, "venues", [&](Fields& row, std::size_t) { read_venue(row); });
    each(fields, "discounts", [&](Fields& row, std::size_t) { read_discount(row); });
    each(fields, "caps", [&](Fields& row, std::size_t) { read_cap(row); });
    each(fields, "payments", [&](Fields& row, std::size_t) { read_payment(row); });
    each(fields, "bikes", [&](Fields& row, std::size_t) { read_bike(row); });
    if (const toml::table* points = fields.subtable("points", false)) {
      Fields row(log_, *points, "points");
      read_points(row);
    }
    if (const toml::table* wallet = fields.subtable("wallet", false)) {
      Fields row(log_, *wallet, "wallet");
      read_wallet(row);
    }
    if (const toml::table* bonus = fields.subtable("bonus", false)) {
      Fields row(log_, *bonus, "bonus");
      read_bonus(row);
    }
    fields.finish();
    check_networks();
    RuleSetLoad result;
    result.problems = log_.take();
    if (result.problems.empty()) {
      rules_.finalize();
      result.rule_set = std::move(rules_);
    }
    return result;
  }

 private:
  template <typename Read>
  void each(Fields& parent, std::string_view key, Read read) {
    const toml::array* list = parent.array(key, false);
    if (list == nullptr) return;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::node& element = *list->get(i);
      std::string path = parent.path(key) + "[" + std::to_string(i) + "]";
      if (!element.is_table()) {
        log_.add(&element, path, "expected a table, found " + type_name(element));
        continue;
      }
      Fields row(log_, *element.as_table(), path);
      read(row, i);
      row.finish();
    }
  }

  // Reads "id", reporting duplicates; returns the id ("" when missing).
  std::string read_id(Fields& row, IdTable& table, std::size_t next_index) {
    auto id = row.string("id", true);
    if (!id) return {};
    const std::uint32_t line = line_of(row.table().get("id"));
    auto [it, inserted] = table.rows.try_emplace(*id, static_cast<Index>(next_index), line);
    if (!inserted) {
      row.problem("id", "duplicate id " + quoted(*id) + " (first defined on line " + std::to_string(it->second.second) + ")");
      return {};
    }
    if (next_index >= rule_table_rows_max) row.problem("id", "too many rows in this table");
    return *id;
  }

  // A reference to a row of `table` by id; no_index with a problem when unknown.
  Index reference(Fields& row, std::string_view key, const IdTable& table, const char* what, bool required) {
    auto id = row.string(key, required);
    if (!id) return no_index;
    Index index = table.find(*id);
    if (index == no_index) row.problem(key, std::string("no ") + what + " " + quoted(*id));
    return index;
  }

  std::vector<Index> references(Fields& row, std::string_view key, const IdTable& table, const char* what) {
    std::vector<Index> out;
    for (const auto& [id, node] : row.strings(key, false)) {
      Index index = table.find(id);
      if (index == no_index) log_.add(node, row.path(key), std::string("no ") + what + " " + quoted(id));
      else out.push_back(index);
    }
    return out;
  }

  std::optional<CategoryMask> categories(Fields& row, std::string_view key) {
    if (!row.has(key)) {
      row.node(key);
      return std::nullopt;
    }
    CategoryMask mask = 0;
    for (const auto& [name, node] : row.strings(key, true)) {
      auto category = parse_rider_category(name);
      if (!category) {
        log_.add(node, row.path(key),
                 "unknown rider category " + quoted(name) +
                     " (expected general, student, senior, disability, disability_companion or employee)");
        continue;
      }
      mask |= category_bit(*category);
    }
    return mask;
  }

  std::optional<MediaMask> media(Fields& row, std::string_view key) {
    if (!row.has(key)) {
      row.node(key);
      return std::nullopt;
    }
    MediaMask mask = 0;
    for (const auto& [name, node] : row.strings(key, true)) {
      auto medium = parse_media(name);
      if (!medium) {
        log_.add(node, row.path(key), "unknown media " + quoted(name) + " (expected card, mobile or co_branded_credit)");
        continue;
      }
      mask |= media_bit(*medium);
    }
    return mask;
  }

  std::vector<OperatorId> operator_list(Fields& row, std::initializer_list<ServiceKind> kinds) {
    std::vector<OperatorId> out;
    for (const auto& [id, node] : row.integers("operators", true, 1, u32_max)) {
      const OperatorRule* rule = rules_.find_operator(OperatorId{static_cast<std::uint32_t>(id)});
      if (rule == nullptr) {
        log_.add(node, row.path("operators"), "no operator " + std::to_string(id));
        continue;
      }
      bool kind_ok = false;
      for (ServiceKind kind : kinds) kind_ok = kind_ok || rule->kind == kind;
      if (!kind_ok) {
        log_.add(node, row.path("operators"),
                 "operator " + std::to_string(id) + " is a " + std::string(service_kind_name(rule->kind)) +
                     " operator, not " + std::string(service_kind_name(*kinds.begin())));
        continue;
      }
      out.push_back(rule->id);
    }
    if (row.has("operators") && out.empty() && row.table().get("operators")->as_array() &&
        row.table().get("operators")->as_array()->empty())
      row.problem("operators", "must list at least one operator");
    return out;
  }

  // Operators may have only one venue / payment / bike rule each.
  void claim_operators(Fields& row, const std::vector<OperatorId>& operators, const std::string& owner) {
    for (OperatorId id : operators) {
      auto [it, inserted] = operator_owner_.try_emplace(id.value, owner);
      if (!inserted)
        row.problem("operators", "operator " + std::to_string(id.value) + " already belongs to " + it->second);
    }
  }

  template <typename Enum>
  std::optional<Enum> choice(Fields& row, std::string_view key, bool required,
                             std::initializer_list<std::pair<const char*, Enum>> options, const char* what) {
    auto text = row.string(key, required);
    if (!text) return std::nullopt;
    std::string expected;
    for (const auto& [name, value] : options) {
      if (*text == name) return value;
      expected += expected.empty() ? name : std::string(", ") + name;
    }
    row.problem(key, std::string("unknown ") + what + " " + quoted(*text) + " (expected " + expected + ")");
    return std::nullopt;
  }

  void read_operator(Fields& row) {
    OperatorRule rule;
    auto id = row.integer("id", true, 1, u32_max);
    if (id) {
      auto [it, inserted] = operator_lines_.try_emplace(*id, line_of(row.table().get("id")));
      if (!inserted)
        row.problem("id", "duplicate operator " + std::to_string(*id) + " (first defined on line " +
                              std::to_string(it->second) + ")");
      rule.id = OperatorId{static_cast<std::uint32_t>(*id)};
    }
    if (auto name = row.string("name", true)) rule.name = *name;
    if (auto kind_text = row.string("kind", true)) {
      if (auto kind = parse_service_kind(*kind_text)) rule.kind = *kind;
      else
        row.problem("kind", "unknown service kind " + quoted(*kind_text) +
                                " (expected bus, metro, bike, taxi, pool, sports_centre, library, door, meeting, "
                                "parking, government or shop)");
    }
    if (id && operator_lines_[*id] == line_of(row.table().get("id"))) rules_.operators.push_back(rule);
  }

  void read_product(Fields& row) {
    FareProduct product;
    product.id = read_id(row, products_, rules_.products.size());
    if (auto name = row.string("name", false)) product.name = *name;
    const toml::array* prices = row.array("prices", true);
    if (prices != nullptr) {
      if (prices->empty()) row.problem("prices", "must list at least one price");
      for (std::size_t i = 0; i < prices->size(); ++i) {
        const toml::node& element = *prices->get(i);
        std::string path = row.path("prices") + "[" + std::to_string(i) + "]";
        if (!element.is_table()) {
          log_.add(&element, path, "expected a table, found " + type_name(element));
          continue;
        }
        Fields price_row(log_, *element.as_table(), path);
        ProductPrice price;
        if (auto amount = price_row.integer("amount_minor", true, -amount_max, amount_max)) price.amount_minor = *amount;
        if (auto category = price_row.string("category", false)) {
          price.category = parse_rider_category(*category);
          if (!price.category)
            price_row.problem("category", "unknown rider category " + quoted(*category) +
                                              " (expected general, student, senior, disability, "
                                              "disability_companion or employee)");
        }
        if (auto medium = price_row.string("media", false)) {
          price.media = parse_media(*medium);
          if (!price.media)
            price_row.problem("media", "unknown media " + quoted(*medium) + " (expected card, mobile or co_branded_credit)");
        }
        price_row.finish();
        product.prices.push_back(price);
      }
      bool has_general = false;
      for (const ProductPrice& price : product.prices)
        has_general = has_general || !price.category || *price.category == RiderCategory::general;
      if (!product.prices.empty() && !has_general)
        row.problem("prices", "has no default price (a row without category, or category \"general\")");
    }
    product_lines_.push_back(line_of(&row.table()));
    rules_.products.push_back(std::move(product));
  }

  void read_network(Fields& row) {
    Network network;
    network.id = read_id(row, networks_, rules_.networks.size());
    if (auto kind = choice<ServiceKind>(row, "kind", true, {{"bus", ServiceKind::bus}, {"metro", ServiceKind::metro}},
                                        "network kind"))
      network.kind = *kind;
    network.operators = operator_list(row, {network.kind});
    for (const auto& [route, node] : row.integers("routes", false, 0, u32_max))
      network.routes.push_back(static_cast<std::uint32_t>(route));
    if (auto collection = choice<FareCollection>(row, "fare_collection", true,
                                                 {{"on_board", FareCollection::on_board},
                                                  {"board_and_alight", FareCollection::board_and_alight},
                                                  {"hold_max_refund_on_exit", FareCollection::hold_max_refund_on_exit}},
                                                 "fare collection"))
      network.collection = *collection;
    if (auto mask = categories(row, "categories")) network.categories = *mask;
    if (auto mask = categories(row, "buy_one_get_one")) {
      network.buy_one_get_one_categories = *mask;
      if (network.collection != FareCollection::board_and_alight)
        row.problem("buy_one_get_one", "only applies to a board_and_alight network");
    }
    if (auto mask = categories(row, "points_categories")) {
      network.points_categories = *mask;
      // A fare settled again later (alighting, tap-out) could refund points as wallet money.
      if (network.collection != FareCollection::on_board)
        row.problem("points_categories", "points pay only on an on_board network");
    }
    if (auto limit = row.integer("points_max_per_ride", false, 1, amount_max)) network.points_max_per_ride = *limit;
    if (row.has("points_max_per_ride") && network.points_categories == 0)
      row.problem("points_max_per_ride", "needs points_categories");
    network.max_fare_product = reference(row, "max_fare_product", products_, "fare product",
                                         network.collection == FareCollection::hold_max_refund_on_exit);
    if (auto balance = row.integer("min_balance_to_enter_minor", false, 0, amount_max))
      network.min_balance_to_enter_minor = *balance;
    const bool hold = network.collection == FareCollection::hold_max_refund_on_exit;
    if (auto minutes = row.integer("trip_time_limit_minutes", hold, 1, 7 * 24 * 60))
      network.trip_time_limit_s = *minutes * 60;
    if (hold && network.kind != ServiceKind::metro)
      row.problem("fare_collection", "hold_max_refund_on_exit needs a metro network (tap in / tap out)");
    if (!hold && network.kind == ServiceKind::metro)
      row.problem("fare_collection", "a metro network must use hold_max_refund_on_exit");
    network_lines_.push_back(line_of(&row.table()));
    rules_.networks.push_back(std::move(network));
  }

  void read_area(Fields& row) {
    Area area;
    area.id = read_id(row, areas_, rules_.areas.size());
    area.network = reference(row, "network", networks_, "network", true);
    for (const auto& [stop, node] : row.integers("stops", true, 0, u32_max)) {
      area.stops.push_back(static_cast<std::uint32_t>(stop));
      if (area.network == no_index) continue;
      auto [it, inserted] = stop_owner_.try_emplace({area.network, stop}, area.id);
      if (!inserted)
        log_.add(node, row.path("stops"), "stop " + std::to_string(stop) + " is already in area " + quoted(it->second));
    }
    rules_.areas.push_back(std::move(area));
  }

  void read_timeframe(Fields& row) {
    Timeframe frame;
    frame.id = read_id(row, timeframes_, rules_.timeframes.size());
    if (auto start = row.string("start_time", true)) {
      if (auto minutes = parse_clock_minutes(*start)) frame.start_minute = *minutes;
      else row.problem("start_time", "expected a local time \"HH:MM\", got " + quoted(*start));
    }
    if (auto end = row.string("end_time", true)) {
      if (auto minutes = parse_clock_minutes(*end)) frame.end_minute = *minutes;
      else row.problem("end_time", "expected a local time \"HH:MM\", got " + quoted(*end));
    }
    if (frame.end_minute <= frame.start_minute) row.problem("end_time", "must be later than start_time");
    if (row.has("weekdays")) {
      frame.weekdays = 0;
      static constexpr const char* names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
      for (const auto& [day, node] : row.strings("weekdays", true)) {
        int found = -1;
        for (int i = 0; i < 7; ++i)
          if (day == names[i]) found = i;
        if (found < 0) log_.add(node, row.path("weekdays"), "unknown weekday " + quoted(day) + " (expected mon .. sun)");
        else frame.weekdays |= static_cast<std::uint8_t>(1u << found);
      }
    }
    rules_.timeframes.push_back(std::move(frame));
  }

  Index leg_group(const std::string& name) {
    Index index = rules_.find_index(rules_.leg_groups, name);
    if (index != no_index) return index;
    rules_.leg_groups.push_back(name);
    return static_cast<Index>(rules_.leg_groups.size() - 1);
  }

  // An area whose own network is unknown has its problem already.
  Index area_of_network(Fields& row, std::string_view key, Index network) {
    Index area = reference(row, key, areas_, "area", false);
    if (area != no_index && network != no_index && rules_.areas[area].network != no_index &&
        rules_.areas[area].network != network)
      row.problem(key, "area " + quoted(rules_.areas[area].id) + " belongs to network " +
                           quoted(rules_.networks[rules_.areas[area].network].id));
    return area;
  }

  void read_leg_rule(Fields& row) {
    LegRule rule;
    if (auto group = row.string("leg_group", true)) rule.leg_group = leg_group(*group);
    rule.network = reference(row, "network", networks_, "network", true);
    rule.from_area = area_of_network(row, "from_area", rule.network);
    rule.to_area = area_of_network(row, "to_area", rule.network);
    rule.timeframe = reference(row, "timeframe", timeframes_, "timeframe", false);
    rule.product = reference(row, "fare_product", products_, "fare product", true);
    if (auto priority = row.integer("rule_priority", false, -1'000'000, 1'000'000))
      rule.rule_priority = static_cast<std::int32_t>(*priority);
    check_non_negative_product(row, "fare_product", rule.product);
    leg_rule_lines_.push_back(line_of(&row.table()));
    rules_.leg_rules.push_back(rule);
  }

  // A station-to-station table written compactly; it becomes one fare
  // product per distinct amount ("<product_prefix>_<amount>") and one leg
  // rule per cell, exactly what a GTFS feed would list.
  void read_fare_matrix(Fields& row) {
    auto group = row.string("leg_group", true);
    Index network = reference(row, "network", networks_, "network", true);
    auto prefix = row.string("product_prefix", true);
    std::vector<Index> areas;
    for (const auto& [id, node] : row.strings("areas", true)) {
      Index area = areas_.find(id);
      if (area == no_index) log_.add(node, row.path("areas"), "no area " + quoted(id));
      else if (network != no_index && rules_.areas[area].network != network)
        log_.add(node, row.path("areas"), "area " + quoted(id) + " belongs to another network");
      areas.push_back(area);
    }
    const toml::array* rows = row.array("amounts_minor", true);
    if (rows == nullptr || !group || !prefix) return;
    if (rows->size() != areas.size()) {
      row.problem("amounts_minor", "has " + std::to_string(rows->size()) + " rows for " + std::to_string(areas.size()) +
                                       " areas; the table must be square");
      return;
    }
    const Index group_index = leg_group(*group);
    for (std::size_t from = 0; from < rows->size(); ++from) {
      const toml::node& line = *rows->get(from);
      std::string path = row.path("amounts_minor") + "[" + std::to_string(from) + "]";
      const toml::array* cells = line.as_array();
      if (cells == nullptr || cells->size() != areas.size()) {
        log_.add(&line, path, "expected " + std::to_string(areas.size()) + " amounts (one per area)");
        continue;
      }
      for (std::size_t to = 0; to < cells->size(); ++to) {
        const toml::node& cell = *cells->get(to);
        auto amount = cell.value_exact<std::int64_t>();
        if (!amount || *amount < 0 || *amount > amount_max) {
          log_.add(&cell, path + "[" + std::to_string(to) + "]",
                   "expected an amount between 0 and " + std::to_string(amount_max));
          continue;
        }
        if (areas[from] == no_index || areas[to] == no_index || network == no_index) continue;
        std::string product_id = *prefix + "_" + std::to_string(*amount);
        Index product = products_.find(product_id);
        if (product == no_index) {
          product = static_cast<Index>(rules_.products.size());
          products_.rows.try_emplace(product_id, product, line_of(&cell));
          rules_.products.push_back(FareProduct{product_id, product_id, {ProductPrice{std::nullopt, std::nullopt, *amount}}});
          product_lines_.push_back(line_of(&cell));
        }
        LegRule rule;
        rule.leg_group = group_index;
        rule.network = network;
        rule.from_area = areas[from];
        rule.to_area = areas[to];
        rule.product = product;
        leg_rule_lines_.push_back(line_of(&cell));
        rules_.leg_rules.push_back(rule);
      }
    }
  }

  void read_transfer_rule(Fields& row) {
    TransferRule rule;
    auto group_ref = [&](std::string_view key) {
      auto name = row.string(key, true);
      if (!name) return no_index;
      Index index = rules_.find_index(rules_.leg_groups, *name);
      if (index == no_index) row.problem(key, "no leg group " + quoted(*name) + " in any leg rule or fare matrix");
      return index;
    };
    rule.from_leg_group = group_ref("from_leg_group");
    rule.to_leg_group = group_ref("to_leg_group");
    if (auto count = row.integer("transfer_count", false, -1, 255)) {
      rule.transfer_count = static_cast<std::int32_t>(*count);
      if (*count == 0) row.problem("transfer_count", "must be -1 (unlimited) or at least 1");
      if (rule.from_leg_group != rule.to_leg_group)
        row.problem("transfer_count", "only allowed when from_leg_group equals to_leg_group (GTFS)");
    } else if (rule.from_leg_group == rule.to_leg_group && rule.from_leg_group != no_index && !row.has("transfer_count")) {
      row.problem("transfer_count", "required when from_leg_group equals to_leg_group (GTFS)");
    }
    if (auto limit = row.integer("duration_limit", false, 1, 7 * 24 * 3600)) {
      rule.duration_limit_s = *limit;
      if (auto type = row.integer("duration_limit_type", true, 0, 3))
        rule.duration_limit_type = static_cast<DurationLimitType>(*type);
    } else if (row.has("duration_limit_type")) {
      row.node("duration_limit_type");
      row.problem("duration_limit_type", "only allowed with duration_limit (GTFS)");
    }
    if (auto type = row.integer("fare_transfer_type", true, 0, 2))
      rule.fare_transfer_type = static_cast<FareTransferType>(*type);
    rule.product = reference(row, "fare_product", products_, "fare product", false);
    rules_.transfer_rules.push_back(rule);
  }

  void read_discount(Fields& row) {
    Discount discount;
    discount.id = read_id(row, discounts_, rules_.discounts.size());
    discount.networks = references(row, "networks", networks_, "network");
    discount.venues = references(row, "venues", venues_, "venue");
    if (!row.has("networks") && !row.has("venues")) row.problem("networks", "a discount needs networks or venues");
    if (auto mask = categories(row, "categories")) discount.categories = *mask;
    if (auto mask = media(row, "media")) discount.media = *mask;
    if (auto percent = row.integer("percent_off_bp", true, 0, 10'000)) discount.percent_off_bp = static_cast<std::int32_t>(*percent);
    if (auto rounding = choice<Rounding>(row, "rounding", true,
                                         {{"down", Rounding::down}, {"half_up", Rounding::half_up}, {"up", Rounding::up}},
                                         "rounding"))
      discount.rounding = *rounding;
    if (auto funding = choice<Funding>(row, "funded_by", false,
                                       {{"city", Funding::city}, {"operator", Funding::operator_itself}}, "funding"))
      discount.funded_by = *funding;
    rules_.discounts.push_back(std::move(discount));
  }

  void read_cap(Fields& row) {
    FareCap cap;
    cap.id = read_id(row, caps_, rules_.caps.size());
    auto mask = categories(row, "categories");
    if (!mask) row.problem("categories", "required field is missing");
    else cap.categories = *mask;
    cap.networks = references(row, "networks", networks_, "network");
    if (cap.networks.empty() && !row.has("networks")) row.problem("networks", "required field is missing");
    if (auto daily = row.integer("daily_minor", false, 1, amount_max)) cap.daily_minor = *daily;
    if (auto monthly = row.integer("monthly_minor", false, 1, amount_max)) cap.monthly_minor = *monthly;
    if (cap.daily_minor == 0 && cap.monthly_minor == 0 && !row.has("daily_minor") && !row.has("monthly_minor"))
      row.problem("daily_minor", "a cap needs daily_minor or monthly_minor");
    if (cap.daily_minor > 0 && cap.monthly_minor > 0 && cap.monthly_minor < cap.daily_minor)
      row.problem("monthly_minor", "is below daily_minor");
    for (int i = 1; i <= rider_category_count; ++i) {
      auto category = static_cast<RiderCategory>(i);
      if (!(cap.categories & category_bit(category))) continue;
      auto [it, inserted] = cap_owner_.try_emplace(i, cap.id);
      if (!inserted)
        row.problem("categories", "category " + quoted(rider_category_name(category)) + " already has cap " +
                                      quoted(it->second));
    }
    rules_.caps.push_back(std::move(cap));
  }

  void read_venue(Fields& row) {
    Venue venue;
    venue.id = read_id(row, venues_, rules_.venues.size());
    if (auto kind = choice<ServiceKind>(row, "kind", true,
                                        {{"taxi", ServiceKind::taxi}, {"pool", ServiceKind::pool},
                                         {"sports_centre", ServiceKind::sports_centre}, {"railway", ServiceKind::railway}},
                                        "venue kind"))
      venue.kind = *kind;
    venue.operators = operator_list(row, {venue.kind});
    claim_operators(row, venue.operators, "venue " + quoted(venue.id));
    if (auto mask = categories(row, "categories")) venue.categories = *mask;
    venue.product = reference(row, "fare_product", products_, "fare product", false);
    check_non_negative_product(row, "fare_product", venue.product);
    if (auto limit = row.integer("amount_max_minor", false, 1, amount_max)) venue.amount_max_minor = *limit;
    if (venue.product == no_index && !row.has("fare_product") && !row.has("amount_max_minor"))
      row.problem("amount_max_minor", "a venue priced by the device needs amount_max_minor (or give a fare_product)");
    if (auto accepted = row.boolean("points_accepted", false)) venue.points_accepted = *accepted;
    if (auto limit = row.integer("points_max_per_use", false, 1, amount_max)) venue.points_max_per_use = *limit;
    if (auto every = row.integer("reward_every_visits", false, 1, 1000)) venue.reward_every_visits = static_cast<std::int32_t>(*every);
    if (auto points = row.integer("reward_points", false, 1, amount_max)) venue.reward_points = *points;
    if (row.has("reward_every_visits") != row.has("reward_points"))
      row.problem(row.has("reward_every_visits") ? "reward_every_visits" : "reward_points",
                  "reward_every_visits and reward_points go together");
    if (venue.kind == ServiceKind::railway && venue.reward_every_visits > 0)
      row.problem("reward_every_visits", "a railway counts no visits");
    if (row.has("points_max_per_use") && !venue.points_accepted)
      row.problem("points_max_per_use", "needs points_accepted = true");
    rules_.venues.push_back(std::move(venue));
  }

  void read_payment(Fields& row) {
    PaymentRule rule;
    rule.id = read_id(row, payments_, rules_.payments.size());
    if (auto kind = choice<ServiceKind>(row, "kind", true,
                                        {{"parking", ServiceKind::parking}, {"government", ServiceKind::government},
                                         {"shop", ServiceKind::shop}},
                                        "payment kind"))
      rule.kind = *kind;
    rule.operators = operator_list(row, {rule.kind});
    claim_operators(row, rule.operators, "payment rule " + quoted(rule.id));
    if (auto limit = row.integer("payment_max_minor", true, 1, amount_max)) rule.payment_max_minor = *limit;
    if (auto spend = row.integer("bonus_spend_per_point_minor", false, 1, amount_max)) rule.bonus_spend_per_point_minor = *spend;
    if (auto pay = row.boolean("bonus_points_pay", false)) rule.bonus_points_pay = *pay;
    // Bonus points are a partner shop's: parking and government fees neither
    // give them nor take them (docs/rules.md "Bonus points").
    if (rule.kind != ServiceKind::shop) {
      if (row.has("bonus_spend_per_point_minor"))
        row.problem("bonus_spend_per_point_minor", "only a partner shop (kind = \"shop\") gives bonus points");
      if (rule.bonus_points_pay) row.problem("bonus_points_pay", "only a partner shop (kind = \"shop\") takes bonus points");
    }
    rules_.payments.push_back(std::move(rule));
  }

  void read_bike(Fields& row) {
    BikeRule rule;
    rule.id = read_id(row, bikes_, rules_.bikes.size());
    rule.operators = operator_list(row, {ServiceKind::bike});
    claim_operators(row, rule.operators, "bike rule " + quoted(rule.id));
    if (auto minutes = row.integer("free_minutes", false, 0, 24 * 60)) rule.free_minutes = *minutes;
    if (auto minutes = row.integer("period_minutes", true, 1, 24 * 60)) rule.period_minutes = *minutes;
    if (auto fare = row.integer("fare_per_period_minor", true, 0, amount_max)) rule.fare_per_period_minor = *fare;
    if (auto minutes = row.integer("tier_after_minutes", false, 1, 24 * 60)) rule.tier_after_minutes = *minutes;
    if (auto fare = row.integer("fare_per_period_after_tier_minor", false, 0, amount_max))
      rule.fare_per_period_after_tier_minor = *fare;
    if (row.has("tier_after_minutes") != row.has("fare_per_period_after_tier_minor")) {
      row.problem(row.has("tier_after_minutes") ? "tier_after_minutes" : "fare_per_period_after_tier_minor",
                  "tier_after_minutes and fare_per_period_after_tier_minor go together");
    } else if (rule.tier_after_minutes > 0 &&
               (rule.tier_after_minutes <= rule.free_minutes ||
                (rule.tier_after_minutes - rule.free_minutes) % rule.period_minutes != 0)) {
      row.problem("tier_after_minutes", "must be free_minutes plus a whole number of periods (" +
                                            std::to_string(rule.free_minutes) + " + N * " +
                                            std::to_string(rule.period_minutes) + ")");
    }
    if (auto fare = row.integer("rental_fare_max_minor", false, 1, amount_max)) rule.rental_fare_max_minor = *fare;
    if (auto balance = row.integer("min_balance_to_rent_minor", false, 0, amount_max)) rule.min_balance_to_rent_minor = *balance;
    if (auto mask = categories(row, "points_categories")) rule.points_categories = *mask;
    rules_.bikes.push_back(std::move(rule));
  }

  // `senior = 800, ...`: points a month per category named; the others stay as they are.
  void read_allotment(Fields& parent, const toml::table& table, CategoryPoints& allotment) {
    Fields categories_row(log_, table, parent.path("monthly_allotment"));
    for (int i = 1; i <= rider_category_count; ++i) {
      auto name = rider_category_name(static_cast<RiderCategory>(i));
      if (auto points = categories_row.integer(name, false, 0, amount_max)) allotment[static_cast<std::size_t>(i)] = *points;
    }
    categories_row.finish();
  }

  void read_points(Fields& row) {
    if (auto value = row.integer("twd_minor_per_point", false, 1, 1'000'000)) rules_.points.twd_minor_per_point = *value;
    if (const toml::table* allotment = row.subtable("monthly_allotment", false))
      read_allotment(row, *allotment, rules_.points.monthly_allotment);
    std::map<std::int64_t, std::uint32_t> district_lines;
    each(row, "districts", [&](Fields& district_row, std::size_t) {
      DistrictAllotment district;
      if (auto code = district_row.integer("district", true, district_min, district_max)) {
        district.district = static_cast<std::uint16_t>(*code);
        const std::uint32_t line = line_of(district_row.table().get("district"));
        if (auto [it, inserted] = district_lines.try_emplace(*code, line); !inserted)
          district_row.problem("district", "duplicate district " + std::to_string(*code) + " (first on line " +
                                               std::to_string(it->second) + ")");
      }
      if (auto name = district_row.string("name", false)) district.name = *name;
      if (const toml::table* allotment = district_row.subtable("monthly_allotment", true)) {
        if (allotment->empty()) district_row.problem("monthly_allotment", "names no category (senior = N, ...)");
        read_allotment(district_row, *allotment, district.monthly_allotment);
      }
      rules_.points.districts.push_back(std::move(district));
    });
    row.finish();
  }

  void read_wallet(Fields& row) {
    WalletRule& wallet = rules_.wallet;
    if (auto value = row.integer("wallet_max_minor", true, 1, amount_max)) wallet.wallet_max_minor = *value;
    if (auto value = row.integer("top_up_max_minor", true, 1, amount_max)) wallet.top_up_max_minor = *value;
    if (auto value = row.integer("offline_debt_max_minor", false, 0, amount_max)) wallet.offline_debt_max_minor = *value;
    if (const toml::table* auto_top_up = row.subtable("auto_top_up", false)) {
      Fields top_up(log_, *auto_top_up, "wallet.auto_top_up");
      if (auto value = top_up.integer("threshold_minor", true, 0, amount_max)) wallet.auto_top_up_threshold_minor = *value;
      if (auto value = top_up.integer("amount_minor", true, 1, amount_max)) wallet.auto_top_up_amount_minor = *value;
      if (auto mask = media(top_up, "media")) wallet.auto_top_up_media = *mask;
      else top_up.problem("media", "required field is missing");
      if (auto value = top_up.integer("daily_max_minor", false, 0, amount_max)) wallet.auto_top_up_daily_max_minor = *value;
      top_up.finish();
    }
    if (const toml::table* limits = row.subtable("payment_daily_max_minor", false)) {
      Fields categories_row(log_, *limits, row.path("payment_daily_max_minor"));
      for (int i = 1; i <= rider_category_count; ++i) {
        auto name = rider_category_name(static_cast<RiderCategory>(i));
        if (auto limit = categories_row.integer(name, false, 0, amount_max))
          wallet.payment_daily_max_minor[static_cast<std::size_t>(i)] = *limit;
      }
      categories_row.finish();
    }
    row.finish();
  }

  void read_bonus(Fields& row) {
    BonusRule& bonus = rules_.bonus;
    if (auto value = row.integer("twd_minor_per_point", false, 1, 1'000'000)) bonus.twd_minor_per_point = *value;
    if (auto value = row.integer("cashback_bp", false, 0, 10'000)) bonus.cashback_bp = static_cast<std::int32_t>(*value);
    if (auto value = row.integer("expiry_months", false, 0, 120)) bonus.expiry_months = static_cast<std::int32_t>(*value);
    row.finish();
  }

  void check_non_negative_product(Fields& row, std::string_view key, Index product) {
    if (product == no_index) return;
    for (const ProductPrice& price : rules_.products[product].prices)
      if (price.amount_minor < 0) {
        row.problem(key, "fare product " + quoted(rules_.products[product].id) +
                             " has a negative price; only transfer products may");
        return;
      }
  }

  // Cross-table checks once everything is read.
  void check_networks() {
    for (std::size_t n = 0; n < rules_.networks.size(); ++n) {
      const Network& network = rules_.networks[n];
      if (network.collection != FareCollection::hold_max_refund_on_exit || network.max_fare_product == no_index) continue;
      auto max_price = product_price(rules_.products[network.max_fare_product], RiderCategory::general, Media::physical_card);
      for (std::size_t r = 0; r < rules_.leg_rules.size(); ++r) {
        const LegRule& rule = rules_.leg_rules[r];
        if (rule.network != n || rule.product == no_index) continue;  // no product: reported already
        auto price = product_price(rules_.products[rule.product], RiderCategory::general, Media::physical_card);
        if (max_price && price && *price > *max_price) {
          log_.add_at(network_lines_[n], "networks[" + std::to_string(n) + "].max_fare_product",
                      "fare product " + quoted(rules_.products[network.max_fare_product].id) + " (" +
                          std::to_string(*max_price) + ") is below the fare " + std::to_string(*price) +
                          " of the leg rule on line " + std::to_string(leg_rule_lines_[r]));
          break;
        }
      }
    }
  }

  ProblemLog log_;
  RuleSet rules_;
  IdTable products_, networks_, areas_, timeframes_, discounts_, caps_, venues_, payments_, bikes_;
  std::map<std::int64_t, std::uint32_t> operator_lines_;
  std::map<std::uint32_t, std::string> operator_owner_;
  std::map<std::pair<Index, std::int64_t>, std::string> stop_owner_;
  std::map<int, std::string> cap_owner_;
  std::vector<std::uint32_t> product_lines_, network_lines_, leg_rule_lines_;
};

}  // namespace

RuleSetLoad parse_rule_set(std::string_view toml_text, const std::string& file_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, file_name);
  } catch (const toml::parse_error& error) {
    RuleSetLoad result;
    result.problems.push_back(RuleProblem{file_name, static_cast<std::uint32_t>(error.source().begin.line), "(syntax)",
                                          std::string(error.description())});
    return result;
  }
  Loader loader(file_name);
  return loader.load(root);
}

RuleSetLoad load_rule_set_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    RuleSetLoad result;
    result.problems.push_back(RuleProblem{path, 0, "(file)", "cannot open the file"});
    return result;
  }
  std::stringstream text;
  text << file.rdbuf();
  return parse_rule_set(text.str(), path);
}

Result<RuleSet> load_rule_set(const std::string& path) {
  RuleSetLoad load = load_rule_set_file(path);
  if (!load.ok()) return Status::invalid_argument(problems_text(load.problems));
  return std::move(*load.rule_set);
}

}  // namespace citycard::rules
