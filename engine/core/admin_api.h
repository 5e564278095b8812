// The admin API's requests and replies (docs/admin-api.md): one JSON object
// in, one JSON object out. Reads (balance, history, ping) are answered from
// the ledger; actions that change a card (topup, refund, card_adjust, block,
// unblock, lost, replace, approval_approve, approval_reject) go through Engine::admin,
// so they are ordered with the card's taps and durable before the reply. reload_pki runs the hook the
// engine set (PkiKeeper::reload), on the calling thread.
//
// Threading: handle() may be called from any thread; `reply` is called
// exactly once, on the calling thread for reads and bad requests, on a
// shard thread for actions.
#pragma once

#include <atomic>
#include <functional>

#include <nlohmann/json.hpp>

#include "citycard/clerk.h"
#include "engine.h"
#include "office_import.h"
#include "access_desk.h"
#include "rule_desk.h"
#include "tap_retention.h"
#include "ledger/ledger.h"

namespace citycard::engine {

class AdminApi {
 public:
  AdminApi(Engine& engine, ledger::Ledger& ledger) : engine_(engine), ledger_(ledger), rules_(engine, ledger), access_(engine, ledger) {}
  // `clerk`: who the connection signed in as (admin_access.h checked the
  // role); the audit trail names him. nullptr only for ping.
  void handle(const nlohmann::json& request, const Clerk* clerk, std::function<void(nlohmann::json)> reply);
  // A request the role table refused `clerk` (admin_access.h): its audit
  // entry (outcome refused, engine/groups/refusals.h) through the shard of
  // its card, as a card action would be, then `reply` says why it was
  // refused. A card action is named as such (with its card, amount and
  // reference); any other op by its name, under a fresh reference.
  void refuse(const nlohmann::json& request, const Clerk& clerk, Status refusal, std::function<void(nlohmann::json)> reply);
  // {"op":"reload_pki"}: the hook's reply is the answer. Without one the op is unavailable.
  void set_reload_pki(std::function<nlohmann::json()> reload) { reload_pki_ = std::move(reload); }
  // The ops settle_* (settlement_desk.h); without a handler they are
  // unavailable. The request reaches it with "audit": {"clerk", "role",
  // "ref"} naming the signed-in clerk and a fresh reference for its audit
  // entry, set here over whatever the client sent under that name.
  using SettleHandler = std::function<void(const std::string& op, const nlohmann::json& request,
                                           const std::function<void(nlohmann::json)>& reply)>;
  void set_settle(SettleHandler settle) { settle_ = std::move(settle); }
  // The op records_retain ([records] in the config; tap_retention.h): the
  // policy, and the token key's file, read at each call.
  void set_records_retention(TapRetentionPolicy policy, std::string token_key_file) {
    retention_ = policy;
    token_key_file_ = std::move(token_key_file);
  }

 private:
  IdempotencyKey fresh_key();
  Result<IdempotencyKey> action_key(const nlohmann::json& request);
  // Who asks, for the audit trail of office work, with a fresh reference.
  OfficeActor office_actor(const nlohmann::json& request, const Clerk* clerk);
  // card_import, operator_add, transfers_import (admin_office.cpp).
  void handle_office(const std::string& op, const nlohmann::json& request, const Clerk* clerk,
                     std::function<void(nlohmann::json)> reply);
  // card_eligibility: each row one set_category action through its card's
  // shard; answered once every row is (admin_office.cpp).
  void handle_eligibility(const nlohmann::json& request, const Clerk* clerk, std::function<void(nlohmann::json)> reply);
  void handle_reader(const std::string& op, const nlohmann::json& request, const Clerk* clerk,
                     std::function<void(nlohmann::json)> reply);
  // rules_load, rules_show (admin_rules.cpp).
  void handle_rules(const std::string& op, const nlohmann::json& request, const Clerk* clerk,
                    std::function<void(nlohmann::json)> reply);
  // access_show, access_change (admin_access_lists.cpp).
  void handle_access(const std::string& op, const nlohmann::json& request, const Clerk* clerk,
                     std::function<void(nlohmann::json)> reply);
  // approval_list, approval_approve, approval_reject (admin_approvals.cpp).
  void handle_approval(const std::string& op, const nlohmann::json& request, const Clerk* clerk,
                       std::function<void(nlohmann::json)> reply);
  // approval_approve or approval_reject as a command on the waiting
  // request's card, and that request's action ("refund", "adjustment").
  struct Decision {
    AdminCommand command;
    std::string action;
  };
  Result<Decision> decision_command(const std::string& op, const nlohmann::json& request) const;
  nlohmann::json balance(const CardId& card) const;
  nlohmann::json history(const CardId& card, std::size_t limit, std::uint64_t before) const;
  nlohmann::json taps(const nlohmann::json& request) const;
  // records_retain (admin_records.cpp).
  nlohmann::json records_retain(const nlohmann::json& request, const Clerk* clerk);

  Engine& engine_;
  ledger::Ledger& ledger_;
  std::atomic<std::uint64_t> last_key_{0};
  std::function<nlohmann::json()> reload_pki_;
  SettleHandler settle_;
  TapRetentionPolicy retention_;
  std::string token_key_file_;
  RuleDesk rules_;
  AccessDesk access_;
};

nlohmann::json error_reply(const Status& status);
// A card action's reply (docs/admin-api.md, "Action reply"), without its ref.
nlohmann::json result_json(const AdminResult& result);
// Puts the signed-in clerk and the request's reason on a command.
void sign(AdminCommand& command, const Clerk* clerk, const nlohmann::json& request);
// The request's card in field `name`; invalid_argument naming the field.
Result<CardId> card_field(const nlohmann::json& request, const char* name);
// A card action op (topup, refund, card_adjust, block, unblock, lost,
// replace) on `card` as a command, timed now, without clerk or reference;
// invalid_argument naming a bad field, or an op that is none of these.
Result<AdminCommand> card_command(const std::string& op, const nlohmann::json& request, const CardId& card);

}  // namespace citycard::engine
