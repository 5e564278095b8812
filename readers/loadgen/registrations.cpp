#include "registrations.h"

#include <string>

namespace citycard::loadgen {
namespace {

ModeSet modes(std::initializer_list<Mode> list) {
  ModeSet set = 0;
  for (Mode mode : list) set = static_cast<ModeSet>(set | mode_bit(mode));
  return set;
}

}  // namespace

ReaderRecord registration_of(const ReaderSite& site) {
  ReaderRecord reader;
  reader.id = site.reader;
  reader.operator_id = site.operator_id;
  reader.location = site.location;
  reader.offline_max_minor = 2000;
  switch (site.kind) {
    case SiteKind::bus:
      reader.kind = ReaderKind::bus_validator;
      reader.modes = modes({Mode::bus_board, Mode::bus_alight});
      reader.route = site.route;
      reader.location = 0;  // it moves from stop to stop
      reader.offline_max_minor = 5000;
      break;
    case SiteKind::metro_gate:
      reader.kind = ReaderKind::metro_gate;
      reader.modes = modes({Mode::metro_in, Mode::metro_out});
      break;
    case SiteKind::metro_top_up:
    case SiteKind::shop_top_up:
      reader.kind = ReaderKind::top_up_machine;
      reader.modes = modes({Mode::top_up});
      reader.amount_max_minor = 10'000;
      break;
    case SiteKind::bike_station:
      reader.kind = ReaderKind::bike_dock;
      reader.modes = modes({Mode::bike_rent, Mode::bike_return});
      break;
    case SiteKind::taxi:
    case SiteKind::pool:
    case SiteKind::sports_centre:
      reader.kind = ReaderKind::venue_gate;
      reader.modes = modes({Mode::entry});
      break;
    case SiteKind::library:
    case SiteKind::door:
    case SiteKind::meeting:
      reader.kind = ReaderKind::identity_terminal;
      reader.modes = modes({Mode::identify});
      reader.offline_max_minor = 0;
      break;
    case SiteKind::car_park:
      reader.kind = ReaderKind::parking_terminal;
      reader.modes = modes({Mode::pay});
      reader.amount_max_minor = 3000;
      break;
    case SiteKind::government:
      reader.kind = ReaderKind::office_desk;
      reader.modes = modes({Mode::pay});
      reader.amount_max_minor = 20'000;
      break;
    case SiteKind::shop:
      reader.kind = ReaderKind::shop_terminal;
      reader.modes = modes({Mode::pay});
      reader.amount_max_minor = 3000;
      break;
  }
  return reader;
}

Status write_reader_registrations(const CityMap& map, std::ostream& out) {
  out << "reader,operator,kind,modes,route,location,amount_max,offline_max\n";
  for (const ReaderSite& site : map.readers) {
    const ReaderRecord reader = registration_of(site);
    std::string mode_list;
    for (int i = 1; i <= mode_count; ++i) {
      if (reader.modes & mode_bit(static_cast<Mode>(i))) {
        mode_list += (mode_list.empty() ? "" : ";") + std::string(mode_name(static_cast<Mode>(i)));
      }
    }
    out << reader.id.value << ',' << reader.operator_id.value << ',' << reader_kind_name(reader.kind) << ',' << mode_list
        << ',' << reader.route << ',' << reader.location << ',' << reader.amount_max_minor << ','
        << reader.offline_max_minor << '\n';
  }
  if (!out) return Status::io_error("cannot write the reader registrations");
  return Status::ok();
}

}  // namespace citycard::loadgen
