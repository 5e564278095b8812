// The emulator's end of the vsmartcard-vpcd TCP protocol (recipe §4).
//
// frame := length:u16be payload[length]           (both directions)
// vpcd -> card: payload of 1 byte = control (00 off, 01 on, 02 reset, 04 ATR?),
//               longer payload = command APDU; card -> vpcd: ATR or response.
//
// An open connection is a card in the field; closing it removes the card.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "card/bytes.h"
#include "citycard/status.h"

namespace citycard::emulator {

using Clock = std::chrono::steady_clock;

enum class ReadOutcome { frame, deadline, stop_requested, peer_closed };

class VpcdConnection {
 public:
  // Connects to vpcd at host:port, retrying while it refuses (pcscd not up
  // yet) until deadline. stop_fd: a descriptor that becomes readable when the
  // process must stop (a signalfd); waits end early on it.
  static Result<VpcdConnection> connect(const std::string& host, std::uint16_t port, Clock::time_point deadline,
                                        int stop_fd);

  VpcdConnection(VpcdConnection&& other) noexcept;
  VpcdConnection& operator=(VpcdConnection&&) = delete;
  VpcdConnection(const VpcdConnection&) = delete;
  ~VpcdConnection();

  // Waits for one frame until deadline. io_error on a socket failure or a
  // frame cut short; otherwise the outcome, with payload filled for frame.
  Result<ReadOutcome> read_frame(card::Bytes& payload, Clock::time_point deadline);
  // Header and payload in one send(): vpcd must not wait on a delayed ACK.
  Status send_frame(card::ByteView payload);
  // Closing the socket is what "card removed" means to vpcd.
  void close();

 private:
  VpcdConnection(int fd, int stop_fd) : fd_(fd), stop_fd_(stop_fd) {}
  Result<ReadOutcome> read_exact(std::uint8_t* out, std::size_t size, Clock::time_point deadline);

  int fd_ = -1;
  int stop_fd_ = -1;
};

}  // namespace citycard::emulator
