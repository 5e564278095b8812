#include "pki_setup.h"

#include <filesystem>

#include "engine/pki/pki.h"

namespace citycard::bench {

Result<std::size_t> ensure_loadgen_pki(const std::string& dir, const loadgen::CityMap& map) {
  pki::Paths paths{dir};
  std::error_code error;
  if (!std::filesystem::exists(paths.ca_key(), error)) {
    if (Status status = pki::init(dir); !status.is_ok()) return status;
  }
  if (!std::filesystem::exists(paths.engine_certificate(), error)) {
    if (Status status = pki::issue_engine(dir, {"localhost", "127.0.0.1"}); !status.is_ok()) return status;
  }
  std::size_t issued = 0;
  for (const loadgen::ReaderSite& site : map.readers) {
    if (std::filesystem::exists(paths.reader_certificate(site.reader), error)) continue;
    if (Status status = pki::issue_reader(dir, site.reader); !status.is_ok()) return status;
    ++issued;
  }
  return issued;
}

}  // namespace citycard::bench
