#include "config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <fstream>
#include <limits>
#include <sstream>

#include "citycard/limits.h"

namespace citycard::agent {
namespace {

template <typename T>
Status read_integer(const toml::table& table, const char* section, const char* key, T& out, std::int64_t min,
                    std::int64_t max) {
  auto node = table[section][key];
  if (!node) return Status::ok();
  auto value = node.value<std::int64_t>();
  if (!value) return Status::invalid_argument(fmt::format("[{}] {} must be an integer", section, key));
  if (*value < min || *value > max) {
    return Status::invalid_argument(fmt::format("[{}] {} = {} is outside {}..{}", section, key, *value, min, max));
  }
  out = static_cast<T>(*value);
  return Status::ok();
}

Status read_string(const toml::table& table, const char* section, const char* key, std::string& out) {
  auto node = table[section][key];
  if (!node) return Status::ok();
  auto value = node.value<std::string>();
  if (!value) return Status::invalid_argument(fmt::format("[{}] {} must be a string", section, key));
  out = *value;
  return Status::ok();
}

}  // namespace

Status AgentConfig::validate() const {
  if (reader.value == 0) return Status::invalid_argument("[reader] id is required (1..4294967295)");
  if (operator_id.value == 0) return Status::invalid_argument("[reader] operator is required");
  if (state_dir.empty()) return Status::invalid_argument("[reader] state_dir is required");
  if (token.pin_file.empty() && token.pin_env.empty()) {
    return Status::invalid_argument("[token] pin_file or pin_env is required (the card master keys are in a PKCS#11 token)");
  }
  if ((mode == Mode::pay || mode == Mode::top_up) && amount_minor <= 0) {
    return Status::invalid_argument("[reader] amount_minor must be > 0 for mode pay and top_up");
  }
  if (upload_batch_taps == 0 || upload_batch_taps > limits::batch_taps_max) {
    return Status::invalid_argument(fmt::format("[queue] upload_batch_taps must be 1..{}", limits::batch_taps_max));
  }
  if (backoff_initial.count() <= 0 || backoff_max < backoff_initial) {
    return Status::invalid_argument("[queue] need 0 < backoff_initial_ms <= backoff_max_ms");
  }
  return Status::ok();
}

Result<AgentConfig> parse_config(const std::string& toml_text, const std::string& source_name) {
  toml::table table;
  try {
    table = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    return Status::invalid_argument(fmt::format("{}: {}", source_name, error.description()));
  }
  AgentConfig config;
  constexpr std::int64_t u32_max = std::numeric_limits<std::uint32_t>::max();
  std::string mode_name = "identify";
  std::int64_t timeout_ms = config.engine_timeout.count();
  std::int64_t deny_list_refresh_ms = config.deny_list_refresh.count();
  std::int64_t upload_timeout_ms = config.upload_timeout.count();
  std::int64_t backoff_initial_ms = config.backoff_initial.count();
  std::int64_t backoff_max_ms = config.backoff_max.count();
  for (Status status : {
           read_integer(table, "reader", "id", config.reader.value, 1, u32_max),
           read_integer(table, "reader", "operator", config.operator_id.value, 1, u32_max),
           read_string(table, "reader", "mode", mode_name),
           read_integer(table, "reader", "route", config.route, 0, u32_max),
           read_integer(table, "reader", "location", config.location, 0, u32_max),
           read_integer(table, "reader", "amount_minor", config.amount_minor, 0, limits::transfer_amount_minor_max),
           read_string(table, "reader", "pcsc_reader", config.pcsc_reader),
           read_string(table, "reader", "state_dir", config.state_dir),
           read_string(table, "token", "pkcs11_module", config.token.module_path),
           read_string(table, "token", "token_label", config.token.token_label),
           read_string(table, "token", "pin_file", config.token.pin_file),
           read_string(table, "token", "pin_env", config.token.pin_env),
           read_string(table, "token", "softhsm2_conf", config.token.softhsm2_conf),
           read_string(table, "engine", "address", config.engine_address),
           read_string(table, "engine", "ca_file", config.ca_file),
           read_string(table, "engine", "cert_file", config.cert_file),
           read_string(table, "engine", "key_file", config.key_file),
           read_integer(table, "engine", "timeout_ms", timeout_ms, 1, 60000),
           read_integer(table, "engine", "deny_list_refresh_ms", deny_list_refresh_ms, 100, 86'400'000),
           read_integer(table, "engine", "upload_timeout_ms", upload_timeout_ms, 1, 600'000),
           read_integer(table, "queue", "taps_max", config.queue_taps_max, 1, 10'000'000),
           read_integer(table, "queue", "upload_batch_taps", config.upload_batch_taps, 1, 1'000'000),
           read_integer(table, "queue", "backoff_initial_ms", backoff_initial_ms, 1, 3'600'000),
           read_integer(table, "queue", "backoff_max_ms", backoff_max_ms, 1, 3'600'000),
           read_integer(table, "queue", "sequence_block", config.sequence_block, 1, 1'000'000),
           read_integer(table, "queue", "sequence_first", config.sequence_first, 0, INT64_MAX),
           read_integer(table, "queue", "disk_reserve_bytes", config.disk_reserve_bytes, 0, std::int64_t{1} << 34),
       }) {
    if (!status) return Status::invalid_argument(fmt::format("{}: {}", source_name, status.message()));
  }
  auto mode = parse_mode(mode_name);
  if (!mode) return Status::invalid_argument(fmt::format("{}: [reader] mode '{}' is not a known mode", source_name, mode_name));
  config.mode = *mode;
  config.engine_timeout = std::chrono::milliseconds(timeout_ms);
  config.deny_list_refresh = std::chrono::milliseconds(deny_list_refresh_ms);
  config.upload_timeout = std::chrono::milliseconds(upload_timeout_ms);
  config.backoff_initial = std::chrono::milliseconds(backoff_initial_ms);
  config.backoff_max = std::chrono::milliseconds(backoff_max_ms);
  return config;
}

Result<AgentConfig> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::io_error(fmt::format("cannot read config file {}", path));
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace citycard::agent
