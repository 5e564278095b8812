// The engine's card key source from [card]: a PKCS#11 token of the
// operator's own (pkcs11_module, token_label, pin_file / pin_env), or the
// embedded default's SoftHSM2 token in token_dir, made on first start with a
// master key v1 generated inside it (as the PKI is made on first start).
#pragma once

#include <memory>

#include "card/crypto.h"
#include "citycard/status.h"
#include "config.h"
#include "log.h"

namespace citycard::engine {

// null when neither is configured. Errors name the token, the PIN source or
// the step that failed; a token without any citycard master key is an error.
// newest_version: set to the token's highest master key version (what new
// cards are made with, and what KeyWarmer derives ahead).
Result<std::shared_ptr<card::CardKeySource>> open_card_keys(const EngineConfig& config, Log& log,
                                                            std::uint8_t* newest_version = nullptr);

}  // namespace citycard::engine
