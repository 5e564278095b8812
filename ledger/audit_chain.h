// The audit trail as a hash chain. Every RecordSpace::audit write (an
// operator's action: who, role, when, what, card, amount, reason, outcome, as
// the writer encoded it) is also appended, in the same RocksDB write, as the
// next link of one global chain; the ledger numbers the links where its
// writes are serialised (prepare(), put_records()), so the engine's shards
// and the CLI's direct path share one order.
//
// Format (RecordSpace::audit_chain, key := number:be64, from 1, gap-free):
//   link  := number:be64 prev_hash:32 key_size:u32 key[key_size]
//            body_size:u32 body[body_size] hash:32
//   hash  := SHA-256("citycard-audit/1" number:be64 prev_hash key_size key body_size body)
//   prev_hash of link 1 is 32 zero bytes; of link n, the hash of link n-1.
// The audit record itself (space audit, key = the action's reference) keeps
// the body, so `record(audit, ref)` still finds an action by reference;
// verify checks that it equals the body of its link.
//
// An edit of a link's body breaks its hash; recomputing the hash breaks the
// next link's prev_hash; a deleted link leaves a gap. Whoever can rewrite
// every later link can still forge the tail: the chain shows tampering by
// hand, not by someone who rewrites the chain from the edit to its end.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace citycard::ledger {

using AuditHash = std::array<std::uint8_t, 32>;

struct AuditLink {
  std::uint64_t number = 0;
  AuditHash prev_hash{};
  std::string key;   // the action's reference (the audit record's key)
  std::string body;  // the audit record's value
  AuditHash hash{};
};

// The hash a link with these fields must carry.
AuditHash audit_link_hash(std::uint64_t number, const AuditHash& prev_hash, std::string_view key, std::string_view body);
// The next link after (number - 1, prev_hash), hashed.
AuditLink make_audit_link(std::uint64_t number, const AuditHash& prev_hash, std::string key, std::string body);
std::string encode_audit_link(const AuditLink& link);
// nullopt when the bytes are not a link (truncated, trailing bytes).
std::optional<AuditLink> decode_audit_link(std::string_view value);
std::string audit_chain_key(std::uint64_t number);
std::string audit_hash_hex(const AuditHash& hash);

}  // namespace citycard::ledger
