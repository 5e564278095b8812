// The clearing house's acknowledgement parser (settlement/ack.h): files that
// arrive from outside and decide whether a day's money moves to settled.
//
// input := the acknowledgement's text     given to parse_ack.
// Checks, when it parses: accepted if and only if it carries no items; it
// formats (format_ack) into a text that parses to the same acknowledgement,
// and formats again to the same text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "citycard/check.h"
#include "settlement/ack.h"

namespace {

using namespace citycard::settlement;

bool same(const Ack& a, const Ack& b) {
  if (a.operator_id != b.operator_id || a.day != b.day || a.sequence != b.sequence || a.file_sha256 != b.file_sha256 ||
      a.accepted != b.accepted || a.acknowledged_at != b.acknowledged_at || a.items.size() != b.items.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.items.size(); ++i) {
    const AckItem& x = a.items[i];
    const AckItem& y = b.items[i];
    if (x.whole_batch != y.whole_batch || x.line_number != y.line_number || x.tap_id != y.tap_id ||
        x.reason_code != y.reason_code || x.reason_text != y.reason_text) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto ack = parse_ack(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!ack) {
    CITYCARD_CHECK(!ack.status().message().empty());
    return 0;
  }
  CITYCARD_CHECK(ack->accepted == ack->items.empty());
  const DayConfig config;
  const std::string text = format_ack(*ack, config);
  auto again = parse_ack(text);
  CITYCARD_CHECK(again.has_value());
  CITYCARD_CHECK(same(*ack, *again));
  CITYCARD_CHECK(format_ack(*again, config) == text);
  return 0;
}
