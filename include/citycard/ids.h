// Identifiers shared by every module. Distinct types so that a reader id can
// never be passed where an account id is expected.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace citycard {

// A ledger account. Dense, assigned by the ledger from 1; 0 means "none".
struct AccountId {
  std::uint64_t value = 0;
  auto operator<=>(const AccountId&) const = default;
};

// A transit or service operator (bus company, metro, pool, shop, ...).
struct OperatorId {
  std::uint32_t value = 0;
  auto operator<=>(const OperatorId&) const = default;
};

// A card reader device (validator, gate, desk terminal).
struct ReaderId {
  std::uint32_t value = 0;
  auto operator<=>(const ReaderId&) const = default;
};

// A tap is identified by the reader that saw it and the reader's own
// sequence number, which never repeats for that reader.
struct TapId {
  ReaderId reader;
  std::uint64_t sequence = 0;
  auto operator<=>(const TapId&) const = default;
};

// A card: the UID of a physical card, or the token of a mobile or co-branded
// medium. 1..16 bytes; its text form is upper-case hex ("04A1B2C3D4E5F6").
class CardId {
 public:
  static constexpr std::size_t bytes_max = 16;

  CardId() = default;
  // Accepts 2..32 hex digits, even count, either case.
  static std::optional<CardId> parse(std::string_view hex);
  static CardId from_bytes(const std::uint8_t* data, std::size_t size);

  std::string to_string() const;
  const std::uint8_t* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  bool operator==(const CardId& other) const = default;
  auto operator<=>(const CardId& other) const = default;

 private:
  std::array<std::uint8_t, bytes_max> bytes_{};
  std::uint8_t size_ = 0;
};

// Where a posting came from: the key under which the ledger deduplicates it.
enum class Origin : std::uint8_t {
  tap = 1,              // source = reader id, sequence = reader sequence number
  operator_action = 2,  // source = operator session / CLI, sequence = request number
  system = 3,           // source = subsystem (settlement, month-end points), sequence = its counter
  // source = reader id, sequence = reader sequence number: the charge for a
  // tap the engine refused online but the reader, hearing nothing in time,
  // let through offline (docs/readers.md, "Late answers").
  service_given = 4,
  // source, sequence = those of the refund op:SOURCE:SEQUENCE waiting for a
  // second supervisor (engine/groups/approvals.h): the write that records
  // the request, so the refund's own reference stays free for the write that
  // carries it out (or rejects it) once decided.
  approval = 5,
  // source, sequence = those of the card-office request op:SOURCE:SEQUENCE
  // that was refused (engine/groups/refusals.h): the write of its audit
  // entry, so the request's own reference stays free for a later request,
  // and a refused request retried under its reference is recorded once.
  refusal = 6,
  // The close's overnight repricing (engine/groups/repricing.h) correcting
  // the money of tap:SOURCE:SEQUENCE (repriced_tap) or of
  // svc:SOURCE:SEQUENCE (repriced_service_given): re-rated in event order.
  repriced_tap = 7,
  repriced_service_given = 8,
};
// The highest Origin: stored keys carry the number, and one above it is not a key.
inline constexpr std::uint8_t origin_max = static_cast<std::uint8_t>(Origin::repriced_service_given);

struct IdempotencyKey {
  Origin origin = Origin::tap;
  std::uint64_t source = 0;
  std::uint64_t sequence = 0;

  static IdempotencyKey for_tap(TapId tap) {
    return {Origin::tap, tap.reader.value, tap.sequence};
  }
  static IdempotencyKey for_service_given(TapId tap) {
    return {Origin::service_given, tap.reader.value, tap.sequence};
  }
  auto operator<=>(const IdempotencyKey&) const = default;
  // "tap:17:123456", "op:3:99", "sys:2:7", "apv:3:99", "rfs:3:99", "rpt:17:123456"
  std::string to_string() const;
  static std::optional<IdempotencyKey> parse(std::string_view text);
};

// ---- inline definitions ---------------------------------------------------

inline std::optional<CardId> CardId::parse(std::string_view hex) {
  if (hex.size() < 2 || hex.size() > 2 * bytes_max || hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  CardId id;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]);
    int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes_[i / 2] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  id.size_ = static_cast<std::uint8_t>(hex.size() / 2);
  return id;
}

inline CardId CardId::from_bytes(const std::uint8_t* data, std::size_t size) {
  CardId id;
  if (size > bytes_max) size = bytes_max;
  for (std::size_t i = 0; i < size; ++i) id.bytes_[i] = data[i];
  id.size_ = static_cast<std::uint8_t>(size);
  return id;
}

inline std::string CardId::to_string() const {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string text;
  text.reserve(size_ * 2u);
  for (std::size_t i = 0; i < size_; ++i) {
    text.push_back(digits[bytes_[i] >> 4]);
    text.push_back(digits[bytes_[i] & 0x0F]);
  }
  return text;
}

inline std::string IdempotencyKey::to_string() const {
  const char* prefix = origin == Origin::tap               ? "tap"
                       : origin == Origin::operator_action ? "op"
                       : origin == Origin::service_given   ? "svc"
                       : origin == Origin::approval        ? "apv"
                       : origin == Origin::refusal         ? "rfs"
                       : origin == Origin::repriced_tap    ? "rpt"
                       : origin == Origin::repriced_service_given ? "rps"
                                                           : "sys";
  return std::string(prefix) + ":" + std::to_string(source) + ":" + std::to_string(sequence);
}

inline std::optional<IdempotencyKey> IdempotencyKey::parse(std::string_view text) {
  auto first = text.find(':');
  auto second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  IdempotencyKey key;
  std::string_view prefix = text.substr(0, first);
  if (prefix == "tap") key.origin = Origin::tap;
  else if (prefix == "op") key.origin = Origin::operator_action;
  else if (prefix == "sys") key.origin = Origin::system;
  else if (prefix == "svc") key.origin = Origin::service_given;
  else if (prefix == "apv") key.origin = Origin::approval;
  else if (prefix == "rfs") key.origin = Origin::refusal;
  else if (prefix == "rpt") key.origin = Origin::repriced_tap;
  else if (prefix == "rps") key.origin = Origin::repriced_service_given;
  else return std::nullopt;
  auto parse_u64 = [](std::string_view digits, std::uint64_t& out) {
    if (digits.empty() || digits.size() > 20) return false;
    std::uint64_t value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      std::uint64_t next = value * 10 + static_cast<std::uint64_t>(c - '0');
      if (next / 10 != value) return false;  // overflow
      value = next;
    }
    out = value;
    return true;
  };
  if (!parse_u64(text.substr(first + 1, second - first - 1), key.source)) return std::nullopt;
  if (!parse_u64(text.substr(second + 1), key.sequence)) return std::nullopt;
  return key;
}

}  // namespace citycard
