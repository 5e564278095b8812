// The admin op records_retain: the [records] retention (tap_retention.h) on
// the running engine's ledger. One call reads a bounded number of records
// on the admin loop's thread (card_import's way: the writes wait for the
// committer's batches, they do not stop the shards) and says where the next
// call carries on; `citycard records retain` calls until it is done.
#include <chrono>

#include "admin_api.h"
#include "rule_set_loader.h"
#include "rule_store.h"

namespace citycard::engine {

using nlohmann::json;

namespace {

// About a second of work on the admin loop: a tenth of a second of reading,
// the rest synced writes of 1024 changes each.
constexpr std::size_t records_per_admin_call = 100'000;

}  // namespace

json AdminApi::records_retain(const json& request, const Clerk* clerk) {
  if (!retention_.any()) {
    return error_reply(Status::invalid_argument(
        "this engine keeps tap records for ever: set [records] keep_days or anonymise_after_days in its config"));
  }
  TapRetentionRun run;
  run.records_per_call = records_per_admin_call;
  const EventTime now{
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count()};
  const std::int32_t today = business_day_now(*engine_.rules(), now);
  run.today = today;
  if (request.contains("as_of")) {
    // An earlier day keeps more; a later one would cut records short of the policy.
    auto day = request["as_of"].is_string() ? rules::parse_date_days(request["as_of"].get<std::string>()) : std::nullopt;
    if (!day) return error_reply(Status::invalid_argument("as_of must be a date YYYY-MM-DD"));
    if (*day > today) {
      return error_reply(Status::invalid_argument("as_of " + rules::format_date_days(*day) + " is after today's business day " +
                                                  rules::format_date_days(today)));
    }
    run.today = *day;
  }
  if (request.contains("from")) {
    auto from = request["from"].is_string() ? tap_retention_key_from_hex(request["from"].get<std::string>()) : std::nullopt;
    if (!from) return error_reply(Status::invalid_argument("from must be the next_key a call gave"));
    run.from = *from;
  }
  std::optional<TapTokenKey> key;
  if (retention_.anonymise_after_days > 0) {
    auto loaded = load_tap_token_key(token_key_file_);
    if (!loaded) return error_reply(loaded.status());
    key = *loaded;
  }
  const OfficeActor actor = office_actor(request, clerk);
  auto report = apply_tap_retention(ledger_, retention_, key ? &*key : nullptr, run, &actor);
  if (!report) return error_reply(report.status());
  json out = tap_retention_json(*report);
  out["ok"] = true;
  out["as_of"] = rules::format_date_days(run.today);
  return out;
}

}  // namespace citycard::engine
