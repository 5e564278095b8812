// The card office's bulk writes while the engine runs: it is the only
// writer of the ledger then. The same code issues and posts on a stopped
// ledger (engine/groups/office_import.h, through the CLI).
#include "admin_api.h"

#include <chrono>
#include <memory>
#include <mutex>

#include "eligibility.h"
#include "office_import.h"

namespace citycard::engine {

using json = nlohmann::json;

OfficeActor AdminApi::office_actor(const json& request, const Clerk* clerk) {
  OfficeActor actor;
  if (clerk != nullptr) {
    actor.clerk = clerk->name;
    actor.role = std::string(clerk_role_name(clerk->role));
  }
  if (request.contains("reason") && request["reason"].is_string()) actor.reason = request["reason"].get<std::string>();
  actor.time = EventTime{
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count()};
  actor.key = fresh_key();
  return actor;
}

void AdminApi::handle_office(const std::string& op, const json& request, const Clerk* clerk, std::function<void(json)> reply) {
  const OfficeActor actor = office_actor(request, clerk);
  if (op == "card_import") {
    auto cards = card_rows_from_json(request.value("cards", json()));
    if (!cards) return reply(error_reply(cards.status()));
    auto report = issue_cards_once(ledger_, *cards, actor);
    if (!report) return reply(error_reply(report.status()));
    return reply(issue_report_json(*report));
  }
  if (op == "operator_add") {
    if (!request.contains("id") || !request["id"].is_number_unsigned() || request["id"].get<std::uint64_t>() == 0 ||
        request["id"].get<std::uint64_t>() > 0xFFFFFFFFull) {
      return reply(error_reply(Status::invalid_argument("'id' (an operator number 1..4294967295) is required")));
    }
    const std::string name = request.value("name", std::string());
    if (name.empty()) return reply(error_reply(Status::invalid_argument("'name' is required")));
    auto record = add_operator(ledger_, OperatorId{request["id"].get<std::uint32_t>()}, name, actor);
    if (!record) return reply(error_reply(record.status()));
    return reply(json{{"ok", true},
                      {"id", record->id.value},
                      {"name", record->name},
                      {"payable_account", record->payable_account.value},
                      {"settled_account", record->settled_account.value}});
  }
  // transfers_import
  auto rows = transfer_rows_from_json(request.value("rows", json()));
  if (!rows) return reply(error_reply(rows.status()));
  auto report = post_transfer_rows(ledger_, *rows, actor);
  if (!report) return reply(error_reply(report.status()));
  // Their shards mirror the balances these groups moved: read them again.
  engine_.reload_cards(report->cards_touched);
  reply(import_report_json(*report));
}

void AdminApi::handle_eligibility(const json& request, const Clerk* clerk, std::function<void(json)> reply) {
  auto rows = eligibility_rows_from_json(request.value("rows", json()));
  if (!rows) return reply(error_reply(rows.status()));
  // Every card is checked before any changes, so a bad file changes nothing.
  if (Status cards = check_eligibility_cards(ledger_, *rows); !cards) return reply(error_reply(cards));
  const OfficeActor actor = office_actor(request, clerk);
  struct Tally {
    std::mutex mutex;
    std::size_t left = 0;
    std::size_t changed = 0;
    json failed = json::array();
    std::function<void(json)> reply;
  };
  auto tally = std::make_shared<Tally>();
  tally->left = rows->size();
  tally->reply = std::move(reply);
  for (const EligibilityRow& row : *rows) {
    AdminCommand command = eligibility_command(row);
    sign(command, clerk, request);
    command.key = fresh_key();
    command.time = actor.time;
    engine_.admin(std::move(command), [tally, line = row.line, card = row.card](AdminResult result) {
      std::unique_lock lock(tally->mutex);
      if (result.status) {
        ++tally->changed;
      } else {
        tally->failed.push_back({{"line", line}, {"card", card.to_string()}, {"error", result.status.to_string()}});
      }
      if (--tally->left > 0) return;
      const bool all = tally->failed.empty();
      json out{{"ok", all}, {"changed", tally->changed}, {"failed", std::move(tally->failed)}};
      if (!all) out["error"] = "some rows were not carried out (see failed); sending them again is safe";
      auto done = std::move(tally->reply);
      lock.unlock();
      done(std::move(out));
    });
  }
}

}  // namespace citycard::engine
