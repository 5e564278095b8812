// The reader's TLS link to the engine: connect with the reader's
// certificate, say hello, send tap batches and get their decisions, fetch
// deny list deltas, reconnect. Used by the reader agent and the load
// generator. Speaks docs/protocol.md.
//
// Calls block the calling thread, each for at most its timeout (no call
// waits without a deadline). One Uplink is one connection and is not
// thread-safe: use it from one thread (one Uplink per simulated reader).
//
// Errors are values:
// - unavailable: cannot connect, the connection broke, or no reply in time.
//   The connection is closed; connect() again and resend -- the engine
//   answers a resent tap with its original decision.
// - invalid_argument / refused / busy: the engine sent an error frame (the
//   message names its code and text) and closed the connection; refused is
//   a reader id that does not match the certificate.
// - invalid_argument also for a certificate, key or CA file that cannot be used.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "citycard/ids.h"
#include "citycard/status.h"
#include "protocol/messages.h"

namespace citycard::uplink {

struct UplinkOptions {
  std::string host = "127.0.0.1";         // engine address or name to connect to
  std::uint16_t port = 0;                 // engine port; required
  std::string server_name = "localhost";  // must match the engine certificate's DNS or IP name
  std::string ca_certificate;             // PEM of the CA that signed the engine certificate
  std::string certificate;                // this reader's PEM certificate
  std::string private_key;                // this reader's PEM private key
  ReaderId reader;                        // must equal the id in the certificate
  std::string agent = "citycard-uplink";  // sent in hello, for the engine's logs (<= 64 bytes)
  std::chrono::milliseconds connect_timeout{5000};  // TCP + TLS + hello; default 5 s
  std::chrono::milliseconds reply_timeout{5000};    // one request to its reply; default 5 s
  int reconnect_attempts = 0;  // submit(): reconnect and resend this often on a broken link; default 0
  std::chrono::milliseconds reconnect_backoff{100};  // first pause, doubled per attempt; default 100 ms
};

struct BatchReply {
  enum class Kind : std::uint8_t { decided, retry_later };
  Kind kind = Kind::decided;
  protocol::Decisions decisions;  // for decided: one per tap, in batch order
  protocol::RetryLater retry;     // for retry_later
};

class Uplink {
 public:
  explicit Uplink(UplinkOptions options);
  ~Uplink();
  Uplink(const Uplink&) = delete;
  Uplink& operator=(const Uplink&) = delete;

  enum class Greeting : std::uint8_t {
    hello,  // normal: TLS, then hello / hello_ack
    none,   // TLS only; the caller speaks (conformance tests, tools)
  };
  using Deadline = std::chrono::steady_clock::time_point;

  // Closes any previous connection first.
  Status connect(Greeting greeting = Greeting::hello);
  // The same, all of TCP + TLS + hello by deadline (instead of connect_timeout).
  Status connect(Greeting greeting, Deadline deadline);
  bool connected() const noexcept;
  // The engine's hello_ack of the current connection.
  const protocol::HelloAck& session() const noexcept;

  // Sends the batch and waits for its decisions or retry_later. Frames for
  // other requests that arrive meanwhile are kept for receive().
  Result<BatchReply> submit(const protocol::TapBatch& batch);
  Result<protocol::DenyListDelta> deny_list_since(std::uint64_t version);
  Status heartbeat(std::uint64_t nonce);

  // Per-call deadlines (a rider waiting 150 ms, an upload 5 s) instead of
  // reply_timeout. No reconnect: on unavailable the connection is closed and
  // the caller decides when to connect() again. Missing the deadline is
  // unavailable, and closes the connection (a late reply cannot be told from
  // the next one otherwise).
  Result<BatchReply> submit(const protocol::TapBatch& batch, Deadline deadline);
  Result<protocol::DenyListDelta> deny_list_since(std::uint64_t version, Deadline deadline);
  // Any deny_list_request, e.g. one continuing a snapshot, and its answer.
  Result<protocol::DenyListDelta> deny_list(const protocol::DenyListRequest& request, Deadline deadline);
  Status heartbeat(std::uint64_t nonce, Deadline deadline);

  // Lower level: one frame out, the next frame in (pipelining, tests).
  Status send(const protocol::Message& message);
  // Writes bytes as they are, framed or not (conformance tests, tools).
  Status send_bytes(std::span<const std::uint8_t> bytes);
  // The next frame from the engine. An error frame is returned as a message
  // (and the connection is then closed), so callers can inspect its code.
  Result<protocol::Message> receive(std::chrono::milliseconds timeout);

  void close() noexcept;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace citycard::uplink
