#include "config.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "citycard/realtime.h"
#include "huge_page_heap.h"
#include "ledger/rocks_ledger.h"

namespace citycard::engine {
namespace {

class Reader {
 public:
  Reader(const toml::table& root, std::string file) : root_(root), file_(std::move(file)) {}

  template <typename T>
  void number(std::string_view table, std::string_view key, T& out, std::int64_t min, std::int64_t max) {
    const toml::node* node = find(table, key);
    if (node == nullptr) return;
    auto value = node->value<std::int64_t>();
    if (!value || *value < min || *value > max) {
      problem(table, key, "must be an integer in " + std::to_string(min) + ".." + std::to_string(max));
      return;
    }
    out = static_cast<T>(*value);
  }
  void millis(std::string_view table, std::string_view key, std::chrono::milliseconds& out, std::int64_t max) {
    std::int64_t value = out.count();
    number(table, key, value, 1, max);
    out = std::chrono::milliseconds(value);
  }
  void text(std::string_view table, std::string_view key, std::string& out) {
    const toml::node* node = find(table, key);
    if (node == nullptr) return;
    auto value = node->value<std::string>();
    if (!value) return problem(table, key, "must be a string");
    out = *value;
  }
  void flag(std::string_view table, std::string_view key, bool& out) {
    const toml::node* node = find(table, key);
    if (node == nullptr) return;
    auto value = node->value_exact<bool>();
    if (!value) return problem(table, key, "must be true or false");
    out = *value;
  }
  void texts(std::string_view table, std::string_view key, std::vector<std::string>& out) {
    const toml::node* node = find(table, key);
    if (node == nullptr) return;
    const toml::array* array = node->as_array();
    std::vector<std::string> values;
    if (array != nullptr) {
      for (const auto& element : *array) {
        auto value = element.value<std::string>();
        if (!value) break;
        values.push_back(*value);
      }
    }
    if (array == nullptr || values.size() != array->size() || values.empty()) {
      return problem(table, key, "must be a non-empty array of strings");
    }
    out = values;
  }
  // Every key present must have been read.
  void unknown_keys() {
    for (const auto& [key, node] : root_) {
      if (const toml::table* table = node.as_table()) {
        for (const auto& [inner, ignored] : *table) {
          (void)ignored;
          if (!seen_.count(std::string(key.str()) + "." + std::string(inner.str()))) {
            problem(key.str(), inner.str(), "is not a known key");
          }
        }
      } else if (!seen_.count("." + std::string(key.str()))) {
        problem("", key.str(), "is not a known key");
      }
    }
  }
  const std::string& problems() const { return problems_; }

