// The configuration keys of the engine's PKI, connection rationing and ledger deletions:
// defaults, values read, and out-of-range values refused by name.
#include <catch2/catch.hpp>

#include "engine/core/config.h"

namespace citycard::engine {

TEST_CASE("the PKI and admission keys have their documented defaults and are read and range-checked") {
  auto defaults = parse_config("", "engine.toml");
  REQUIRE(defaults);
  CHECK(defaults->crl_lifetime == std::chrono::hours(24 * 30));
  CHECK(defaults->crl_check_interval == std::chrono::milliseconds(3600000));
  CHECK(defaults->pending_connections_max == 1024);
  CHECK(defaults->pending_per_address_max == 64);
  CHECK(defaults->fd_reserve == 256);

  auto set = parse_config("[pki]\ncrl_days = 7\ncrl_check_interval_ms = 60000\n"
                          "[server]\npending_connections_max = 500\npending_per_address_max = 8\nfd_reserve = 100\n",
                          "engine.toml");
  INFO(set.status().to_string());
  REQUIRE(set);
  CHECK(set->crl_lifetime == std::chrono::hours(24 * 7));
  CHECK(set->crl_check_interval == std::chrono::milliseconds(60000));
  CHECK(set->pending_connections_max == 500);
  CHECK(set->pending_per_address_max == 8);
  CHECK(set->fd_reserve == 100);

  auto bad = parse_config("[pki]\ncrl_days = 0\n[server]\npending_per_address_max = 0\n", "engine.toml");
  REQUIRE_FALSE(bad);
  CHECK(bad.status().message().find("engine.toml: pki.crl_days must be an integer in 1..3650") != std::string::npos);
  CHECK(bad.status().message().find("server.pending_per_address_max must be an integer in 1..") != std::string::npos);
}

TEST_CASE("ledger.delete_bytes_per_s paces deletions by default, is read, and 0 deletes at once") {
  auto defaults = parse_config("", "engine.toml");
  REQUIRE(defaults);
  CHECK(defaults->ledger_delete_bytes_per_s == 32u << 20);
  auto off = parse_config("[ledger]\ndelete_bytes_per_s = 0\n", "engine.toml");
  REQUIRE(off);
  CHECK(off->ledger_delete_bytes_per_s == 0);
  auto bad = parse_config("[ledger]\ndelete_bytes_per_s = -1\n", "engine.toml");
  REQUIRE_FALSE(bad);
  CHECK(bad.status().message().find("ledger.delete_bytes_per_s") != std::string::npos);
}

}  // namespace citycard::engine
