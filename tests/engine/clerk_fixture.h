// Test helper: clerks' certificates in a data directory's PKI (DATA/pki, where
// citycard-engine keeps it and where the CLI looks beside DATA/ledger).
#pragma once

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "citycard/clerk.h"
#include "engine/pki/clerk_credentials.h"
#include "engine/pki/pki.h"

namespace citycard::engine::testing {

// The --clerk prefix of clerk `name` with `role`, issued (and the CA made)
// the first time it is asked for.
inline std::string test_clerk(const std::filesystem::path& data, const std::string& name = "supervisor",
                              ClerkRole role = ClerkRole::supervisor) {
  const std::filesystem::path dir = data / "pki";
  if (!std::filesystem::exists(pki::Paths{dir}.ca_certificate())) REQUIRE(pki::init(dir).is_ok());
  if (!std::filesystem::exists(pki::clerk_certificate_path(dir, name))) REQUIRE(pki::issue_clerk(dir, Clerk{name, role}).is_ok());
  return (dir / "clerks" / name).string();
}

}  // namespace citycard::engine::testing