 private:
  const toml::node* find(std::string_view table, std::string_view key) {
    seen_.insert(std::string(table) + "." + std::string(key));
    if (table.empty()) return root_.get(key);
    const toml::table* inner = root_[table].as_table();
    return inner == nullptr ? nullptr : inner->get(key);
  }
  void problem(std::string_view table, std::string_view key, const std::string& what) {
    problems_ += file_ + ": " + (table.empty() ? "" : std::string(table) + ".") + std::string(key) + " " + what + "\n";
  }
  const toml::table& root_;
  std::string file_;
  std::set<std::string> seen_;
  std::string problems_;
};

}  // namespace

std::size_t heap_reserve_mib_for(std::size_t write_buffer_bytes, std::size_t block_cache_bytes) {
  const std::size_t bytes = 3 * ledger::RocksLedger::family_count * write_buffer_bytes + block_cache_bytes;
  return std::min(heap_reserve_mib_max, (bytes + (std::size_t{1} << 20) - 1) >> 20);
}

void finish_defaults(EngineConfig& config) {
  if (!config.heap_reserve_mib) {
    config.heap_reserve_mib = heap_reserve_mib_for(config.ledger_write_buffer_bytes, config.ledger_block_cache_bytes);
  }
  if (config.ledger_dir.empty()) config.ledger_dir = config.data_dir + "/ledger";
  if (config.pki_dir.empty()) config.pki_dir = config.data_dir + "/pki";
  if (config.settlement_dir.empty()) config.settlement_dir = config.data_dir + "/settlement";
  if (config.settlement_key_dir.empty()) config.settlement_key_dir = config.data_dir + "/settlement-keys";
  if (config.admin_socket.empty()) config.admin_socket = config.data_dir + "/engine.sock";
  if (config.ports_file.empty()) config.ports_file = config.data_dir + "/engine.ports";
  if (!config.card_token_dir && config.card_pkcs11_module.empty()) config.card_token_dir = config.data_dir + "/token";
  if (config.records_token_key_file.empty()) config.records_token_key_file = config.data_dir + "/records-token.key";
}

Result<EngineConfig> parse_config(std::string_view toml_text, const std::string& file_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, file_name);
  } catch (const toml::parse_error& error) {
    std::ostringstream message;
    message << file_name << ":" << error.source().begin.line << ": " << error.description();
    return Status::invalid_argument(message.str());
  }
  EngineConfig config;
  Reader r(root, file_name);
  constexpr std::int64_t u16 = 65535;
  constexpr std::int64_t big = std::numeric_limits<std::int32_t>::max();
  r.text("", "data_dir", config.data_dir);
  r.text("", "rules_file", config.rules_file);
  r.text("ledger", "dir", config.ledger_dir);
  r.number("ledger", "write_buffer_bytes", config.ledger_write_buffer_bytes, 1 << 20, std::int64_t{1} << 34);
  r.number("ledger", "block_cache_bytes", config.ledger_block_cache_bytes, 1 << 20, std::int64_t{1} << 36);
  r.number("ledger", "free_bytes_min", config.ledger_free_bytes_min, 0, std::int64_t{1} << 40);
  r.number("ledger", "delete_bytes_per_s", config.ledger_delete_bytes_per_s, 0, std::int64_t{1} << 40);
  r.text("pki", "dir", config.pki_dir);
  r.text("settlement", "dir", config.settlement_dir);
  r.text("settlement", "key_dir", config.settlement_key_dir);
  r.texts("pki", "engine_hosts", config.engine_hosts);
  std::int64_t crl_days = config.crl_lifetime.count() / 24;
  r.number("pki", "crl_days", crl_days, 1, 3650);
  config.crl_lifetime = std::chrono::hours(24 * crl_days);
  r.millis("pki", "crl_check_interval_ms", config.crl_check_interval, 86'400'000);
  r.text("listen", "address", config.listen_address);
  r.number("listen", "tap_port", config.tap_port, 0, u16);
  r.number("listen", "metrics_port", config.metrics_port, 0, u16);
  r.flag("listen", "metrics_enabled", config.metrics_enabled);
  r.text("listen", "admin_socket", config.admin_socket);
  r.text("listen", "ports_file", config.ports_file);
  r.flag("card", "require_proof", config.require_card_proof);
  r.flag("card", "warm_keys", config.warm_card_keys);
  std::string token_dir = "\x01";   // not in the file
  r.text("card", "token_dir", token_dir);
  if (token_dir != "\x01") config.card_token_dir = token_dir;
  r.text("card", "pkcs11_module", config.card_pkcs11_module);
  r.text("card", "token_label", config.card_token_label);
  r.text("card", "pin_file", config.card_pin_file);
  r.text("card", "pin_env", config.card_pin_env);
  r.text("card", "softhsm2_conf", config.card_softhsm2_conf);
  EngineOptions& p = config.pipeline;
  r.number("pipeline", "shards", p.shards, 1, 256);
  r.number("pipeline", "batch_taps", p.batch_taps, 1, static_cast<std::int64_t>(limits::batch_groups_max));
  std::int64_t wait_us = p.batch_wait.count();
  r.number("pipeline", "batch_wait_us", wait_us, 0, 1'000'000);
  p.batch_wait = std::chrono::microseconds(wait_us);
  r.number("pipeline", "overlap_taps_min", p.overlap_taps_min, 1, static_cast<std::int64_t>(limits::batch_groups_max));
  r.number("pipeline", "queue_depth", p.queue_depth, static_cast<std::int64_t>(limits::batch_taps_max), 1 << 24);
  r.number("pipeline", "card_cache_max", p.card_cache_max, 1, big);
  r.number("pipeline", "busy_retry_after_ms", p.busy_retry_after_ms, 1, 60'000);
  r.number("pipeline", "realtime_priority", p.realtime_priority, 0, realtime_priority_max);
  r.flag("pipeline", "huge_page_heap", config.huge_page_heap);
  if (root.at_path("pipeline.heap_reserve_mib")) {
    std::size_t reserve_mib = 0;
    r.number("pipeline", "heap_reserve_mib", reserve_mib, 0, static_cast<std::int64_t>(heap_reserve_mib_max));
    config.heap_reserve_mib = reserve_mib;
  }
  std::int64_t skew_s = p.event_time_bounds.future_skew_us / us_per_second;
  r.number("taps", "future_skew_s", skew_s, 0, 86'400);
  p.event_time_bounds.future_skew_us = skew_s * us_per_second;
  std::int64_t retention_h = p.event_time_bounds.offline_retention_us / us_per_hour;
  r.number("taps", "offline_retention_hours", retention_h, 1, 366 * 24);
  p.event_time_bounds.offline_retention_us = retention_h * us_per_hour;
  r.millis("server", "handshake_timeout_ms", config.handshake_timeout, 600'000);
  r.millis("server", "idle_timeout_ms", config.idle_timeout, 3'600'000);
  r.millis("server", "frame_timeout_ms", config.frame_timeout, 600'000);
  r.millis("server", "write_timeout_ms", config.write_timeout, 600'000);
  r.millis("server", "heartbeat_interval_ms", config.heartbeat_interval, 3'600'000);
  r.number("server", "inflight_batches_max", config.inflight_batches_max, 1, 1024);
  r.number("server", "connections_max", config.connections_max, 1, 1'000'000);
  r.number("server", "pending_connections_max", config.pending_connections_max, 1, 1'000'000);
  r.number("server", "pending_per_address_max", config.pending_per_address_max, 1, 1'000'000);
  r.number("server", "fd_reserve", config.fd_reserve, 0, 1'000'000);
  r.millis("shutdown", "drain_timeout_ms", config.drain_timeout, 600'000);
  r.millis("storage", "recovery_interval_ms", p.storage.recovery_interval, 3'600'000);
  r.millis("storage", "recovery_interval_max_ms", p.storage.recovery_interval_max, 3'600'000);
  r.millis("admin", "idle_timeout_ms", config.admin_idle_timeout, 3'600'000);
  r.number("admin", "four_eyes_minor", p.four_eyes_minor, 0, limits::transfer_amount_minor_max);
  TapRetentionPolicy& retention = config.records_retention;
  r.number("records", "keep_days", retention.keep_days, 1, tap_retention_days_max);
  r.number("records", "anonymise_after_days", retention.anonymise_after_days, 1, tap_retention_days_max);
  r.text("records", "token_key_file", config.records_token_key_file);
  r.unknown_keys();
  if (p.storage.recovery_interval_max < p.storage.recovery_interval) {
    return Status::invalid_argument(file_name + ": storage.recovery_interval_max_ms must be at least storage.recovery_interval_ms");
  }
  if (config.heartbeat_interval >= config.idle_timeout) {
    return Status::invalid_argument(file_name + ": server.heartbeat_interval_ms must be less than server.idle_timeout_ms");
  }
  if (!r.problems().empty()) return Status::invalid_argument(r.problems());
  if (Status policy = check_tap_retention_policy(retention); !policy) {
    return Status::invalid_argument(file_name + ": " + policy.message());
  }
  finish_defaults(config);
  return config;
}

Result<EngineConfig> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace citycard::engine
