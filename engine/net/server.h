// The tap server: readers connect over TLS 1.3 with client certificates,
// speak the protocol in docs/protocol.md, and get decisions from a TapSink.
//
// What it promises:
// - Only readers with a certificate from the configured CA, within its
//   validity and not on the CRL, complete the handshake. The reader id is
//   taken from the certificate (pki::reader_id_of); a hello or a tap claiming
//   another id gets an error frame and the connection closes, with nothing
//   submitted. reload_tls() puts a new CA/CRL in force without a restart:
//   new handshakes use it, and open connections it no longer trusts close.
// - From TCP accept to hello_ack takes at most handshake_timeout (TLS and
//   hello together); a connection that does not make it is closed, after
//   the handshake with error timeout.
// - Before TLS, descriptors are rationed (admission.h): per source address
//   and in total for connections not yet past hello, and never into the
//   fd_reserve kept for the ledger and the admin socket. Refused sockets are
//   closed at accept and counted; an accept that fails (EMFILE) pauses 50 ms.
//   Log lines are rate-limited (log_budget.h).
// - One event loop on one thread owns every connection. No call on a
//   connection blocks the loop: every read, write and handshake has a
//   deadline, so a slow or stalled reader is closed without holding up others.
// - A malformed, oversized or out-of-order frame gets an error frame naming
//   the problem, and that connection (only) is closed.
// - Each connection has at most inflight_batches_max unanswered batches; a
//   batch over that, or one the sink reports busy, is answered retry_later.
//   Output per connection is bounded the same way. Memory stays bounded.
// - stop() stops accepting, answers new batches retry_later (shutting_down),
//   lets submitted batches finish and their decisions go out, then closes
//   every connection with an error frame (shutting_down). It returns when all
//   are closed or drain_timeout has passed (then the rest are cut off).
//
// Threading: start/stop/port/stats may be called from any thread but the
// server's own; TapSink and DenyListSource calls happen on the loop thread
// (see tap_sink.h). The sink and the deny list source must outlive the Server.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "citycard/realtime.h"
#include "citycard/status.h"
#include "engine/net/tap_sink.h"

namespace citycard::net {

struct TlsFiles {
  std::string ca_certificate;  // PEM; the CA reader certificates must chain to. Required.
  std::string crl;             // PEM CRL of that CA, checked for every reader certificate. Required.
  std::string certificate;     // the engine's PEM certificate (chain). Required.
  std::string private_key;     // the engine's PEM private key. Required.
};

struct ServerOptions {
  std::string address = "127.0.0.1";  // listen address; default loopback
  std::uint16_t port = 0;             // 0 = an ephemeral port (see Server::port()); default 0
  TlsFiles tls;
  std::chrono::milliseconds handshake_timeout{5000};   // TCP accept to hello_ack; default 5 s
  std::chrono::milliseconds idle_timeout{30000};       // longest wait for a frame's header; default 30 s
  std::chrono::milliseconds frame_timeout{5000};       // header to the frame's last byte; default 5 s
  std::chrono::milliseconds write_timeout{5000};       // one write, and the final flush; default 5 s
  std::chrono::milliseconds heartbeat_interval{10000}; // told to readers; must be < idle_timeout; default 10 s
  std::uint16_t inflight_batches_max = 8;   // unanswered batches per connection; default 8
  std::size_t connections_max = 4096;       // open connections; more are closed at accept; default 4096
  // Connections accepted but not yet past hello (TLS, then hello), in all
  // and from one source address (IPv6: one /64); more are closed at accept.
  std::size_t pending_connections_max = 1024;  // default 1024
  std::size_t pending_per_address_max = 64;    // default 64
  // Descriptors under RLIMIT_NOFILE (as it is at start) that connections
  // never take: the ledger's table files and the admin socket need them. Default 256.
  std::size_t fd_reserve = 256;
  std::size_t log_lines_per_second = 20;    // more are counted, not written; default 20
  std::uint32_t retry_after_ms = 200;       // retry_later hint when the sink gives none; default 200 ms
  // The real-time set the network loop's thread joins (the engine's,
  // Engine::realtime_threads(), so it yields with the rest of the tap path);
  // none: the ordinary scheduler (default). start() refuses a priority it
  // may not use (include/citycard/realtime.h).
  std::shared_ptr<RealtimeThreads> realtime;
  // Receives one line per notable event (connection refused or closed with an
  // error). Called on the loop thread; must not block. Default: none.
  std::function<void(std::string_view)> log;
};

struct ServerStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t handshakes_failed = 0;   // TLS refused: unknown CA, expired, revoked, no certificate, timeout
  std::uint64_t connections_errored = 0; // closed with an error frame (malformed, spoofing, timeout, ...)
  std::uint64_t batches_submitted = 0;
  std::uint64_t taps_submitted = 0;
  std::uint64_t batches_retry_later = 0;
  // Closed at accept, by reason (admission.h).
  std::uint64_t refused_connections_max = 0;
  std::uint64_t refused_fd_reserve = 0;
  std::uint64_t refused_pending_total = 0;
  std::uint64_t refused_pending_per_address = 0;
  std::uint64_t accept_errors = 0;        // accept() failed (out of descriptors, ...)
  std::uint64_t trust_reloads = 0;        // reload_tls() that took effect
  std::uint64_t closed_untrusted = 0;     // open connections closed because a reload no longer trusts them
  std::uint64_t fd_limit = 0;             // RLIMIT_NOFILE's soft limit the budget was made from
};

struct TlsReload {
  std::size_t connections_closed = 0;  // open connections the new trust refused
};

class Server {
 public:
  // Loads the certificates, binds, listens and starts the loop thread.
  // invalid_argument for unusable files or options; io_error if it cannot bind.
  static Result<std::unique_ptr<Server>> start(ServerOptions options, TapSink& sink, DenyListSource* deny_list);

  ~Server();  // stop() with the default drain timeout, if not stopped yet
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const noexcept;
  ServerStats stats() const;
  void stop(std::chrono::milliseconds drain_timeout = std::chrono::milliseconds(5000));

  // Loads the files as start() does into a new TLS context and, on the loop,
  // makes it the one for every new connection. Then every open connection's
  // reader certificate is verified against the new CA and CRL, and those
  // that fail (revoked, or no longer from the CA) are closed; a handshake
  // still under way is checked the same way when it completes. Files that
  // cannot be used change nothing: invalid_argument naming the file.
  // unavailable when the server is stopped or its loop did not answer
  // within `timeout`. Any thread but the server's.
  Result<TlsReload> reload_tls(const TlsFiles& files, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace citycard::net
