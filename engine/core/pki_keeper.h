// The engine's certificates and CRL while it runs (docs/engine.md,
// "Certificates and the CRL").
//
// - open(), at start, before the tap server: the CA certificate, the engine
//   certificate and its key must be there, and so must the CRL, signed by
//   the CA. A missing CRL is a start error (revocation is never off). An
//   expired CRL is one too, unless the engine holds the CA key (DIR/ca.key:
//   the embedded default, which made the PKI): then it re-signs it, keeping
//   every entry, and logs crl_resigned. A CRL with less than a third of its
//   validity left is re-signed the same way.
// - check(), every crl_check_interval on the caller's loop: the same
//   re-signing of a CRL that is due, then reload(). Without the CA key it
//   logs crl_expires_soon, so the operator re-signs it where the key is.
// - reload(), on SIGHUP and the admin op reload_pki: the CA certificate, the
//   CRL and the engine certificate are read again, checked, and put in force
//   in the tap server (net::Server::reload_tls): new handshakes use them,
//   open connections of readers they no longer trust are closed. A file
//   that cannot be used changes nothing.
// - expiry(): when the CA certificate, the engine certificate and the CRL in
//   force run out, for the metrics.
//
// Threading: open, attach, check and reload on one thread (the engine's main
// loop); expiry() from any.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "citycard/status.h"
#include "engine/net/asio.h"
#include "engine/net/server.h"
#include "engine/pki/pki.h"
#include "log.h"

namespace citycard::engine {

struct PkiKeeperOptions {
  std::string dir;                                    // the PKI directory (pki.dir)
  std::chrono::hours crl_lifetime{24 * 30};           // nextUpdate of CRLs the engine signs; default 30 days
  std::chrono::milliseconds check_interval{3600000};  // how often check() runs; default 1 h
};

struct PkiExpiry {
  std::chrono::system_clock::time_point ca_certificate;
  std::chrono::system_clock::time_point engine_certificate;
  std::chrono::system_clock::time_point crl;  // nextUpdate
};

struct PkiReload {
  pki::CrlInfo crl;
  std::size_t connections_closed = 0;
};

class PkiKeeper {
 public:
  static Result<std::unique_ptr<PkiKeeper>> open(PkiKeeperOptions options, Log& log);
  ~PkiKeeper();

  net::TlsFiles tls_files() const;
  bool holds_ca_key() const;

  // The tap server reload() puts the files in force in; it must outlive
  // this keeper, or be detached (nullptr) first.
  void attach(net::Server* server) { server_ = server; }
  // Runs check() every check_interval on `io` until this keeper is gone.
  void start_checks(boost::asio::io_context& io);

  Result<PkiReload> reload(std::string_view reason);
  void check();
  PkiExpiry expiry() const;

 private:
  PkiKeeper(PkiKeeperOptions options, Log& log);
  // Re-signs the CRL if it is expired or due and the CA key is here.
  Status resign_if_due(const pki::CrlInfo& crl, std::string_view reason);
  // Reads what the files say now: the CRL (checked against the CA) and the
  // certificates' notAfter. Remembers their expiry for the metrics.
  Result<pki::CrlInfo> read_files();
  void arm_timer();

  PkiKeeperOptions options_;
  Log& log_;
  net::Server* server_ = nullptr;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  // Seconds since the epoch, for expiry() from other threads.
  std::atomic<std::int64_t> ca_not_after_{0};
  std::atomic<std::int64_t> engine_not_after_{0};
  std::atomic<std::int64_t> crl_next_update_{0};
};

}  // namespace citycard::engine
