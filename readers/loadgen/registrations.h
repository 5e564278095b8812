// The simulated city's readers as the card office registers them
// (docs/readers.md): each site's kind, modes, fixed place and amount bounds,
// written as the CSV `citycard reader import` reads.
#pragma once

#include <ostream>

#include "citycard/reader.h"
#include "citycard/status.h"
#include "city_map.h"

namespace citycard::loadgen {

// What a site is registered as. Offline allowances per business day: a bus
// (it loses coverage) 5,000 TWD, everything else 2,000.
ReaderRecord registration_of(const ReaderSite& site);

// reader,operator,kind,modes,route,location,amount_max,offline_max (modes split by ';')
Status write_reader_registrations(const CityMap& map, std::ostream& out);

}  // namespace citycard::loadgen
