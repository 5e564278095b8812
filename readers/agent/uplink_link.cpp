#include "uplink_link.h"

#include <fmt/format.h>

#include <charconv>

#include "card/cryptogram.h"

namespace citycard::agent {

static_assert(card::proof_bytes <= protocol::cryptogram_bytes_max, "the tap proof must fit the wire's proof field");

namespace {

protocol::TapRecord to_record(const QueuedTap& queued) {
  protocol::TapRecord record;
  record.tap = queued.tap;
  card::Bytes proof = card::encode_proof(queued.proof);
  record.cryptogram.size = static_cast<std::uint8_t>(proof.size());
  std::copy(proof.begin(), proof.end(), record.cryptogram.bytes.begin());
  return record;
}

TapDecision to_decision(const protocol::DecisionRecord& record) {
  TapDecision decision;
  decision.tap = record.tap;
  decision.verdict = record.outcome == protocol::Outcome::approved ? Verdict::approved : Verdict::refused;
  decision.reason = record.reason;
  decision.asset = Asset::twd;
  decision.fare_minor = record.fare_minor;
  decision.balance_minor = record.balance_after_minor;
  decision.points_after = record.points_after;
  decision.replayed = (record.flags & protocol::DecisionFlags::replayed) != 0;
  decision.debt = (record.flags & protocol::DecisionFlags::debt) != 0;
  decision.deny_listed = (record.flags & protocol::DecisionFlags::deny_listed) != 0;
  decision.late = (record.flags & protocol::DecisionFlags::late) != 0;
  return decision;
}

std::string_view retry_reason_name(protocol::RetryReason why) {
  switch (why) {
    case protocol::RetryReason::connection_busy: return "connection busy";
    case protocol::RetryReason::engine_busy: return "engine busy";
    case protocol::RetryReason::shutting_down: return "engine shutting down";
    case protocol::RetryReason::storage_unavailable: return "engine storage unavailable";
  }
  return "unknown";
}

}  // namespace

Result<UplinkLinkOptions> uplink_link_options(const AgentConfig& config) {
  if (config.engine_address.empty()) return Status::invalid_argument("[engine] address is required online (host:port)");
  for (const auto& [key, value] : {std::pair{"ca_file", &config.ca_file}, std::pair{"cert_file", &config.cert_file},
                                   std::pair{"key_file", &config.key_file}}) {
    if (value->empty()) return Status::invalid_argument(fmt::format("[engine] {} is required online", key));
  }
  const std::string& address = config.engine_address;
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::invalid_argument(fmt::format("[engine] address '{}' is not host:port", address));
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto [end, error] = std::from_chars(address.data() + colon + 1, address.data() + address.size(), port);
  if (error != std::errc{} || end != address.data() + address.size() || port == 0 || port > 65535) {
    return Status::invalid_argument(fmt::format("[engine] address '{}': port must be 1..65535", address));
  }
  UplinkLinkOptions options;
  options.uplink.host = host;
  options.uplink.port = static_cast<std::uint16_t>(port);
  options.uplink.server_name = host;
  options.uplink.ca_certificate = config.ca_file;
  options.uplink.certificate = config.cert_file;
  options.uplink.private_key = config.key_file;
  options.uplink.reader = config.reader;
  options.uplink.agent = "citycard-reader";
  return options;
}

UplinkEngineLink::UplinkEngineLink(UplinkLinkOptions options)
    : options_(std::move(options)), uplink_(options_.uplink) {}

std::uint64_t UplinkEngineLink::engine_deny_list_version() const noexcept {
  return uplink_.connected() ? uplink_.session().deny_list_version : 0;
}

Status UplinkEngineLink::ensure_connected(Deadline deadline) {
  if (uplink_.connected()) return Status::ok();
  Status status = uplink_.connect(uplink::Uplink::Greeting::hello, deadline);
  if (status) {
    last_traffic_ = Clock::now();
    connect_pause_ = std::chrono::milliseconds(0);
  } else {
    connect_pause_ = connect_pause_.count() == 0 ? options_.reconnect_interval
                                                 : std::min(connect_pause_ * 2, options_.reconnect_interval_max);
    next_connect_ = Clock::now() + connect_pause_;
  }
  return status;
}

Result<std::vector<TapDecision>> UplinkEngineLink::submit_taps(std::span<const QueuedTap> taps, Deadline deadline) {
  if (taps.empty()) return std::vector<TapDecision>{};
  if (Status status = ensure_connected(deadline); !status) return status;
  std::size_t count = taps.size();
  if (std::size_t session_max = uplink_.session().batch_taps_max; session_max > 0) count = std::min(count, session_max);
  count = std::min(count, limits::batch_taps_max);

  protocol::TapBatch batch;
  batch.batch_id = next_batch_id_++;
  batch.taps.reserve(count);
  for (std::size_t i = 0; i < count; ++i) batch.taps.push_back(to_record(taps[i]));
  auto reply = uplink_.submit(batch, deadline);
  if (!reply) return reply.status();
  last_traffic_ = Clock::now();
  if (reply->kind == uplink::BatchReply::Kind::retry_later) {
    return Status::busy(fmt::format("engine answered retry_later ({}), retry after {} ms",
                                    retry_reason_name(reply->retry.why), reply->retry.retry_after_ms));
  }
  const auto& records = reply->decisions.decisions;
  if (records.size() != batch.taps.size()) {
    uplink_.close();
    return Status::corruption(fmt::format("engine answered a batch of {} taps with {} decisions", batch.taps.size(),
                                          records.size()));
  }
  std::vector<TapDecision> decisions;
  decisions.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records[i].tap != batch.taps[i].tap.id) {
      uplink_.close();
      return Status::corruption(fmt::format("engine's decision {} is for tap {}/{}, not the batch's tap {}/{}", i,
                                            records[i].tap.reader.value, records[i].tap.sequence,
                                            batch.taps[i].tap.id.reader.value, batch.taps[i].tap.id.sequence));
    }
    decisions.push_back(to_decision(records[i]));
  }
  return decisions;
}

