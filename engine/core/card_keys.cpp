#include "card_keys.h"

#include <filesystem>
#include <string>

#include "token/softhsm.h"
#include "token/token.h"

namespace citycard::engine {

Result<std::shared_ptr<card::CardKeySource>> open_card_keys(const EngineConfig& config, Log& log,
                                                            std::uint8_t* newest_version) {
  token::TokenOptions options;
  if (!config.card_pkcs11_module.empty()) {
    options.module_path = config.card_pkcs11_module;
    options.token_label = config.card_token_label;
    options.pin_file = config.card_pin_file;
    options.pin_env = config.card_pin_env;
    options.softhsm2_conf = config.card_softhsm2_conf;
  } else if (config.card_token_dir && !config.card_token_dir->empty()) {
    const std::string& dir = *config.card_token_dir;
    options = token::softhsm_options(dir, config.card_token_label);
    if (!std::filesystem::exists(options.softhsm2_conf)) {
      if (Status made = token::create_softhsm_token(dir, config.card_token_label); !made) {
        return Status::unavailable("card key token in " + dir + ": " + made.message());
      }
      auto created = token::Token::open(options);
      if (!created) return Status::unavailable("card key token in " + dir + ": " + created.status().message());
      if (Status generated = (*created)->generate_master_key(1); !generated) {
        return Status::unavailable("card key token in " + dir + ": " + generated.message());
      }
      log.event("card_token_created", {{"dir", dir}, {"master_key", token::master_key_label(1)}});
    }
  } else {
    return std::shared_ptr<card::CardKeySource>();
  }
  auto opened = token::Token::open(options);
  if (!opened) {
    const std::string what = "card key token '" + options.token_label + "': " + opened.status().message();
    if (opened.status().code() == StatusCode::invalid_argument) return Status::invalid_argument(what);
    if (opened.status().code() == StatusCode::not_found) return Status::not_found(what);
    return Status::unavailable(what);
  }
  auto keys = (*opened)->list_master_keys();
  if (!keys) return Status::unavailable("card key token '" + options.token_label + "': " + keys.status().message());
  if (keys->empty()) {
    return Status::invalid_argument("card key token '" + options.token_label +
                                    "' holds no citycard master key (citycard keys generate --version 1)");
  }
  std::string versions;
  for (const auto& key : *keys) {
    versions += (versions.empty() ? "" : ",") + std::to_string(key.version);
    if (newest_version != nullptr && key.version > *newest_version) *newest_version = key.version;
  }
  log.event("card_token_opened", {{"token", options.token_label}, {"module", options.module_path}, {"key_versions", versions}});
  return std::shared_ptr<card::CardKeySource>(std::make_shared<token::TokenKeySource>(std::move(*opened)));
}

}  // namespace citycard::engine
