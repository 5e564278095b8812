#include "engine/net/admission.h"

#include <dirent.h>
#include <sys/resource.h>

#include <cstring>

namespace citycard::net {
namespace {

// Descriptors open in this process, counting the one the listing itself
// uses; 0 when /proc cannot be read (out of descriptors, no /proc).
std::size_t open_descriptors() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  std::size_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count;
}

std::size_t soft_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1u << 20;
  return static_cast<std::size_t>(limit.rlim_cur);
}

}  // namespace

const char* refusal_name(Refusal refusal) noexcept {
  switch (refusal) {
    case Refusal::none: return "none";
    case Refusal::connections_max: return "connections_max";
    case Refusal::fd_reserve: return "fd_reserve";
    case Refusal::pending_total: return "pending_total";
    case Refusal::pending_per_address: return "pending_per_address";
  }
  return "unknown";
}

std::size_t AddressKeyHash::operator()(const AddressKey& key) const noexcept {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  std::memcpy(&high, key.bytes.data(), 8);
  std::memcpy(&low, key.bytes.data() + 8, 8);
  return static_cast<std::size_t>((high * 0x9E3779B97F4A7C15ULL) ^ (low + 0x632BE59BD9B4E019ULL + (high << 6)));
}

FdBudget::FdBudget(std::size_t reserve) : limit_(soft_fd_limit()), reserve_(reserve) {}

bool FdBudget::allows(int fd, std::size_t connections, std::chrono::steady_clock::time_point now) {
  const std::size_t ceiling = limit_ > reserve_ ? limit_ - reserve_ : 0;
  // Every descriptor below fd is in use, so fd + 1 are open at least.
  if (static_cast<std::size_t>(fd) + 1 > ceiling) return false;
  if (now - counted_at_ >= recount_interval) {
    counted_at_ = now;
    std::size_t open = open_descriptors();
    // Less the listing's own descriptor, the new socket and the connections.
    if (open >= connections + 2) others_ = open - connections - 2;
  }
  return others_ + connections + 1 <= ceiling;
}

Admission::Admission(std::size_t connections_max, std::size_t pending_connections_max,
                     std::size_t pending_per_address_max, std::size_t fd_reserve)
    : connections_max_(connections_max),
      pending_connections_max_(pending_connections_max),
      pending_per_address_max_(pending_per_address_max),
      fds_(fd_reserve) {}

Refusal Admission::admit(const AddressKey& from, int fd, std::size_t connections,
                         std::chrono::steady_clock::time_point now) {
  if (connections >= connections_max_) return Refusal::connections_max;
  if (!fds_.allows(fd, connections, now)) return Refusal::fd_reserve;
  if (pending_total_ >= pending_connections_max_) return Refusal::pending_total;
  std::size_t& from_there = pending_by_address_[from];
  if (from_there >= pending_per_address_max_) return Refusal::pending_per_address;
  ++from_there;
  ++pending_total_;
  return Refusal::none;
}

void Admission::release(const AddressKey& from) {
  auto found = pending_by_address_.find(from);
  if (found == pending_by_address_.end() || found->second == 0 || pending_total_ == 0) return;
  --pending_total_;
  if (--found->second == 0) pending_by_address_.erase(found);
}

FdLimits raise_fd_limit() noexcept {
  FdLimits limits;
  rlimit current{};
  if (::getrlimit(RLIMIT_NOFILE, &current) != 0) {
    limits.raised_ok = false;
    return limits;
  }
  limits.soft_before = current.rlim_cur;
  limits.hard = current.rlim_max;
  limits.soft = current.rlim_cur;
  if (current.rlim_cur != current.rlim_max) {
    rlimit raised = current;
    raised.rlim_cur = current.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limits.soft = raised.rlim_cur;
    } else {
      limits.raised_ok = false;
    }
  }
  return limits;
}

}  // namespace citycard::net
