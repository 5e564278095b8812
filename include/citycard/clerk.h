// Clerks and their roles: the one table of who may do what at the card
// office. The admin API (engine) and the CLI's direct-ledger path (engine
// stopped) both ask role_allows() before acting; nothing else decides.
//
// A clerk is named by a certificate the installation's CA issued
// (engine/pki/pki.h: issue_clerk), which carries the name and the role, so
// the engine keeps no clerk database: revoking the certificate revokes the
// clerk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace citycard {

enum class ClerkRole : std::uint8_t {
  viewer = 1,      // looks up cards, readers and history
  clerk = 2,       // the counter: top-up, refund, block, replace, issue cards
  supervisor = 3,  // a clerk who also imports transfers, manages readers and operators
  auditor = 4,     // reads the audit trail; changes nothing
  settlement = 5,  // closes the business day
};

// What a clerk asks for. One value per admin API op or CLI command that
// needs a role; reads included, so a role with no reads is possible.
enum class ClerkAction : std::uint8_t {
  look_up = 1,          // balance, history, reader list/show
  top_up = 2,
  refund = 3,
  card_status = 4,      // block, unblock, lost
  replace = 5,
  card_issue = 6,       // card issue, card import
  reader_manage = 7,    // reader add/suspend/retire/activate, certificates
  operator_add = 8,
  transfers_import = 9,
  audit_read = 10,
  settle_close = 11,    // settle close, acknowledgements
  reload_pki = 12,
  approve = 13,         // approve or reject another clerk's refund over the four-eyes limit
  adjust = 14,          // correct a charge (an adjustment naming the tap it corrects)
  rules_load = 15,      // install a new rule set version (switches at a business-day start)
  records_retain = 16,  // anonymise and delete tap records past their retention ([records])
  card_link = 17,       // link a medium to an account, unlink it
  card_merge = 18,      // merge two accounts of one person
  access_manage = 19,   // change the access lists: roles, door groups, meetings (docs/access.md)
};

constexpr std::string_view clerk_role_name(ClerkRole role) noexcept {
  switch (role) {
    case ClerkRole::viewer: return "viewer";
    case ClerkRole::clerk: return "clerk";
    case ClerkRole::supervisor: return "supervisor";
    case ClerkRole::auditor: return "auditor";
    case ClerkRole::settlement: return "settlement";
  }
  return "?";
}

constexpr std::optional<ClerkRole> parse_clerk_role(std::string_view text) noexcept {
  for (ClerkRole role : {ClerkRole::viewer, ClerkRole::clerk, ClerkRole::supervisor, ClerkRole::auditor,
                         ClerkRole::settlement}) {
    if (clerk_role_name(role) == text) return role;
  }
  return std::nullopt;
}

constexpr std::string_view clerk_action_name(ClerkAction action) noexcept {
  switch (action) {
    case ClerkAction::look_up: return "look up cards";
    case ClerkAction::top_up: return "top up";
    case ClerkAction::refund: return "refund";
    case ClerkAction::card_status: return "block or unblock cards";
    case ClerkAction::replace: return "replace cards";
    case ClerkAction::card_issue: return "issue cards";
    case ClerkAction::reader_manage: return "manage readers";
    case ClerkAction::operator_add: return "add operators";
    case ClerkAction::transfers_import: return "import transfers";
    case ClerkAction::audit_read: return "read the audit trail";
    case ClerkAction::settle_close: return "close a business day";
    case ClerkAction::reload_pki: return "reload certificates";
    case ClerkAction::approve: return "approve or reject refunds";
    case ClerkAction::adjust: return "adjust charges";
    case ClerkAction::rules_load: return "install rule sets";
    case ClerkAction::records_retain: return "apply the tap records' retention";
    case ClerkAction::card_link: return "link and unlink media";
    case ClerkAction::card_merge: return "merge accounts";
    case ClerkAction::access_manage: return "change access lists";
  }
  return "?";
}

// The table. Counter work (card actions, linking a medium) is the clerk's;
// the supervisor may do all of it and what needs more trust (approving
// another clerk's large refund: never his own, engine/groups/approvals.h;
// merging two accounts, which moves debt and history); the auditor and settlement roles
// read and do their one thing; the viewer only reads cards.
constexpr bool role_allows(ClerkRole role, ClerkAction action) noexcept {
  const bool counter = action == ClerkAction::top_up || action == ClerkAction::refund ||
                       action == ClerkAction::card_status || action == ClerkAction::replace ||
                       action == ClerkAction::card_issue || action == ClerkAction::adjust ||
                       action == ClerkAction::card_link;
  switch (role) {
    case ClerkRole::viewer:
      return action == ClerkAction::look_up;
    case ClerkRole::clerk:
      return action == ClerkAction::look_up || counter;
    case ClerkRole::supervisor:
      return action == ClerkAction::look_up || counter || action == ClerkAction::reader_manage ||
             action == ClerkAction::operator_add || action == ClerkAction::transfers_import ||
             action == ClerkAction::reload_pki || action == ClerkAction::approve ||
             action == ClerkAction::rules_load || action == ClerkAction::records_retain ||
             action == ClerkAction::card_merge ||
             action == ClerkAction::access_manage;
    case ClerkRole::auditor:
      return action == ClerkAction::look_up || action == ClerkAction::audit_read;
    case ClerkRole::settlement:
      // The day's close and the records' retention are both end-of-day work.
      return action == ClerkAction::look_up || action == ClerkAction::settle_close ||
             action == ClerkAction::records_retain;
  }
  return false;
}

// A clerk's name: 1..32 of [a-z0-9._-], starting with a letter or digit, so
// it is safe in a file name (PKI/clerks/NAME.crt) and a URI.
constexpr bool valid_clerk_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 32) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

// Who acted, as proven by a certificate and a signature (or, for the
// engine's own bookkeeping, nobody: name empty).
struct Clerk {
  std::string name;
  ClerkRole role = ClerkRole::viewer;
};

}  // namespace citycard
