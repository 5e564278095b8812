// Who may hold a descriptor, decided at accept before any TLS. A new socket
// is closed at once when keeping it would
// - leave fewer than fd_reserve descriptors under RLIMIT_NOFILE: RocksDB
//   opens table files as it goes (a failed open is a background error for
//   the ledger) and the admin socket must still accept the card office;
// - make more than connections_max connections;
// - make more than pending_connections_max connections that have not yet
//   said hello, or more than pending_per_address_max of them from one source
//   address (an IPv6 address counts by its /64, which one host is given).
// So a flood of TCP connects that never finish TLS costs at most those
// descriptors, each for handshake_timeout, and a reader elsewhere still gets in.
// Loop thread only.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace citycard::net {

enum class Refusal : std::uint8_t { none, connections_max, fd_reserve, pending_total, pending_per_address };
inline constexpr std::size_t refusal_kinds = 5;
const char* refusal_name(Refusal refusal) noexcept;

// A source address as 16 bytes: IPv4 as IPv4-mapped IPv6, IPv6 cut to its
// /64 (server.cpp makes them).
struct AddressKey {
  std::array<std::uint8_t, 16> bytes{};
  bool operator==(const AddressKey&) const = default;
};
struct AddressKeyHash {
  std::size_t operator()(const AddressKey& key) const noexcept;
};

// Descriptors the tap server may use: RLIMIT_NOFILE (read once, at start)
// less the reserve, less what the rest of the process holds. That rest is
// counted from /proc/self/fd at most every recount_interval; in between,
// the number of the descriptor just accepted is a lower bound for free: the
// kernel hands out the lowest free one, so all below it are in use.
class FdBudget {
 public:
  static constexpr std::chrono::milliseconds recount_interval{100};

  explicit FdBudget(std::size_t reserve);
  std::size_t limit() const noexcept { return limit_; }
  // May the socket just accepted on `fd` stay open, with `connections`
  // connections open besides it?
  bool allows(int fd, std::size_t connections, std::chrono::steady_clock::time_point now);

 private:
  std::size_t limit_;
  std::size_t reserve_;
  std::size_t others_ = 0;  // descriptors held by anything but connections, at the last count
  std::chrono::steady_clock::time_point counted_at_{};
};

class Admission {
 public:
  Admission(std::size_t connections_max, std::size_t pending_connections_max, std::size_t pending_per_address_max,
            std::size_t fd_reserve);

  // For a socket just accepted on `fd` from `from`, with `connections` open
  // besides it. none: it is admitted and counts as pending until released.
  Refusal admit(const AddressKey& from, int fd, std::size_t connections, std::chrono::steady_clock::time_point now);
  // The connection admitted from `from` said hello or closed: once per admit.
  void release(const AddressKey& from);

  std::size_t pending() const noexcept { return pending_total_; }
  std::size_t fd_limit() const noexcept { return fds_.limit(); }

 private:
  std::size_t connections_max_;
  std::size_t pending_connections_max_;
  std::size_t pending_per_address_max_;
  FdBudget fds_;
  std::unordered_map<AddressKey, std::size_t, AddressKeyHash> pending_by_address_;
  std::size_t pending_total_ = 0;
};

// The process's RLIMIT_NOFILE before and after raising the soft limit to the hard one.
struct FdLimits {
  std::uint64_t soft_before = 0;
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;
  bool raised_ok = true;  // false: setrlimit failed, soft is unchanged
};
FdLimits raise_fd_limit() noexcept;

}  // namespace citycard::net
