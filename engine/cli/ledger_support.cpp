#include "ledger_support.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <ctime>
#include <iostream>

#include "ledger/encoding.h"

namespace citycard::cli {

std::unique_ptr<ledger::Ledger> open_ledger_or_fail(const CliContext& context, LedgerAccess access) {
  ledger::Options options;
  options.create_if_missing = access == LedgerAccess::create;
  options.read_only = access == LedgerAccess::read_only;
  auto opened = ledger::Ledger::open(context.db_path, options);
  if (!opened) fail(opened.status().message());
  tell_upgrade(**opened, context.db_path);
  return std::move(*opened);
}

void tell_upgrade(const ledger::Ledger& ledger, const std::string& path) {
  if (ledger.upgraded_from().empty()) return;
  std::cerr << "ledger at " << path << " upgraded from format '" << ledger.upgraded_from() << "' to '"
            << ledger::encoding::format_value << "': builds before this one can no longer open it\n";
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
