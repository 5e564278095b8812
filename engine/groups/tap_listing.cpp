#include "tap_listing.h"

#include <fmt/format.h>

#include "citycard/limits.h"
#include "rule_set_loader.h"
#include "tap_records.h"

namespace citycard::engine {
namespace {

std::string hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) out += fmt::format("{:02x}", byte);
  return out;
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    unsigned value = 0;
    for (std::size_t j = 0; j < 2; ++j) {
      const char c = text[i + j];
      const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (digit < 0) return std::nullopt;
      value = value * 16 + static_cast<unsigned>(digit);
    }
    out.push_back(static_cast<char>(value));
  }
  return out;
}

nlohmann::json entry_json(const RecordedTap& record) {
  const Tap& tap = record.tap;
  const IdempotencyKey key{record.origin, tap.id.reader.value, tap.id.sequence};
  nlohmann::json entry = {
      {"tap", key.to_string()},
      {"card", tap.card.to_string()},
      {"account", record.account.value},
      {"category", record.category == 0 ? std::string("unknown")
                                        : std::string(rider_category_name(static_cast<RiderCategory>(record.category)))},
      {"media", std::string(media_name(tap.media))},
      {"mode", std::string(mode_name(tap.mode))},
      {"operator", tap.operator_id.value},
      {"route", tap.route},
      {"location", tap.location},
      {"event_time_us", tap.event_time.unix_us},
      {"arrival_us", record.arrival.unix_us},
      {"outcome", record.outcome == protocol::Outcome::approved ? "approved" : "refused"},
      {"reason", std::string(refusal_reason_name(record.reason))},
      {"amount_minor", tap.amount_minor},
      {"fare_minor", record.fare_minor},
      {"subsidy_minor", record.subsidy_minor},
      {"points_redeemed", record.points_redeemed},
      {"rule_set_version", record.rule_set_version},
      {"offline", tap.offline},
      {"anonymised", record.anonymised}};
  if (record.anonymised) {
    // The card is gone from the record; the token counts the rider, no more.
    entry.erase("card");
    entry["token"] = tap.card.to_string();
  }
  return entry;
}

}  // namespace

Result<nlohmann::json> tap_listing_json(const ledger::Snapshot& snapshot, const TapListing& listing) {
  std::string after;
  if (!listing.after.empty()) {
    auto decoded = unhex(listing.after);
    if (!decoded || decoded->size() != tap_record_key_bytes ||
        decoded->compare(0, 4, tap_records_day_begin(listing.business_day)) != 0) {
      return Status::invalid_argument("cursor " + listing.after + " is not one this day's listing gave");
    }
    after = std::move(*decoded);
  }
  nlohmann::json entries = nlohmann::json::array();
  std::string last_key;
  bool more = false;
  Status failed = Status::ok();
  Status scanned = snapshot.scan_records(
      ledger::RecordSpace::tap_records, tap_records_day_begin(listing.business_day),
      [&](std::string_view key, std::string_view value) {
        if (!after.empty() && key <= after) return true;
        auto record = decode_recorded_tap(key, value);
        if (!record) {
          failed = Status::corruption(fmt::format("{} (key {})", record.status().message(), hex(key)));
          return false;
        }
        // An anonymised record holds a token, which no card id names.
        if (listing.card && (record->anonymised || record->tap.card != *listing.card)) return true;
        if (listing.reader && record->tap.id.reader != *listing.reader) return true;
        if (entries.size() == listing.limit) {
          more = true;
          return false;
        }
        entries.push_back(entry_json(*record));
        last_key = std::string(key);
        return true;
      });
  if (!scanned) return scanned;
  if (!failed) return failed;
  return nlohmann::json{{"day", listing.business_day},
                        {"entries", std::move(entries)},
                        {"next_cursor", more ? hex(last_key) : std::string()}};
}

Result<TapListing> tap_listing_request(const nlohmann::json& request) {
  TapListing listing;
  if (!request.contains("day") || !request["day"].is_string()) {
    return Status::invalid_argument("a taps request names its business day: \"day\": \"YYYY-MM-DD\"");
  }
  const std::string day_text = request["day"].get<std::string>();
  auto day = rules::parse_date_days(day_text);
  if (!day) return Status::invalid_argument("day " + day_text + " is not a date YYYY-MM-DD");
  listing.business_day = *day;
  if (request.contains("card")) {
    const auto& card = request["card"];
    auto parsed = card.is_string() ? CardId::parse(card.get<std::string>()) : std::nullopt;
    if (!parsed) return Status::invalid_argument("card must be 2..32 hex digits");
    listing.card = *parsed;
  }
  if (request.contains("reader")) {
    const auto& reader = request["reader"];
    if (!reader.is_number_integer() || reader.get<std::int64_t>() < 1 ||
        reader.get<std::int64_t>() > std::numeric_limits<std::uint32_t>::max()) {
      return Status::invalid_argument("reader must be a reader id 1..4294967295");
    }
    listing.reader = ReaderId{static_cast<std::uint32_t>(reader.get<std::int64_t>())};
  }
  if (request.contains("limit")) {
    const auto& limit = request["limit"];
    if (!limit.is_number_integer() || limit.get<std::int64_t>() < 1 ||
        limit.get<std::int64_t>() > static_cast<std::int64_t>(limits::history_page_max)) {
      return Status::invalid_argument("limit must be 1.." + std::to_string(limits::history_page_max));
    }
    listing.limit = static_cast<std::size_t>(limit.get<std::int64_t>());
  }
  if (request.contains("after")) {
    if (!request["after"].is_string()) return Status::invalid_argument("after must be the cursor a page gave");
    listing.after = request["after"].get<std::string>();
  }
  return listing;
}

}  // namespace citycard::engine
