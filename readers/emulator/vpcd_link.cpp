#include "vpcd_link.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "citycard/coding.h"

namespace citycard::emulator {
namespace {

int milliseconds_until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 1000 ? 1000 : static_cast<int>(left);  // re-check at least every second
}

bool stop_requested(int stop_fd) {
  pollfd entry{stop_fd, POLLIN, 0};
  return ::poll(&entry, 1, 0) > 0;
}

}  // namespace

Result<VpcdConnection> VpcdConnection::connect(const std::string& host, std::uint16_t port, Clock::time_point deadline,
                                               int stop_fd) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    return Status::invalid_argument(fmt::format("vpcd host '{}' is not an IPv4 address", host));
  }
  for (;;) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status::io_error(fmt::format("socket: {}", std::strerror(errno)));
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return VpcdConnection(fd, stop_fd);
    }
    int error = errno;
    ::close(fd);
    if (error != ECONNREFUSED) return Status::unavailable(fmt::format("connect to vpcd {}:{}: {}", host, port, std::strerror(error)));
    if (Clock::now() >= deadline) {
      return Status::unavailable(fmt::format("vpcd {}:{} refused connections until the deadline (is pcscd running with the vpcd reader?)", host, port));
    }
    // Wait 50 ms before the next attempt, but wake at once on a stop request.
    pollfd entry{stop_fd, POLLIN, 0};
    if (::poll(&entry, 1, 50) > 0) return Status::unavailable("stopped while waiting for vpcd");
  }
}

VpcdConnection::VpcdConnection(VpcdConnection&& other) noexcept : fd_(other.fd_), stop_fd_(other.stop_fd_) {
  other.fd_ = -1;
}

VpcdConnection::~VpcdConnection() { close(); }

void VpcdConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<ReadOutcome> VpcdConnection::read_exact(std::uint8_t* out, std::size_t size, Clock::time_point deadline) {
  std::size_t done = 0;
  while (done < size) {
    // Linux clears TCP_QUICKACK after use: re-arm before every recv so vpcd's
    // split length/payload writes are not held back by a delayed ACK (~40 ms).
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    pollfd entries[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int ready = ::poll(entries, 2, milliseconds_until(deadline));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Status::io_error(fmt::format("poll: {}", std::strerror(errno)));
    }
    if (entries[1].revents != 0) return ReadOutcome::stop_requested;
    if (entries[0].revents == 0) {
      if (Clock::now() >= deadline) return ReadOutcome::deadline;
      continue;
    }
    ssize_t got = ::recv(fd_, out + done, size - done, 0);
    if (got == 0) {
      if (done == 0) return ReadOutcome::peer_closed;
      return Status::io_error("vpcd closed the connection inside a frame");
    }
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ECONNRESET) return ReadOutcome::peer_closed;
      return Status::io_error(fmt::format("recv from vpcd: {}", std::strerror(errno)));
    }
    done += static_cast<std::size_t>(got);
  }
  return ReadOutcome::frame;
}

Result<ReadOutcome> VpcdConnection::read_frame(card::Bytes& payload, Clock::time_point deadline) {
  if (stop_requested(stop_fd_)) return ReadOutcome::stop_requested;
  std::uint8_t header[2];
  auto outcome = read_exact(header, 2, deadline);
  if (!outcome || *outcome != ReadOutcome::frame) return outcome;
  payload.resize(coding::load_be<std::uint16_t>(header));
  if (payload.empty()) return Status::io_error("vpcd sent an empty frame");
  // Once a frame has started, finish it even past the presentation deadline.
  return read_exact(payload.data(), payload.size(), Clock::now() + std::chrono::seconds(5));
}

Status VpcdConnection::send_frame(card::ByteView payload) {
  if (payload.size() > 0xFFFF) return Status::invalid_argument("vpcd frame over 65535 bytes");
  card::Bytes frame;
  frame.reserve(payload.size() + 2);
  coding::put_be<std::uint16_t>(frame, static_cast<std::uint16_t>(payload.size()));
  frame.insert(frame.end(), payload.begin(), payload.end());
  std::size_t sent = 0;
  while (sent < frame.size()) {
    ssize_t n = ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::io_error(fmt::format("send to vpcd: {}", std::strerror(errno)));
    }
    sent += static_cast<std::size_t>(n);
  }
  return Status::ok();
}

}  // namespace citycard::emulator
