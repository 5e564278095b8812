// The settlement batch file reader (settlement/batch_file.h): `settle verify`
// and the close read back every batch file, which may have been edited,
// cut short or damaged on its way to and from the clearing house.
//
// input := the file's text     given to read_batch_file.
// Checks, when the file reads: the trailer equals the sum of the lines
// (the money rule the reader promises), the lines counted are the lines
// seen, counted from 1, a late line count never exceeds the lines, and the
// programme records (version 2) sum to city_subsidy + points_subsidy.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "citycard/check.h"
#include "settlement/batch_file.h"

using namespace citycard::settlement;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::uint64_t lines_seen = 0;
  auto contents = read_batch_file(in, "fuzz.csv", [&](std::uint64_t number, std::string_view) {
    CITYCARD_CHECK(number == ++lines_seen);
  });
  if (!contents) {
    CITYCARD_CHECK(contents.status().code() == citycard::StatusCode::corruption);
    return 0;
  }
  const BatchTotals& totals = contents->totals;
  CITYCARD_CHECK(totals.lines == lines_seen);
  CITYCARD_CHECK(totals.late_lines <= totals.lines);
  const __int128 parts = __int128{totals.rider_fare_minor} + totals.city_subsidy_minor + totals.points_subsidy_minor +
                        totals.other_minor;
  CITYCARD_CHECK(totals.total_minor == parts);
  // Version 2's programme records: they sum to the city's two columns.
  __int128 programmes = 0;
  for (std::int64_t amount : totals.programme_minor) programmes += amount;
  if (contents->format_version >= 2)
    CITYCARD_CHECK(programmes == __int128{totals.city_subsidy_minor} + totals.points_subsidy_minor);
  else
    CITYCARD_CHECK(programmes == 0);
  return 0;
}
