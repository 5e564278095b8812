// The engine's local services on one Asio event loop (the caller's thread):
// - the admin API: a Unix-domain socket (mode 0600) speaking one JSON
//   object per line (docs/admin-api.md); requests that change a card go
//   through Engine::admin (the card's shard), reads go to the ledger;
// - metrics: HTTP GET /metrics on a loopback TCP port, Prometheus text.
// Every read has a deadline (a stalled client is closed); requests and
// lines are bounded (64 KiB). Replies to admin actions are posted back onto
// the loop from the shard threads.
//
// Threading: construct, start and stop on the loop's thread (or before it
// runs); the engine and ledger must outlive the Services.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "admin_api.h"
#include "citycard/status.h"
#include "engine.h"
#include "engine/net/asio.h"
#include "ledger/ledger.h"
#include "log.h"
#include "metrics.h"

namespace citycard::engine {

struct ServicesOptions {
  std::string admin_socket;                 // path; replaced if a stale one exists
  std::chrono::milliseconds admin_idle_timeout{60000};
  bool metrics_enabled = true;
  std::string metrics_address = "127.0.0.1";
  std::uint16_t metrics_port = 0;           // 0 = ephemeral (see metrics_port())
  std::function<nlohmann::json()> reload_pki;  // the admin op reload_pki; default: none
  AdminApi::SettleHandler settle;              // the admin ops settle_*; default: none
  TapRetentionPolicy records_retention;     // the admin op records_retain; default: keep everything
  std::string records_token_key_file;       // its token key (tap_token.h)
  std::string pki_dir;                      // the CA and CRL that clerks' certificates are checked against
};

class Services {
 public:
  static Result<std::unique_ptr<Services>> start(boost::asio::io_context& io, ServicesOptions options, Engine& engine,
                                                 ledger::Ledger& ledger, Metrics& metrics,
                                                 std::function<Gauges()> gauges, Log& log);
  ~Services();
  std::uint16_t metrics_port() const noexcept;
  // Closes the listeners and every open admin/metrics connection; removes the socket file.
  void stop();

  class Impl;

 private:
  explicit Services(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace citycard::engine
