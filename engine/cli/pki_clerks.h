// `citycard pki issue-clerk` and `citycard pki revoke-clerk`: clerks'
// certificates (engine/pki/clerk_credentials.h).
#pragma once

#include <CLI/CLI.hpp>

namespace citycard::cli {

void add_clerk_pki_commands(CLI::App& pki);

}  // namespace citycard::cli
