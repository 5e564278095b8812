#include "admin_api.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "bonus_balance.h"
#include "card_history.h"
#include "eligibility.h"
#include "tap_listing.h"
#include "citycard/limits.h"
#include "ledger/readers.h"
#include "reader_json.h"
#include "tap_adjustments.h"

namespace citycard::engine {
namespace {

using nlohmann::json;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Result<CardId> card_field(const json& request, const char* name) {
  auto found = request.find(name);
  if (found == request.end() || !found->is_string()) return Status::invalid_argument(std::string("'") + name + "' (a card id in hex) is required");
  auto card = CardId::parse(found->get<std::string>());
  if (!card) return Status::invalid_argument("'" + found->get<std::string>() + "' is not a card id (2 to 32 hex digits)");
  return *card;
}

json result_json(const AdminResult& result) {
  if (!result.status) return error_reply(result.status);
  json out{{"ok", true},
              {"duplicate", result.duplicate},
              {"pending", result.pending},
              {"card", result.card.to_string()},
              {"status", std::string(card_status_name(result.card_status))},
              {"wallet_minor", result.wallet_minor},
              {"points", result.points},
              {"moved_wallet_minor", result.moved_wallet_minor},
              {"moved_points", result.moved_points}};
  if (!result.media_moved.empty()) {
    json media = json::array();
    for (const CardId& medium : result.media_moved) media.push_back(medium.to_string());
    out["media_moved"] = media;
  }
  return out;
}

// The clerk and his reason, for the audit entry (audit_entry.h).
void sign(AdminCommand& command, const Clerk* clerk, const json& request) {
  if (clerk != nullptr) {
    command.operator_name = clerk->name;
    command.clerk_role = std::string(clerk_role_name(clerk->role));
  }
  if (request.contains("reason") && request["reason"].is_string()) command.reason = request["reason"].get<std::string>();
}

json error_reply(const Status& status) {
  return json{{"ok", false}, {"code", status_code_name(status.code())}, {"error", status.message()}};
}

IdempotencyKey AdminApi::fresh_key() {
  // op:<engine pid>:<microseconds>, strictly increasing within this run.
  std::uint64_t now = static_cast<std::uint64_t>(now_us());
  std::uint64_t last = last_key_.load();
  std::uint64_t next = 0;
  do {
    next = std::max(now, last + 1);
  } while (!last_key_.compare_exchange_weak(last, next));
  return IdempotencyKey{Origin::operator_action, static_cast<std::uint64_t>(::getpid()), next};
}

Result<IdempotencyKey> AdminApi::action_key(const json& request) {
  if (!request.contains("ref")) return fresh_key();
  auto key = request["ref"].is_string() ? IdempotencyKey::parse(request["ref"].get<std::string>()) : std::nullopt;
  if (!key || key->origin != Origin::operator_action) return Status::invalid_argument("'ref' must be op:SOURCE:NUMBER");
  return *key;
}

void AdminApi::handle_reader(const std::string& op, const json& request, const Clerk* clerk, std::function<void(json)> reply) {
  if (op == "reader_list") {
    auto readers = ledger::load_readers(ledger_);
    if (!readers) return reply(error_reply(readers.status()));
    json rows = json::array();
    for (const ReaderRecord& reader : *readers) rows.push_back(reader_json(reader));
    return reply(json{{"ok", true}, {"readers", rows}});
  }
  auto requested = reader_from_json(request);
  if (!requested) return reply(error_reply(requested.status()));
  if (requested->id.value == 0) return reply(error_reply(Status::invalid_argument("'id' must be 1..4294967295")));
  if (op == "reader_show") {
    auto reader = ledger::load_reader(ledger_, requested->id);
    if (!reader) return reply(error_reply(reader.status()));
    json out = reader_json(*reader);
    out["ok"] = true;
    return reply(out);
  }
  AdminCommand command;
  command.time = EventTime{now_us()};
  sign(command, clerk, request);
  command.reader = *requested;
  if (op == "reader_add") {
    command.action = AdminAction::reader_add;
    if (!request.contains("kind")) {
      auto kind = rules::default_kind_for(requested->modes);
      if (!kind) return reply(error_reply(Status::invalid_argument("no kind of reader sends all of these modes; give 'kind'")));
      command.reader.kind = *kind;
    }
  } else if (op == "reader_suspend" || op == "reader_retire" || op == "reader_activate") {
    command.action = AdminAction::reader_status;
    command.reader.status = op == "reader_suspend"   ? ReaderStatus::suspended
                            : op == "reader_retire" ? ReaderStatus::retired
                                                    : ReaderStatus::active;
  } else {
    return reply(error_reply(Status::invalid_argument(
        "unknown op '" + op + "' (reader_add, reader_list, reader_show, reader_suspend, reader_retire, reader_activate)")));
  }
  auto key = action_key(request);
  if (!key) return reply(error_reply(key.status()));
  command.key = *key;
  engine_.admin(std::move(command), [reply = std::move(reply), ref = key->to_string()](AdminResult result) {
    if (!result.status) return reply(error_reply(result.status));
    json out = reader_json(result.reader);
    out["ok"] = true;
    out["duplicate"] = result.duplicate;
    out["ref"] = ref;
    reply(std::move(out));
  });
}

json AdminApi::balance(const CardId& card_id) const {
  auto card = ledger_.card(card_id);
  if (!card) return error_reply(card.status());
  auto wallet = ledger_.account(card->wallet_account);
  auto points = ledger_.account(card->points_account);
  if (!wallet || !points) return error_reply(Status::corruption("card " + card_id.to_string() + " names accounts the ledger does not have"));
  json out = {{"ok", true},
              {"card", card->card.to_string()},
              {"category", std::string(rider_category_name(card->category))},
              {"media", std::string(media_name(card->media))},
              {"status", std::string(card_status_name(card->status))},
              {"wallet_minor", wallet->balance_minor},
              {"wallet_floor_minor", wallet->spec.balance_floor_minor},
              {"points", points->balance_minor},
              {"debt", wallet->balance_minor < 0}};
  if (!card->linked_to.empty()) out["linked_to"] = card->linked_to.to_string();
  if (!card->replaced_by.empty()) out["replaced_by"] = card->replaced_by.to_string();
  if (card->category_from_day != no_category_day || card->category_until_day != no_category_day)
    out["eligibility"] = describe_eligibility(card->category, card->category_from_day, card->category_until_day);
  if (card->district != no_district) out["district"] = card->district;
  auto bonus = bonus_balance_of(ledger_, *card);
  if (!bonus) return error_reply(bonus.status());
  add_bonus_balance(out, *bonus);
  return out;
}

json AdminApi::history(const CardId& card_id, std::size_t limit, std::uint64_t before) const {
  auto page = card_history_json(ledger_, card_id, limit, before);
  if (!page) return error_reply(page.status());
  (*page)["ok"] = true;
  return std::move(*page);
}

json AdminApi::taps(const json& request) const {
  auto listing = tap_listing_request(request);
  if (!listing) return error_reply(listing.status());
  auto page = tap_listing_json(*ledger_.snapshot(), *listing);
  if (!page) return error_reply(page.status());
  (*page)["ok"] = true;
  return std::move(*page);
}

void AdminApi::handle(const json& request, const Clerk* clerk, std::function<void(json)> reply) {
  if (!request.is_object() || !request.contains("op") || !request["op"].is_string()) {
    reply(error_reply(Status::invalid_argument("a request is a JSON object with \"op\"")));
    return;
  }
  const std::string op = request["op"].get<std::string>();
  if (op == "ping") {
    const StorageState storage = engine_.storage();
    json out{{"ok", true}, {"engine", "citycard-engine"}, {"pid", ::getpid()},
             {"storage", storage.available ? "available" : "unavailable"}, {"storage_outages", storage.outages}};
    if (!storage.available) {
      out["storage_error"] = storage.error;
      out["storage_unavailable_since_unix_s"] =
          std::chrono::duration_cast<std::chrono::seconds>(storage.since.time_since_epoch()).count();
      out["storage_recovery_attempts"] = storage.attempts;
    }
    reply(out);
    return;
  }
  if (op == "reload_pki") {
    reply(reload_pki_ ? reload_pki_() : error_reply(Status::unavailable("this engine cannot reload its certificates")));
    return;
  }
  if (op.rfind("settle_", 0) == 0) {
    if (!settle_) return reply(error_reply(Status::unavailable("this engine does not run settlement")));
    // Who asks, for the desk's audit entry (settlement_desk.h): set here,
    // over anything the client sent under the name.
    json signed_request = request;
    signed_request["audit"] = {{"clerk", clerk != nullptr ? clerk->name : std::string()},
                               {"role", clerk != nullptr ? std::string(clerk_role_name(clerk->role)) : std::string()},
                               {"ref", fresh_key().to_string()}};
    settle_(op, signed_request, reply);
    return;
  }
  if (op.rfind("reader_", 0) == 0) {
    handle_reader(op, request, clerk, std::move(reply));
    return;
  }
  if (op.rfind("approval_", 0) == 0) {
    handle_approval(op, request, clerk, std::move(reply));
    return;
  }
  if (op.rfind("rules_", 0) == 0) {
    handle_rules(op, request, clerk, std::move(reply));
    return;
  }
  if (op.rfind("access_", 0) == 0) {
    handle_access(op, request, clerk, std::move(reply));
    return;
  }
  if (op == "taps") {
    reply(taps(request));
    return;
  }
  if (op == "records_retain") {
    reply(records_retain(request, clerk));
    return;
  }
  if (op == "card_eligibility") {
    handle_eligibility(request, clerk, std::move(reply));
    return;
  }
  if (op == "card_import" || op == "operator_add" || op == "transfers_import") {
    handle_office(op, request, clerk, std::move(reply));
    return;
  }
  auto card = card_field(request, "card");
  if (!card) {
    reply(error_reply(card.status()));
    return;
  }
  if (op == "balance") {
    reply(balance(*card));
    return;
  }
  if (op == "history") {
    std::size_t limit = request.value("limit", std::size_t{20});
    std::uint64_t before = request.value("before", std::uint64_t{0});
    if (limit == 0 || limit > limits::history_page_max) {
      reply(error_reply(Status::invalid_argument("limit must be 1.." + std::to_string(limits::history_page_max))));
      return;
    }
    reply(history(*card, limit, before));
    return;
  }
  auto command = card_command(op, request, *card);
  if (!command) {
    reply(error_reply(command.status()));
    return;
  }
  sign(*command, clerk, request);
  auto key = action_key(request);
  if (!key) {
    reply(error_reply(key.status()));
    return;
  }
  command->key = *key;
  std::string ref = command->key.to_string();
  engine_.admin(std::move(*command), [reply = std::move(reply), ref](AdminResult result) {
    json out = result_json(result);
    out["ref"] = ref;
    reply(std::move(out));
  });
}

Result<AdminCommand> card_command(const std::string& op, const json& request, const CardId& card) {
  AdminCommand command;
  command.card = card;
  command.time = EventTime{now_us()};
  auto amount = [&]() -> Status {
    if (!request.contains("amount_minor") || !request["amount_minor"].is_number_integer()) {
      return Status::invalid_argument("'amount_minor' (an integer) is required");
    }
    command.amount_minor = request["amount_minor"].get<std::int64_t>();
    return Status::ok();
  };
  if (op == "topup" || op == "refund" || op == "card_adjust") {
    command.action = op == "topup" ? AdminAction::top_up : op == "refund" ? AdminAction::refund : AdminAction::adjust;
    if (Status given = amount(); !given) return given;
    if (command.action == AdminAction::adjust && request.contains("tap")) {
      auto tap = request["tap"].is_string() ? parse_tap_reference(request["tap"].get<std::string>()) : std::nullopt;
      if (!tap) return Status::invalid_argument("'tap' must be READER:SEQUENCE (or tap:READER:SEQUENCE), the tap corrected");
      command.tap = *tap;
    }
  } else if (op == "block" || op == "unblock" || op == "lost") {
    command.action = AdminAction::set_status;
    command.status = op == "block" ? CardStatus::blocked : op == "lost" ? CardStatus::lost : CardStatus::active;
  } else if (op == "replace") {
    command.action = AdminAction::replace;
    auto new_card = card_field(request, "new_card");
    if (!new_card) return new_card.status();
    command.new_card = *new_card;
  } else if (op == "card_link" || op == "card_merge") {
    // {"card": MEDIUM, "to": PRIMARY} / {"card": ABSORBED, "into": SURVIVOR}
    command.action = op == "card_link" ? AdminAction::link : AdminAction::merge;
    auto other = card_field(request, op == "card_link" ? "to" : "into");
    if (!other) return other.status();
    command.new_card = *other;
  } else if (op == "card_unlink") {
    command.action = AdminAction::unlink;
  } else if (op == "card_auto_top_up") {
    // {"card", "enabled": true, "threshold_minor", "amount_minor", "daily_max_minor"} / {"card", "enabled": false}
    command.action = AdminAction::set_auto_top_up;
    if (!request.contains("enabled") || !request["enabled"].is_boolean())
      return Status::invalid_argument("'enabled' (true or false) is required");
    command.auto_top_up.enabled = request["enabled"].get<bool>();
    if (command.auto_top_up.enabled) {
      for (auto [name, field] : {std::pair{"threshold_minor", &command.auto_top_up.threshold_minor},
                                 std::pair{"amount_minor", &command.auto_top_up.amount_minor},
                                 std::pair{"daily_max_minor", &command.auto_top_up.daily_max_minor}}) {
        if (!request.contains(name) || !request[name].is_number_integer())
          return Status::invalid_argument(std::string("'") + name + "' (an integer) is required to switch auto top-up on");
        *field = request[name].get<std::int64_t>();
      }
    }
  } else {
    return Status::invalid_argument("unknown op '" + op +
                                    "' (ping, balance, history, topup, refund, card_adjust, block, unblock, lost, replace, card_link, card_unlink, card_merge, card_auto_top_up, approval_list, approval_approve, approval_reject, card_import, card_eligibility, operator_add, transfers_import, reader_add, reader_list, reader_show, reader_suspend, reader_retire, reader_activate, reload_pki, rules_load, rules_show, access_show, access_change, records_retain, taps, settle_close, settle_ack, settle_resend, settle_job)");
  }
  return command;
}

}  // namespace citycard::engine
