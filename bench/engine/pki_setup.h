// Certificates for the simulated readers: the CA, the engine certificate for
// the loopback, and one reader certificate per reader of the CityMap, issued
// with engine/pki where missing (a rerun issues nothing new).
#pragma once

#include <string>

#include "citycard/status.h"
#include "loadgen/city_map.h"

namespace citycard::bench {

// Returns how many reader certificates were issued now.
Result<std::size_t> ensure_loadgen_pki(const std::string& dir, const loadgen::CityMap& map);

}  // namespace citycard::bench
