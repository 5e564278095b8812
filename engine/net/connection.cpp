#include "engine/net/connection.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "engine/net/tls_context.h"
#include "engine/pki/pki.h"

namespace citycard::net {

using protocol::ErrorCode;
using boost::system::error_code;

namespace {
auto with(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }
std::string ms(std::chrono::milliseconds value) { return std::to_string(value.count()) + " ms"; }
// Room for the goodbye error frame beyond the replies.
constexpr std::size_t control_frames_max = 16;
}  // namespace

Connection::Connection(Stream stream, ServerCore& core, std::uint64_t number, AddressKey from)
    : stream_(std::move(stream)),
      core_(core),
      number_(number),
      from_(from),
      trust_generation_(core.trust_generation),
      hello_deadline_(Clock::now() + core.options.handshake_timeout),
      watchdog_timer_(stream_.get_executor()),
      output_frames_max_(core.options.inflight_batches_max + control_frames_max) {
  ++core_.counters.connections_open;
}

asio::awaitable<void> Connection::run(std::shared_ptr<Connection> self) {
  auto executor = co_await asio::this_coro::executor;
  set_deadline(hello_deadline_, DeadlineKind::handshake);
  asio::co_spawn(executor, watchdog(self), asio::detached);
  error_code ec;
  co_await stream_.async_handshake(asio::ssl::stream_base::server, with(ec));
  if (ec || phase_ == Phase::closed) {
    ++core_.counters.handshakes_failed;
    long verify = SSL_get_verify_result(stream_.native_handle());
    log("handshake refused: " + (phase_ == Phase::closed ? "timed out after " + ms(core_.options.handshake_timeout)
                                                          : ec.message()) +
        (verify != X509_V_OK ? std::string(" (") + X509_verify_cert_error_string(verify) + ")" : ""));
    close_now();
    co_return;
  }
  phase_ = Phase::open;
  auto reader = pki::reader_id_of(SSL_get0_peer_certificate(stream_.native_handle()));
  std::string untrusted;
  if (trust_generation_ != core_.trust_generation && !trusted_now(untrusted)) {
    // The CA/CRL were reloaded during this handshake, which used the old ones.
    ++core_.counters.closed_untrusted;
    if (reader) reader_ = *reader;
    log("closed after the handshake: the reloaded CA/CRL refuse its certificate (" + untrusted + ")");
    close_now();
    co_return;
  }
  if (!reader) {
    fail(ErrorCode::reader_mismatch, "the client certificate names no reader (URI citycard:reader:N)");
  } else {
    reader_ = *reader;
    if (core_.stopping) drain();
    pump_writes();
    co_await frame_loop();
  }
  if (phase_ == Phase::closing) co_await discard_input();
  close_now();
}

asio::awaitable<void> Connection::frame_loop() {
  // Whatever TLS has decrypted is read into input_ (usually one whole frame
  // per read, often several); frames are taken from its front. One read and
  // one decryption per arrival instead of one each for header and payload.
  error_code ec;
  bool partial = false;  // a frame has begun: the frame deadline runs
  while (phase_ == Phase::open || phase_ == Phase::draining) {
    std::size_t needed = protocol::header_bytes;
    if (buffered_ >= protocol::header_bytes) {
      auto header = protocol::decode_header({input_.data(), protocol::header_bytes});
      if (!header) {
        fail(header.error().code, header.error().message);
        co_return;
      }
      // At most frame_bytes_max: decode_header checks the length.
      needed = protocol::header_bytes + header->payload_bytes;
      if (buffered_ >= needed) {
        auto message = protocol::decode_payload(header.value(), {input_.data() + protocol::header_bytes, header->payload_bytes});
        std::memmove(input_.data(), input_.data() + needed, buffered_ - needed);
        buffered_ -= needed;
        partial = false;
        if (!message) {
          fail(message.error().code, message.error().message);
          co_return;
        }
        if (hello_done_ && header->version != version_) {
          fail(ErrorCode::bad_version, "frame version " + std::to_string(header->version) + " after version " +
                                           std::to_string(version_) + " was agreed");
          co_return;
        }
        dispatch(std::move(message).value());
        continue;
      }
    }
    if (buffered_ == 0) {
      set_frame_deadline(Clock::now() + core_.options.idle_timeout, DeadlineKind::idle);
    } else if (!partial) {
      partial = true;
      set_frame_deadline(Clock::now() + core_.options.frame_timeout, DeadlineKind::frame);
    }
    if (input_.size() < needed) input_.resize(needed);
    const std::size_t got =
        co_await stream_.async_read_some(asio::buffer(input_.data() + buffered_, input_.size() - buffered_), with(ec));
    if (ec || phase_ == Phase::closing || phase_ == Phase::closed) co_return;
    buffered_ += got;
  }
}

asio::awaitable<void> Connection::discard_input() {
  // The peer may still be sending (the rest of an oversized frame); reading
  // it until the peer closes keeps the kernel from answering with a reset
  // that could destroy the error frame before the peer reads it.
  std::array<std::uint8_t, 4096> scratch;
  error_code ec;
  while (phase_ == Phase::closing && !ec) co_await stream_.async_read_some(asio::buffer(scratch), with(ec));
}

void Connection::dispatch(protocol::Message message) {
  using protocol::FrameType;
  FrameType type = protocol::frame_type_of(message);
  if (type == FrameType::hello) return on_hello(std::get<protocol::Hello>(message));
  if (type == FrameType::error) {
    const auto& error = std::get<protocol::ErrorFrame>(message);
    log("reader sent error " + std::string(protocol::error_code_name(error.code)) + ": " + error.message);
    phase_ = Phase::closing;
    set_deadline(Clock::now() + core_.options.write_timeout, DeadlineKind::closing);
    pump_writes();
    return;
  }
  if (!hello_done_) {
    return fail(ErrorCode::unexpected_frame, std::string(protocol::frame_type_name(type)) + " before hello");
  }
  switch (type) {
    case FrameType::tap_batch: return on_tap_batch(std::move(std::get<protocol::TapBatch>(message)));
    case FrameType::deny_list_request: return on_deny_list_request(std::get<protocol::DenyListRequest>(message));
    case FrameType::heartbeat: return send(std::get<protocol::Heartbeat>(message));
    default:
      return fail(ErrorCode::unexpected_frame,
                  std::string(protocol::frame_type_name(type)) + " is an engine-to-reader frame");
  }
}

void Connection::on_hello(const protocol::Hello& hello) {
  if (hello_done_) return fail(ErrorCode::unexpected_frame, "second hello on one connection");
  if (hello.version_max < protocol::protocol_version_min || hello.version_min > protocol::protocol_version) {
    return fail(ErrorCode::unsupported_version,
                "reader speaks versions " + std::to_string(hello.version_min) + ".." +
                    std::to_string(hello.version_max) + ", engine speaks " +
                    std::to_string(protocol::protocol_version_min) + ".." + std::to_string(protocol::protocol_version));
  }
  if (hello.reader != reader_) {
    return fail(ErrorCode::reader_mismatch, "hello claims reader " + std::to_string(hello.reader.value) +
                                                "; the certificate is reader " + std::to_string(reader_.value));
  }
  version_ = std::min(hello.version_max, protocol::protocol_version);
  hello_done_ = true;
  release_pending();
  // The hello deadline is over; a frame already begun keeps its own.
  if (deadline_kind_ == DeadlineKind::hello) set_deadline(Clock::now() + core_.options.idle_timeout, DeadlineKind::idle);
  protocol::HelloAck ack;
  ack.version = version_;
  ack.heartbeat_interval_ms = static_cast<std::uint32_t>(core_.options.heartbeat_interval.count());
  ack.batch_taps_max = static_cast<std::uint16_t>(limits::batch_taps_max);
  ack.inflight_batches_max = core_.options.inflight_batches_max;
  ack.deny_list_version = core_.deny_list ? core_.deny_list->current_version() : 0;
  ack.last_sequence = core_.sink.last_sequence(reader_);
  send(ack);
}

void Connection::on_tap_batch(protocol::TapBatch batch) {
  for (std::size_t i = 0; i < batch.taps.size(); ++i) {
    const TapId& id = batch.taps[i].tap.id;
    if (id.reader != reader_) {
      return fail(ErrorCode::reader_mismatch, "tap " + std::to_string(i) + " (sequence " +
                                                  std::to_string(id.sequence) + ") claims reader " +
                                                  std::to_string(id.reader.value) + "; the certificate is reader " +
                                                  std::to_string(reader_.value) + "; nothing of batch " +
                                                  std::to_string(batch.batch_id) + " was taken");
    }
  }
  auto retry = [&](protocol::RetryReason why) {
    ++core_.counters.batches_retry_later;
    send(protocol::RetryLater{batch.batch_id, core_.options.retry_after_ms, why});
  };
  if (phase_ != Phase::open) return retry(protocol::RetryReason::shutting_down);
  if (inflight_batches_ >= core_.options.inflight_batches_max) return retry(protocol::RetryReason::connection_busy);
  ++inflight_batches_;
  ++core_.counters.batches_submitted;
  core_.counters.taps_submitted += batch.taps.size();
  std::weak_ptr<Connection> weak = weak_from_this();
  std::shared_ptr<LoopHandle> loop = core_.loop;
  std::uint64_t batch_id = batch.batch_id;
  std::size_t tap_count = batch.taps.size();
  core_.sink.submit(reader_, std::move(batch.taps), [loop, weak, batch_id, tap_count](SubmitResult result) {
    loop->post([weak, batch_id, tap_count, result = std::move(result)]() mutable {
      if (auto self = weak.lock()) self->on_decided(batch_id, tap_count, std::move(result));
    });
  });
}

void Connection::on_deny_list_request(const protocol::DenyListRequest& request) {
  if (core_.deny_list == nullptr) {
    return send(protocol::DenyListDelta{request.from_version, request.from_version, 0, {}, {}});
  }
  // One frame per request, like every other request: a snapshot of any size
  // comes in pages the reader asks for one at a time, so it takes no more
  // room in the bounded output queue than a heartbeat, and decisions
  // interleave with it.
  send(core_.deny_list->answer(request, protocol::deny_cards_max));
}

void Connection::on_decided(std::uint64_t batch_id, std::size_t tap_count, SubmitResult result) {
  if (inflight_batches_ > 0) --inflight_batches_;
  if (phase_ == Phase::closing || phase_ == Phase::closed) return;
  if (result.kind == SubmitResult::Kind::busy || result.kind == SubmitResult::Kind::storage_unavailable) {
    ++core_.counters.batches_retry_later;
    std::uint32_t after = result.retry_after_ms ? result.retry_after_ms : core_.options.retry_after_ms;
    send(protocol::RetryLater{batch_id, after,
                              result.kind == SubmitResult::Kind::busy ? protocol::RetryReason::engine_busy
                                                                      : protocol::RetryReason::storage_unavailable});
  } else if (result.decisions.size() != tap_count) {
    fail(ErrorCode::internal, "the engine answered " + std::to_string(result.decisions.size()) + " decisions for " +
                                  std::to_string(tap_count) + " taps of batch " + std::to_string(batch_id));
  } else {
    send(protocol::Decisions{batch_id, std::move(result.decisions)});
  }
  maybe_finish_drain();
}

void Connection::send(const protocol::Message& message) {
  if (phase_ == Phase::closing || phase_ == Phase::closed) return;
  auto frame = protocol::encode(message, version_);
  if (!frame) {
    return fail(ErrorCode::internal, "cannot encode " + std::string(protocol::frame_type_name(protocol::frame_type_of(message))) +
                                         ": " + frame.error().message);
  }
  if (output_.size() >= output_frames_max_) {
    // The reader keeps sending but does not read its replies.
    ++core_.counters.connections_errored;
    log("closed: " + std::to_string(output_.size()) + " replies unread");
    return close_now();
  }
  output_.push_back(std::move(frame).value());
  pump_writes();
}

void Connection::fail(ErrorCode code, std::string message) {
  if (phase_ == Phase::closing || phase_ == Phase::closed) return;
  if (code != ErrorCode::shutting_down) {
    ++core_.counters.connections_errored;
    log("closed with error " + std::string(protocol::error_code_name(code)) + ": " + message);
  }
  auto frame = protocol::encode(protocol::ErrorFrame{code, std::move(message)}, version_);
  if (frame) output_.push_back(std::move(frame).value());
  phase_ = Phase::closing;
  set_deadline(Clock::now() + core_.options.write_timeout, DeadlineKind::closing);
  pump_writes();
}

void Connection::drain() {
  if (phase_ == Phase::handshaking) return close_now();
  if (phase_ != Phase::open) return;
  phase_ = Phase::draining;
  maybe_finish_drain();
}

void Connection::cut_off() { close_now(); }

bool Connection::trusted_now(std::string& why) {
  Status verified = verify_peer_again(stream_.native_handle(), core_.trust);
  trust_generation_ = core_.trust_generation;
  if (verified) return true;
  why = verified.message();
  return false;
}

bool Connection::close_if_untrusted() {
  if (phase_ != Phase::open && phase_ != Phase::draining) return false;
  std::string why;
  if (trusted_now(why)) return false;
  ++core_.counters.closed_untrusted;
  // Nothing is said to a peer no longer trusted: its next handshake is
  // refused with the reason.
  log("closed: the reloaded CA/CRL refuse its certificate (" + why + ")");
  close_now();
  return true;
}

void Connection::maybe_finish_drain() {
  if (phase_ == Phase::draining && inflight_batches_ == 0 && output_.empty() && !writing_) {
    fail(ErrorCode::shutting_down, "the engine is stopping; reconnect later");
  }
}

void Connection::pump_writes() {
  // Not before the handshake, and one write at a time.
  if (phase_ == Phase::handshaking || phase_ == Phase::closed || writing_) return;
  if (output_.empty()) {
    if (phase_ == Phase::closing && !send_side_shut_) {
      // Goodbye sent: half-close so the peer reads it, then sees the end.
      send_side_shut_ = true;
      error_code ignored;
      stream_.lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
    }
    return;
  }
  // Everything queued goes out in one write, started here and now (no turn
  // of the loop in between): replies that completed together share TLS
  // records and system calls.
  writing_frames_.clear();
  writing_buffers_.clear();
  while (!output_.empty()) {
    writing_frames_.push_back(std::move(output_.front()));
    output_.pop_front();
  }
  for (const auto& frame : writing_frames_) writing_buffers_.push_back(asio::buffer(frame));
  writing_ = true;
  write_deadline_ = Clock::now() + core_.options.write_timeout;
  if (write_deadline_ < watchdog_timer_.expiry()) watchdog_timer_.cancel();
  asio::async_write(stream_, writing_buffers_, [self = shared_from_this()](error_code ec, std::size_t) {
    self->writing_ = false;
    self->write_deadline_ = Clock::time_point::max();
    if (ec) return self->close_now();
    self->maybe_finish_drain();
    self->pump_writes();
  });
}

asio::awaitable<void> Connection::watchdog(std::shared_ptr<Connection> self) {
  error_code ec;
  while (phase_ != Phase::closed) {
    Clock::time_point now = Clock::now();
    if (writing_ && now >= write_deadline_) {
      ++core_.counters.connections_errored;
      log("closed: a write did not finish within " + ms(core_.options.write_timeout));
      close_now();
      break;
    }
    if (now >= deadline_) {
      switch (phase_) {
        case Phase::handshaking:
        case Phase::closing: close_now(); break;
        case Phase::open:
        case Phase::draining:
          fail(ErrorCode::timeout,
               deadline_kind_ == DeadlineKind::hello
                   ? "no hello within handshake_timeout (" + ms(core_.options.handshake_timeout) + " from accept)"
               : deadline_kind_ == DeadlineKind::idle ? "no frame within " + ms(core_.options.idle_timeout)
                                                      : "frame not complete within " + ms(core_.options.frame_timeout));
          break;
        case Phase::closed: break;
      }
      continue;
    }
    watchdog_timer_.expires_at(std::min(deadline_, write_deadline_));
    co_await watchdog_timer_.async_wait(with(ec));
  }
  (void)self;
}

void Connection::set_deadline(Clock::time_point deadline, DeadlineKind kind) {
  deadline_ = deadline;
  deadline_kind_ = kind;
  if (deadline < watchdog_timer_.expiry()) watchdog_timer_.cancel();
}

void Connection::set_frame_deadline(Clock::time_point deadline, DeadlineKind kind) {
  if (!hello_done_ && hello_deadline_ <= deadline) return set_deadline(hello_deadline_, DeadlineKind::hello);
  set_deadline(deadline, kind);
}

void Connection::release_pending() {
  if (!pending_) return;
  pending_ = false;
  core_.admission.release(from_);
}

void Connection::close_now() {
  if (phase_ == Phase::closed) return;
  phase_ = Phase::closed;
  release_pending();
  error_code ignored;
  stream_.lowest_layer().close(ignored);
  watchdog_timer_.cancel();
  --core_.counters.connections_open;
}

void Connection::log(const std::string& line) const {
  if (!core_.options.log) return;
  std::string prefix = "connection " + std::to_string(number_);
  if (reader_.value != 0) prefix += " (reader " + std::to_string(reader_.value) + ")";
  core_.log(prefix + ": " + line);
}

}  // namespace citycard::net
