#include "ledger_taps.h"

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ledger_clerk.h"
#include "ledger_engine_client.h"
#include "ledger_support.h"
#include "tap_listing.h"

namespace citycard::cli {
namespace {

struct TapsOptions {
  std::string day;
  std::string card;
  std::uint32_t reader = 0;
  std::size_t limit = 100;
  std::string after;
};

void run_taps(const CliContext& context, const TapsOptions& options) {
  require_clerk(context, ClerkAction::look_up);
  nlohmann::json request = {{"op", "taps"}, {"day", options.day}, {"limit", options.limit}};
  if (!options.card.empty()) request["card"] = options.card;
  if (options.reader != 0) request["reader"] = options.reader;
  if (!options.after.empty()) request["after"] = options.after;
  nlohmann::json page;
  if (auto reply = engine_request(context, request)) {
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("the engine refused")));
    reply->erase("ok");
    page = std::move(*reply);
  } else {
    auto listing = engine::tap_listing_request(request);
    if (!listing) fail(listing.status().message(), 2);
    auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
    auto found = engine::tap_listing_json(*ledger->snapshot(), *listing);
    if (!found) fail(found.status().message());
    page = std::move(*found);
  }
  auto& rows = page["entries"];
  for (auto& row : rows) {
    row["event_time"] = format_utc(EventTime{row.value("event_time_us", std::int64_t{0})});
    row["arrival"] = format_utc(EventTime{row.value("arrival_us", std::int64_t{0})});
  }
  if (context.json) {
    std::cout << page.dump() << "\n";
    return;
  }
  std::cout << fmt::format("{:<22}  {:<20}  {:<10}  {:<11}  {:>5}  {:>6}  {:>6}  {:<9}  {:<22}  {:>6}  {:>7}  {:>6}\n",
                           "tap", "event time (UTC)", "card", "mode", "op", "route", "place", "outcome", "reason",
                           "fare", "subsidy", "points");
  for (const auto& row : rows) {
    // An anonymised record shows its card's token (engine/groups/tap_token.h), marked.
    std::string card = row.contains("token") ? "t:" + row.value("token", std::string()) : row.value("card", std::string());
    if (card.size() > 10) card = card.substr(0, 9) + "~";
    std::cout << fmt::format("{:<22}  {:<20}  {:<10}  {:<11}  {:>5}  {:>6}  {:>6}  {:<9}  {:<22}  {:>6}  {:>7}  {:>6}\n",
                             row.value("tap", std::string()), row.value("event_time", std::string()), card,
                             row.value("mode", std::string()), row.value("operator", 0u), row.value("route", 0u),
                             row.value("location", 0u), row.value("outcome", std::string()),
                             row.value("reason", std::string()), row.value("fare_minor", std::int64_t{0}),
                             row.value("subsidy_minor", std::int64_t{0}), row.value("points_redeemed", std::int64_t{0}));
  }
  const std::string next = page.value("next_cursor", std::string());
  if (!next.empty()) std::cout << "more: --after " << next << "\n";
}

}  // namespace

void add_taps_command(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<TapsOptions>();
  auto* taps = app.add_subcommand("taps", "one business day's tap records: who, when, where, the decision and its money");
  taps->add_option("--day", options->day, "business day YYYY-MM-DD")->required();
  taps->add_option("--card", options->card, "only this card's taps (hex); never its anonymised records");
  taps->add_option("--reader", options->reader, "only this reader's taps");
  taps->add_option("--limit", options->limit, "records per page (default 100)");
  taps->add_option("--after", options->after, "the cursor the previous page printed");
  taps->callback([&context, options] { run_taps(context, *options); });
}

}  // namespace citycard::cli
