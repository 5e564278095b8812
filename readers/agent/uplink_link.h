// UplinkEngineLink: the EngineLink over the TLS uplink (readers/uplink,
// docs/protocol.md). One connection, used from the agent's loop thread only.
//
// submit_taps() sends the taps as one tap_batch, each with its encoded tap
// proof (card::encode_proof, 58 bytes) in the record's cryptogram field, and
// maps the engine's answer:
//   decisions          -> one TapDecision per tap (checked: same ids, same order)
//   retry_later        -> busy (the engine took nothing; resend later)
//   no link, timeout   -> unavailable (the connection is closed; the next call
//                         reconnects, within that call's deadline)
//   error frame        -> its status (docs/protocol.md error codes; the engine
//                         closed the connection)
// More taps than the session's batch_taps_max: only the first batch_taps_max
// are sent, and only they are decided (the caller resends the rest).
//
// fetch_deny_list() asks for the delta since the list's version, or the next
// page of a snapshot in progress (deny_list_request with snapshot_version and
// after); "more follows" comes back as DenyListDelta::more, a later page of
// a snapshot as DenyListDelta::page.
//
// keep_alive() is for the idle loop: it connects when the link is down (after
// a failure, not before reconnect_interval, doubling up to
// reconnect_interval_max, so a dead engine costs the loop little) and sends a heartbeat before the engine's
// idle timeout would close a quiet connection, so a rider's tap finds the
// link up and gets its online decision within the tap deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "config.h"
#include "engine_link.h"
#include "readers/uplink/uplink.h"

namespace citycard::agent {

struct UplinkLinkOptions {
  uplink::UplinkOptions uplink;                          // host, port, certificate files, reader id
  std::chrono::milliseconds reconnect_interval{1000};    // keep_alive(): pause after a failed connect; default 1 s
  std::chrono::milliseconds reconnect_interval_max{30000};  // doubled per failure up to this; default 30 s
  std::chrono::milliseconds keep_alive_deadline{2000};   // keep_alive(): connect / heartbeat deadline; default 2 s
};

// From the [engine] section: address "host:port" (host also names the engine
// certificate), ca_file, cert_file, key_file. invalid_argument names a missing
// or malformed key.
Result<UplinkLinkOptions> uplink_link_options(const AgentConfig& config);

class UplinkEngineLink final : public EngineLink {
 public:
  explicit UplinkEngineLink(UplinkLinkOptions options);

  Result<std::vector<TapDecision>> submit_taps(std::span<const QueuedTap> taps, Deadline deadline) override;
  Result<DenyListDelta> fetch_deny_list(const DenyListPosition& from, Deadline deadline) override;

  // Connects or heartbeats if due at now (see above); ok when the link is up.
  Status keep_alive(Clock::time_point now);

  bool connected() const noexcept { return uplink_.connected(); }
  std::uint64_t engine_last_sequence() const override {
    return uplink_.connected() ? uplink_.session().last_sequence : 0;
  }
  // The engine's deny list version from the current connection's hello_ack
  // (0 when not connected).
  std::uint64_t engine_deny_list_version() const noexcept;

 private:
  Status ensure_connected(Deadline deadline);

  UplinkLinkOptions options_;
  uplink::Uplink uplink_;
  std::uint64_t next_batch_id_ = 1;
  std::uint64_t next_nonce_ = 1;
  Clock::time_point next_connect_{};          // keep_alive(): not before this
  std::chrono::milliseconds connect_pause_{0};  // current pause after a failed connect
  Clock::time_point last_traffic_{};
};

}  // namespace citycard::agent
