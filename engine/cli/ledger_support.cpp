#include "ledger_support.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <ctime>

namespace citycard::cli {

std::unique_ptr<ledger::Ledger> open_ledger_or_fail(const CliContext& context, LedgerAccess access) {
  ledger::Options options;
  options.create_if_missing = access == LedgerAccess::create;
  options.read_only = access == LedgerAccess::read_only;
  auto opened = ledger::Ledger::open(context.db_path, options);
  if (!opened) fail(opened.status().message());
  return std::move(*opened);
}

CardId parse_card_or_fail(const std::string& text) {
  auto card = CardId::parse(text);
  if (!card) fail("'" + text + "' is not a card id (2 to 32 hex digits)", 2);
  return *card;
}

CardRecord card_or_fail(const ledger::Ledger& ledger, const std::string& text) {
  auto record = ledger.card(parse_card_or_fail(text));
  if (!record) fail(record.status().message());
  return *record;
}

Result<AccountId> resolve_account(const ledger::Ledger& ledger, const std::string& reference) {
  auto split = [](const std::string& text, std::size_t at) { return text.substr(at); };
  if (reference.rfind("card:", 0) == 0) {
    std::string rest = split(reference, 5);
    bool points = false;
    if (auto colon = rest.find(':'); colon != std::string::npos) {
      if (rest.substr(colon + 1) != "points" && rest.substr(colon + 1) != "wallet") {
        return Status::invalid_argument("'" + reference + "': a card account is :wallet or :points");
      }
      points = rest.substr(colon + 1) == "points";
      rest = rest.substr(0, colon);
    }
    auto card_id = CardId::parse(rest);
    if (!card_id) return Status::invalid_argument("'" + rest + "' is not a card id");
    auto card = ledger.card(*card_id);
    if (!card) return card.status();
    return points ? card->points_account : card->wallet_account;
  }
  if (reference.rfind("operator:", 0) == 0) {
    std::string rest = split(reference, 9);
    bool settled = false;
    if (auto colon = rest.find(':'); colon != std::string::npos) {
      if (rest.substr(colon + 1) != "settled" && rest.substr(colon + 1) != "payable") {
        return Status::invalid_argument("'" + reference + "': an operator account is :payable or :settled");
      }
      settled = rest.substr(colon + 1) == "settled";
      rest = rest.substr(0, colon);
    }
    std::uint32_t id = 0;
    auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
    if (error != std::errc() || end != rest.data() + rest.size()) {
      return Status::invalid_argument("'" + rest + "' is not an operator id");
    }
    auto record = ledger.operator_record(OperatorId{id});
    if (!record) return record.status();
    return settled ? record->settled_account : record->payable_account;
  }
  if (auto named = ledger.named_account(reference)) return *named;
  return Status::not_found("no account '" + reference + "' (card:HEX, operator:N or a system account name)");
}

std::string format_utc(EventTime time) {
  std::time_t seconds = time.unix_seconds();
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

EventTime now() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return EventTime{std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count()};
}

IdempotencyKey fresh_operator_key() {
  return IdempotencyKey{Origin::operator_action, static_cast<std::uint64_t>(::getpid()),
                        static_cast<std::uint64_t>(now().unix_us)};
}

}  // namespace citycard::cli
