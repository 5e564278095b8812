#include "rule_store.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "citycard/check.h"
#include "office_audit.h"
#include "rule_set_loader.h"

namespace citycard::engine {
namespace {

using json = nlohmann::json;

// Source of the keys under which the engine installs its configured file
// ("RULE"); the sequence is the version.
constexpr std::uint64_t rules_system_source = 0x52554C45;

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  CITYCARD_CHECK(EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) == 1);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string version_key(std::uint32_t version) { return fmt::format("{:010d}", version); }

std::string day_text(std::int32_t day) {
  return day == rules::InstalledRules::since_always ? "the start" : rules::format_date_days(day);
}

Result<rules::RuleSet> parse_file(const RuleFile& file) {
  rules::RuleSetLoad load = rules::parse_rule_set(file.text, file.source);
  if (load.ok()) return std::move(*load.rule_set);
  std::string message = fmt::format("{}: {} problem{}", file.source, load.problems.size(), load.problems.size() == 1 ? "" : "s");
  for (const auto& problem : load.problems) message += "\n  " + problem.to_string();
  return Status::invalid_argument(message);
}

json plan_json(const RulePlan& plan) {
  const rules::InstalledRules& v = plan.installed;
  return json{{"version", v.rules->version},
              {"effective_day", v.effective_day == rules::InstalledRules::since_always ? json() : json(v.effective_day)},
              {"source", v.source},
              {"sha256", v.sha256},
              {"installed_us", v.installed_us},
              {"installed_by", v.installed_by},
              {"text", plan.text}};
}

Result<RulePlan> plan_from_record(std::string_view key, std::string_view value) {
  auto body = json::parse(value, nullptr, false);
  auto bad = [&](const std::string& why) {
    return Status::corruption("rule set record " + std::string(key) + ": " + why);
  };
  if (body.is_discarded() || !body.is_object() || !body.contains("text") || !body["text"].is_string()) {
    return bad("not a rule set record");
  }
  RulePlan plan;
  plan.text = body["text"].get<std::string>();
  try {
    auto parsed = parse_file(RuleFile{body.value("source", std::string(key)), plan.text});
    if (!parsed) return bad(parsed.status().message());
    if (parsed->version != body.at("version").get<std::uint32_t>()) return bad("its text is another version");
    plan.installed.rules = std::make_shared<const rules::RuleSet>(std::move(*parsed));
    const json& day = body.at("effective_day");
    plan.installed.effective_day = day.is_null() ? rules::InstalledRules::since_always : day.get<std::int32_t>();
    plan.installed.source = body.value("source", std::string());
    plan.installed.sha256 = body.value("sha256", std::string());
    plan.installed.installed_us = body.value("installed_us", std::int64_t{0});
    plan.installed.installed_by = body.value("installed_by", std::string());
  } catch (const json::exception& error) {
    return bad(error.what());
  }
  if (plan.installed.sha256 != sha256_hex(plan.text)) return bad("its text does not match its sha256");
  return plan;
}

RulePlan plan_of(rules::RuleSet rule_set, const RuleFile& file, std::int32_t effective_day, const OfficeActor& actor) {
  RulePlan plan;
  plan.text = file.text;
  plan.installed.rules = std::make_shared<const rules::RuleSet>(std::move(rule_set));
  plan.installed.effective_day = effective_day;
  plan.installed.source = file.source;
  plan.installed.sha256 = sha256_hex(file.text);
  plan.installed.installed_us = actor.time.unix_us;
  plan.installed.installed_by = actor.clerk;
  return plan;
}

const RulePlan* find_version(const std::vector<RulePlan>& installed, std::uint32_t version) {
  for (const RulePlan& plan : installed) {
    if (plan.installed.rules->version == version) return &plan;
  }
  return nullptr;
}

}  // namespace

Result<RuleFile> read_rule_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot read rule file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return Status::io_error("cannot read rule file " + path);
  return RuleFile{path, text.str()};
}

Result<std::vector<RulePlan>> installed_rules(const ledger::Ledger& ledger) {
  std::vector<RulePlan> out;
  Status problem = Status::ok();
  auto snapshot = ledger.snapshot();
  Status scanned = snapshot->scan_records(ledger::RecordSpace::rule_sets, "", [&](std::string_view key, std::string_view value) {
    auto plan = plan_from_record(key, value);
    if (!plan) {
      problem = plan.status();
      return false;
    }
    out.push_back(std::move(*plan));
    return true;
  });
  if (!scanned) return scanned;
  if (!problem) return problem;
  return out;
}

Result<RulePlan> plan_rule_load(const rules::RuleBook& book, const std::vector<RulePlan>& installed, const RuleFile& file,
                                std::int32_t today, const OfficeActor& actor) {
  auto parsed = parse_file(file);
  if (!parsed) return parsed.status();
  if (const RulePlan* same = find_version(installed, parsed->version)) {
    if (same->installed.sha256 == sha256_hex(file.text)) {
      RulePlan retry = *same;
      retry.already_installed = true;
      return retry;
    }
  }
  if (Status allowed = book.check_load(*parsed, today); !allowed) return Status::invalid_argument(file.source + ": " + allowed.message());
  const std::int32_t from = *parsed->effective_from_day;
  return plan_of(std::move(*parsed), file, from, actor);
}