Result<DenyListDelta> UplinkEngineLink::fetch_deny_list(const DenyListPosition& from, Deadline deadline) {
  if (Status status = ensure_connected(deadline); !status) return status;
  auto reply = uplink_.deny_list(protocol::DenyListRequest{from.version, from.snapshot_version, from.after}, deadline);
  if (!reply) return reply.status();
  last_traffic_ = Clock::now();
  DenyListDelta delta;
  delta.from_version = reply->from_version;
  delta.to_version = reply->to_version;
  delta.replaces_all = (reply->flags & protocol::DenyListDelta::flag_full) != 0;
  delta.more = (reply->flags & protocol::DenyListDelta::flag_more) != 0;
  delta.page = (reply->flags & protocol::DenyListDelta::flag_page) != 0;
  delta.added = std::move(reply->added);
  delta.removed = std::move(reply->removed);
  return delta;
}

Status UplinkEngineLink::keep_alive(Clock::time_point now) {
  Deadline deadline = now + options_.keep_alive_deadline;
  if (!uplink_.connected()) {
    if (now < next_connect_) return Status::unavailable("engine link down; next connect attempt pending");
    return ensure_connected(deadline);
  }
  // The engine closes a connection that stays quiet past its idle timeout;
  // it asks for traffic every heartbeat_interval_ms. Beat at half of that.
  std::chrono::milliseconds interval(uplink_.session().heartbeat_interval_ms);
  if (interval.count() <= 0) interval = std::chrono::milliseconds(5000);
  if (now - last_traffic_ < interval / 2) return Status::ok();
  Status status = uplink_.heartbeat(next_nonce_++, deadline);
  if (status) last_traffic_ = Clock::now();
  return status;
}

}  // namespace citycard::agent
