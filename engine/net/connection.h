// One reader connection on the server's loop: handshake, frame loop, writer,
// deadlines. Internal to engine/net; everything here runs on the loop thread.
//
// Life of a connection (phase_):
//   handshaking -> open -> [draining] -> closing -> closed
// From accept until hello is done it counts as pending (admission.h), and
// one deadline, accept + handshake_timeout, bounds TLS and hello together.
// closing: an error frame is queued; the writer flushes it, half-closes the
// TCP send side, the reader discards input until the peer closes, and the
// watchdog cuts it off at the write deadline if the peer never does.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/net/admission.h"
#include "engine/net/asio.h"
#include "engine/net/log_budget.h"
#include "engine/net/server.h"
#include "protocol/codec.h"

struct x509_store_st;  // OpenSSL's X509_STORE

namespace citycard::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Lets a sink's done callback, on any thread, reach the loop -- or find out
// that the server is gone and drop the result.
class LoopHandle {
 public:
  explicit LoopHandle(asio::io_context& io) : io_(&io) {}
  template <typename F>
  void post(F&& function) {
    std::lock_guard lock(mutex_);
    if (io_ != nullptr) asio::post(*io_, std::forward<F>(function));
  }
  void detach() {
    std::lock_guard lock(mutex_);
    io_ = nullptr;
  }

 private:
  std::mutex mutex_;
  asio::io_context* io_;
};

struct Counters {
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::uint64_t> handshakes_failed{0};
  std::atomic<std::uint64_t> connections_errored{0};
  std::atomic<std::uint64_t> batches_submitted{0};
  std::atomic<std::uint64_t> taps_submitted{0};
  std::atomic<std::uint64_t> batches_retry_later{0};
  std::array<std::atomic<std::uint64_t>, refusal_kinds> refused{};  // by Refusal
  std::atomic<std::uint64_t> accept_errors{0};
  std::atomic<std::uint64_t> trust_reloads{0};
  std::atomic<std::uint64_t> closed_untrusted{0};
};

// What every connection shares with the server. Loop thread only, but for
// the counters.
struct ServerCore {
  ServerCore(ServerOptions settings, TapSink& tap_sink, DenyListSource* deny, std::shared_ptr<LoopHandle> handle)
      : options(std::move(settings)),
        sink(tap_sink),
        deny_list(deny),
        loop(std::move(handle)),
        admission(options.connections_max, options.pending_connections_max, options.pending_per_address_max,
                  options.fd_reserve),
        log_budget(options.log_lines_per_second) {}

  void log(std::string_view line) { log_budget.write(options.log, line, Clock::now()); }

  ServerOptions options;
  TapSink& sink;
  DenyListSource* deny_list;
  std::shared_ptr<LoopHandle> loop;
  Counters counters;
  Admission admission;
  LogBudget log_budget;
  // The CA and CRL new handshakes are verified with, and how many times they
  // were replaced: a connection made under an older one is verified again.
  x509_store_st* trust = nullptr;
  std::uint64_t trust_generation = 0;
  bool stopping = false;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Stream = asio::ssl::stream<tcp::socket>;

  // `from` was admitted (counted pending) for this connection.
  Connection(Stream stream, ServerCore& core, std::uint64_t number, AddressKey from);

  // The whole life of the connection; returns when it is closed.
  asio::awaitable<void> run(std::shared_ptr<Connection> self);
  // Stop taking batches; close once the submitted ones are answered.
  void drain();
  // Close now, without a goodbye (stop() past its drain deadline).
  void cut_off();
  // After the CA/CRL were reloaded: an open connection whose certificate
  // the new trust refuses is closed (true). One still in its handshake is
  // checked when the handshake completes.
  bool close_if_untrusted();

 private:
  enum class Phase { handshaking, open, draining, closing, closed };
  enum class DeadlineKind { handshake, hello, idle, frame, closing };

  asio::awaitable<void> watchdog(std::shared_ptr<Connection> self);
  asio::awaitable<void> frame_loop();
  asio::awaitable<void> discard_input();

  void dispatch(protocol::Message message);
  void on_hello(const protocol::Hello& hello);
  void on_tap_batch(protocol::TapBatch batch);
  void on_deny_list_request(const protocol::DenyListRequest& request);
  void on_decided(std::uint64_t batch_id, std::size_t tap_count, SubmitResult result);

  void send(const protocol::Message& message);
  // Starts writing what is queued, unless a write is in progress (its
  // completion comes back here); once closing and flushed, half-closes.
  void pump_writes();
  void fail(protocol::ErrorCode code, std::string message);
  void maybe_finish_drain();
  void set_deadline(Clock::time_point deadline, DeadlineKind kind);
  // For the frame loop: until hello is done, never past the hello deadline.
  void set_frame_deadline(Clock::time_point deadline, DeadlineKind kind);
  void release_pending();
  bool trusted_now(std::string& why);
  void close_now();
  void log(const std::string& line) const;

  Stream stream_;
  ServerCore& core_;
  std::uint64_t number_;  // for logs: connections are numbered as accepted
  AddressKey from_;
  bool pending_ = true;   // counted by core_.admission until hello or close
  std::uint64_t trust_generation_;  // core_.trust_generation when accepted
  Clock::time_point hello_deadline_;  // accept + handshake_timeout
  Phase phase_ = Phase::handshaking;
  ReaderId reader_;
  bool hello_done_ = false;
  std::uint8_t version_ = protocol::protocol_version;
  std::size_t inflight_batches_ = 0;

  // Watchdog: one deadline for the current phase, one for a write in progress.
  asio::steady_timer watchdog_timer_;
  Clock::time_point deadline_;
  DeadlineKind deadline_kind_ = DeadlineKind::handshake;
  Clock::time_point write_deadline_ = Clock::time_point::max();

  // Writer: encoded frames waiting to go out, bounded by output_frames_max,
  // and those being written (one write at a time).
  std::deque<std::vector<std::uint8_t>> output_;
  std::vector<std::vector<std::uint8_t>> writing_frames_;
  std::vector<asio::const_buffer> writing_buffers_;
  std::size_t output_frames_max_;
  bool writing_ = false;
  bool send_side_shut_ = false;

  // Reader: bytes read and decrypted, not yet taken as frames.
  static constexpr std::size_t input_bytes_first = 4096;
  std::vector<std::uint8_t> input_ = std::vector<std::uint8_t>(input_bytes_first);  // grows to the largest frame seen
  std::size_t buffered_ = 0;
};

}  // namespace citycard::net
