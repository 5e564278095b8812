// A SoftHSM2 token in a directory of its own, as the engine's embedded
// default makes one on first start (and the tests, one per test):
//
//   DIR/softhsm2.conf   directories.tokendir = DIR/tokens, file backend
//   DIR/tokens/         the token's objects (the master keys, encrypted
//                       under the PIN by SoftHSM2)
//   DIR/user.pin        the user PIN, mode 0600 (random, 32 hex digits)
//   DIR/so.pin          the security officer PIN, mode 0600
//
// The token is initialised through PKCS#11 (C_InitToken, C_InitPIN): no
// softhsm2-util needed.
#pragma once

#include <string>

#include "citycard/status.h"
#include "token.h"

namespace citycard::token {

// The options that open the token made in dir (module: SoftHSM2's).
TokenOptions softhsm_options(const std::string& dir, const std::string& token_label = "citycard");

// Creates dir and a fresh token labelled token_label in it. already_exists
// if dir/softhsm2.conf exists; io_error / unavailable naming the step that failed.
Status create_softhsm_token(const std::string& dir, const std::string& token_label = "citycard");

}  // namespace citycard::token
