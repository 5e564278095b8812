// Where a close or a resend writes its batch files until the ledger holds
// their record. A ledger write that reports a failure may still land (its
// bytes reached the WAL before the sync failed, and the next start replays
// them), so files written in place before it would be overwritten by the
// next attempt's while the first attempt's record, naming other digests, is
// what the ledger keeps. Staged files go in place only after the record is
// durable; a close that finds its day closed puts back any file missing
// (written again from the record: files depend only on the ledger).
#pragma once

#include <string>
#include <vector>

#include "citycard/status.h"

namespace citycard::settlement {

// OUT_DIR/.staging: on the same filesystem, so putting a file in place is a rename.
std::string staging_dir(const std::string& out_dir);

// The staging directory of one close or resend: open() empties it (an
// earlier attempt's files) and creates it; whatever is left in it when this
// goes (a failed write, files never put in place) is removed with it, so
// the out dir holds only files that are in place.
class Staging {
 public:
  explicit Staging(std::string out_dir) : out_dir_(std::move(out_dir)) {}
  ~Staging();
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  Status open();
  std::string dir() const { return staging_dir(out_dir_); }

 private:
  std::string out_dir_;
};
// Moves each batch file of `names` with its .sha256 and .sig from staging
// into OUT_DIR (the batch file last, so it never appears without its digest
// and signature), then syncs OUT_DIR.
Status place_staged(const std::string& out_dir, const std::vector<std::string>& names);

}  // namespace citycard::settlement
