// Blocking calls over Asio's asynchronous operations: each call starts its
// operation and runs the private io_context for at most the call's timeout
// (the pattern of Asio's blocking_tcp_client example), so no call can hang.
#include "readers/uplink/uplink.h"

#include <openssl/ssl.h>

#include <deque>
#include <optional>
#include <thread>

#include "protocol/codec.h"
#include "readers/uplink/asio.h"
#include "readers/uplink/client_tls.h"

namespace citycard::uplink {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {
// Frames kept while submit() waits for its own reply.
constexpr std::size_t pending_frames_max = 64;

std::string ms(std::chrono::milliseconds value) { return std::to_string(value.count()) + " ms"; }
}  // namespace

class Uplink::Impl {
 public:
  explicit Impl(UplinkOptions options) : options_(std::move(options)), tls_(asio::ssl::context::tls_client) {
    tls_status_ = configure_tls();
  }

  Status configure_tls();
  Status connect(Greeting greeting, Clock::time_point deadline);
  Status send(const protocol::Message& message, Clock::time_point deadline);
  Status send_bytes(std::span<const std::uint8_t> bytes, Clock::time_point deadline);
  Result<protocol::Message> receive(std::chrono::milliseconds timeout);
  Result<protocol::Message> receive_matching(const std::function<bool(const protocol::Message&)>& wanted,
                                             Clock::time_point deadline);
  Result<BatchReply> submit_once(const protocol::TapBatch& batch, Clock::time_point deadline);
  Clock::time_point reply_deadline() const { return Clock::now() + options_.reply_timeout; }
  void close() noexcept;

  // Runs one asynchronous operation to completion or its deadline.
  template <typename Start>
  error_code run(Start start, Clock::time_point deadline) {
    std::optional<error_code> result;
    start([&result](error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run_until(deadline);
    if (!result) {
      // Too slow: closing the socket aborts the operation; let it finish.
      error_code ignored;
      if (stream_) stream_->lowest_layer().close(ignored);
      io_.restart();
      io_.run();
      return asio::error::timed_out;
    }
    return *result;
  }

  Status lost(const std::string& what, const error_code& ec) {
    close();
    return Status::unavailable(what + " (engine " + options_.host + ":" + std::to_string(options_.port) + "): " +
                               (ec == asio::error::timed_out ? "timed out" : ec.message()));
  }

  UplinkOptions options_;
  asio::io_context io_{1};
  asio::ssl::context tls_;
  Status tls_status_;
  std::optional<asio::ssl::stream<tcp::socket>> stream_;
  protocol::HelloAck session_;
  std::uint8_t version_ = protocol::protocol_version;
  std::deque<protocol::Message> pending_;
};

Status Uplink::Impl::configure_tls() {
  return configure_client_tls(tls_, {options_.ca_certificate, options_.certificate, options_.private_key});
}

Status Uplink::Impl::connect(Greeting greeting, Clock::time_point deadline) {
  close();
  if (!tls_status_) return tls_status_;
  stream_.emplace(io_, tls_);
  expect_server_name(stream_->native_handle(), options_.server_name);
  tcp::resolver resolver(io_);
  error_code ec;
  auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port), ec);
  if (ec) return lost("cannot resolve", ec);
  ec = run([&](auto handler) { asio::async_connect(stream_->lowest_layer(), endpoints, handler); }, deadline);
  if (ec) return lost("cannot connect", ec);
  stream_->lowest_layer().set_option(tcp::no_delay(true), ec);
  ec = run([&](auto handler) { stream_->async_handshake(asio::ssl::stream_base::client, handler); }, deadline);
  if (ec) return lost("TLS handshake failed", ec);
  if (greeting == Greeting::none) return Status::ok();
  protocol::Hello hello{protocol::protocol_version_min, protocol::protocol_version, options_.reader, options_.agent};
  if (Status status = send(hello, deadline); !status) return status;
  auto reply = receive(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
  if (!reply) return reply.status();
  if (auto* error = std::get_if<protocol::ErrorFrame>(&reply.value())) {
    return protocol::ProtocolError{error->code, "engine refused hello: " + error->message}.to_status();
  }
  auto* ack = std::get_if<protocol::HelloAck>(&reply.value());
  if (ack == nullptr) {
    close();
    return Status::invalid_argument("engine answered hello with " +
                                    std::string(protocol::frame_type_name(protocol::frame_type_of(reply.value()))));
  }
  session_ = *ack;
  version_ = ack->version;
  return Status::ok();
}

Status Uplink::Impl::send(const protocol::Message& message, Clock::time_point deadline) {
  auto frame = protocol::encode(message, version_);
  if (!frame) return frame.error().to_status();
  return send_bytes(frame.value(), deadline);
}

Status Uplink::Impl::send_bytes(std::span<const std::uint8_t> bytes, Clock::time_point deadline) {
  if (!stream_) return Status::unavailable("not connected");
  error_code ec = run([&](auto handler) { asio::async_write(*stream_, asio::buffer(bytes.data(), bytes.size()), handler); },
                      deadline);
  if (ec) return lost("send failed", ec);
  return Status::ok();
}

Result<protocol::Message> Uplink::Impl::receive(std::chrono::milliseconds timeout) {
  if (!pending_.empty()) {
    protocol::Message message = std::move(pending_.front());
    pending_.pop_front();
    return message;
  }
  if (!stream_) return Status::unavailable("not connected");
  Clock::time_point deadline = Clock::now() + timeout;
  std::array<std::uint8_t, protocol::header_bytes> header_bytes;
  error_code ec = run([&](auto handler) { asio::async_read(*stream_, asio::buffer(header_bytes), handler); }, deadline);
  if (ec) return lost("no frame from the engine within " + ms(timeout), ec);
  auto header = protocol::decode_header(header_bytes);
  if (!header) {
    close();
    return header.error().to_status();
  }
  std::vector<std::uint8_t> payload(header->payload_bytes);
  ec = run([&](auto handler) { asio::async_read(*stream_, asio::buffer(payload), handler); }, deadline);
  if (ec) return lost("frame from the engine cut short", ec);
  auto message = protocol::decode_payload(header.value(), payload);
  if (!message) {
    close();
    return message.error().to_status();
  }
  // The engine closes after an error frame; so do we.
  if (std::holds_alternative<protocol::ErrorFrame>(message.value())) close();
  return std::move(message).value();
}

Result<protocol::Message> Uplink::Impl::receive_matching(
    const std::function<bool(const protocol::Message&)>& wanted, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      close();
      return Status::unavailable("no reply from the engine by the deadline");
    }
    // Read from the wire only: frames kept earlier are not the reply.
    std::deque<protocol::Message> kept;
    kept.swap(pending_);
    auto message = receive(left);
    pending_.swap(kept);
    if (!message) return message.status();
    if (auto* error = std::get_if<protocol::ErrorFrame>(&message.value())) {
      return protocol::ProtocolError{error->code, error->message}.to_status();
    }
    if (wanted(message.value())) return message;
    if (pending_.size() < pending_frames_max) pending_.push_back(std::move(message).value());
  }
}