Status install_rules(ledger::Ledger& ledger, const RulePlan& plan, const OfficeActor& actor) {
  CITYCARD_CHECK(!plan.already_installed && plan.installed.rules != nullptr);
  const rules::RuleSet& rule_set = *plan.installed.rules;
  std::vector<std::string> added;
  for (const auto& rule : rule_set.operators) {
    if (ledger.operator_record(rule.id)) continue;
    auto registered = ledger.register_operator(rule.id, rule.name);
    if (!registered) return registered.status();
    added.push_back(std::to_string(rule.id.value));
  }
  AuditEntry entry = office_audit_entry(actor, "rules load", "");
  entry.detail = fmt::format("rule set version {} '{}' from {} (sha256 {}), rates taps from {}", rule_set.version,
                             rule_set.name, plan.installed.source, plan.installed.sha256,
                             day_text(plan.installed.effective_day));
  if (!added.empty()) entry.detail += fmt::format("; operators registered: {}", fmt::join(added, ", "));
  return ledger.put_records({ledger::RecordWrite{ledger::RecordSpace::rule_sets, version_key(rule_set.version),
                                                 plan_json(plan).dump()},
                             audit_record(entry)},
                            {});
}

Result<std::shared_ptr<const rules::RuleBook>> open_rule_book(ledger::Ledger& ledger, const RuleFile& configured,
                                                              EventTime now, Log& log) {
  auto installed = installed_rules(ledger);
  if (!installed) return installed.status();
  auto parsed = parse_file(configured);
  if (!parsed) return parsed.status();
  const std::uint32_t version = parsed->version;

  OfficeActor engine_itself;
  engine_itself.time = now;
  engine_itself.key = IdempotencyKey{Origin::system, rules_system_source, version};
  engine_itself.reason = "the engine's configured rule file";
  std::vector<rules::InstalledRules> versions;
  for (const RulePlan& plan : *installed) versions.push_back(plan.installed);

  if (const RulePlan* same = find_version(*installed, version)) {
    if (same->installed.sha256 != sha256_hex(configured.text)) {
      return Status::invalid_argument(fmt::format(
          "{} is rule set version {}, but the ledger holds another text of version {} (installed from {}, sha256 {}): "
          "raise `version` with any change",
          configured.source, version, version, same->installed.source, same->installed.sha256));
    }
  } else if (installed->empty()) {
    RulePlan first = plan_of(std::move(*parsed), configured, rules::InstalledRules::since_always, engine_itself);
    if (Status written = install_rules(ledger, first, engine_itself); !written) return written;
    log.event("rule_set_installed", {{"version", std::to_string(version)}, {"from", "the start"}, {"source", configured.source}});
    versions.push_back(first.installed);
  } else {
    rules::RuleBook book(versions);
    const std::uint32_t newest = book.newest().rules->version;
    if (version < newest) {
      return Status::invalid_argument(fmt::format(
          "{} is rule set version {}, which this ledger never installed; it holds versions up to {} "
          "(`citycard rules show`): configure one of those or a newer file",
          configured.source, version, newest));
    }
    // A newer file configured for a restart is installed like a load, but
    // may name no effective_from or a day begun: it then rates from today.
    const std::int32_t today = book.business_day(now);
    const std::int32_t from = std::max(parsed->effective_from_day.value_or(today), today);
    parsed->effective_from_day = from;
    if (Status allowed = book.check_load(*parsed, from - 1); !allowed) {
      return Status::invalid_argument(configured.source + ": " + allowed.message());
    }
    RulePlan next = plan_of(std::move(*parsed), configured, from, engine_itself);
    if (Status written = install_rules(ledger, next, engine_itself); !written) return written;
    log.event("rule_set_installed", {{"version", std::to_string(version)}, {"from", day_text(from)}, {"source", configured.source}});
    versions.push_back(next.installed);
  }
  return std::make_shared<const rules::RuleBook>(std::move(versions));
}

nlohmann::json rule_versions_json(const rules::RuleBook& book, std::int32_t today) {
  json rows = json::array();
  for (const rules::InstalledRules& v : book.versions()) {
    rows.push_back(json{{"version", v.rules->version},
                        {"name", v.rules->name},
                        {"effective_from", day_text(v.effective_day)},
                        {"status", book.status_on(v, today)},
                        {"source", v.source},
                        {"sha256", v.sha256},
                        {"installed_us", v.installed_us},
                        {"installed_by", v.installed_by}});
  }
  return json{{"ok", true}, {"today", rules::format_date_days(today)}, {"versions", rows}};
}

}  // namespace citycard::engine