Result<BatchReply> Uplink::Impl::submit_once(const protocol::TapBatch& batch, Clock::time_point deadline) {
  if (Status status = send(batch, deadline); !status) return status;
  auto reply = receive_matching([id = batch.batch_id](const protocol::Message& message) {
    if (auto* decisions = std::get_if<protocol::Decisions>(&message)) return decisions->batch_id == id;
    if (auto* retry = std::get_if<protocol::RetryLater>(&message)) return retry->batch_id == id;
    return false;
  }, deadline);
  if (!reply) return reply.status();
  BatchReply result;
  if (auto* decisions = std::get_if<protocol::Decisions>(&reply.value())) {
    result.decisions = std::move(*decisions);
  } else {
    result.kind = BatchReply::Kind::retry_later;
    result.retry = std::get<protocol::RetryLater>(reply.value());
  }
  return result;
}

void Uplink::Impl::close() noexcept {
  if (!stream_) return;
  error_code ignored;
  stream_->lowest_layer().close(ignored);
  stream_.reset();
  pending_.clear();
}

Uplink::Uplink(UplinkOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Uplink::~Uplink() = default;

Status Uplink::connect(Greeting greeting) {
  return impl_->connect(greeting, Clock::now() + impl_->options_.connect_timeout);
}
Status Uplink::connect(Greeting greeting, Deadline deadline) { return impl_->connect(greeting, deadline); }
bool Uplink::connected() const noexcept { return impl_->stream_.has_value(); }
const protocol::HelloAck& Uplink::session() const noexcept { return impl_->session_; }
Status Uplink::send(const protocol::Message& message) { return impl_->send(message, impl_->reply_deadline()); }
Status Uplink::send_bytes(std::span<const std::uint8_t> bytes) {
  return impl_->send_bytes(bytes, impl_->reply_deadline());
}
Result<protocol::Message> Uplink::receive(std::chrono::milliseconds timeout) { return impl_->receive(timeout); }
void Uplink::close() noexcept { impl_->close(); }

Result<BatchReply> Uplink::submit(const protocol::TapBatch& batch) {
  auto pause = impl_->options_.reconnect_backoff;
  for (int attempt = 0;; ++attempt) {
    Status status = connected() ? Status::ok() : connect(Greeting::hello);
    if (status) {
      auto reply = impl_->submit_once(batch, impl_->reply_deadline());
      if (reply || reply.status().code() != StatusCode::unavailable) return reply;
      status = reply.status();
    }
    // Only a broken link is worth another try; the resend is idempotent.
    if (status.code() != StatusCode::unavailable || attempt >= impl_->options_.reconnect_attempts) return status;
    std::this_thread::sleep_for(pause);
    pause *= 2;
  }
}

Result<protocol::DenyListDelta> Uplink::deny_list_since(std::uint64_t version) {
  return deny_list_since(version, impl_->reply_deadline());
}

Status Uplink::heartbeat(std::uint64_t nonce) { return heartbeat(nonce, impl_->reply_deadline()); }

Result<BatchReply> Uplink::submit(const protocol::TapBatch& batch, Deadline deadline) {
  return impl_->submit_once(batch, deadline);
}

Result<protocol::DenyListDelta> Uplink::deny_list_since(std::uint64_t version, Deadline deadline) {
  return deny_list(protocol::DenyListRequest{version, 0, {}}, deadline);
}

Result<protocol::DenyListDelta> Uplink::deny_list(const protocol::DenyListRequest& request, Deadline deadline) {
  if (Status status = impl_->send(request, deadline); !status) return status;
  auto reply = impl_->receive_matching(
      [](const protocol::Message& message) { return std::holds_alternative<protocol::DenyListDelta>(message); },
      deadline);
  if (!reply) return reply.status();
  return std::get<protocol::DenyListDelta>(std::move(reply).value());
}

Status Uplink::heartbeat(std::uint64_t nonce, Deadline deadline) {
  if (Status status = impl_->send(protocol::Heartbeat{nonce}, deadline); !status) return status;
  auto reply = impl_->receive_matching(
      [nonce](const protocol::Message& message) {
        auto* beat = std::get_if<protocol::Heartbeat>(&message);
        return beat != nullptr && beat->nonce == nonce;
      },
      deadline);
  return reply ? Status::ok() : reply.status();
}

}  // namespace citycard::uplink
