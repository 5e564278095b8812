#include "reader_link.h"

#include <cstring>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "protocol/codec.h"
#include "readers/uplink/client_tls.h"

namespace citycard::loadgen {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
auto with(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }
}  // namespace

ReaderLink::ReaderLink(asio::io_context& io, asio::ssl::context& tls, LinkOwner& owner)
    : owner_(&owner), stream_(io, tls), deadline_(io) {}

void ReaderLink::start(Endpoints endpoints, std::string server_name, protocol::Hello hello,
                       Clock::time_point deadline) {
  connecting_ = true;
  // Too slow: closing the socket fails whatever step the connect is in.
  deadline_.expires_at(deadline);
  deadline_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || !self->connecting_) return;
    self->timed_out_ = true;
    error_code ignored;
    self->stream_.lowest_layer().close(ignored);
  });
  asio::co_spawn(stream_.get_executor(),
                 run(shared_from_this(), std::move(endpoints), std::move(server_name), std::move(hello)),
                 asio::detached);
}

// self keeps the link alive as long as the coroutine runs.
asio::awaitable<void> ReaderLink::run([[maybe_unused]] std::shared_ptr<ReaderLink> self, Endpoints endpoints,
                                      std::string server_name, protocol::Hello hello) {
  // The connect, reported once as on_connected.
  auto refuse = [this](Status why) {
    connecting_ = false;
    deadline_.cancel();
    LinkOwner* owner = owner_;
    close();
    if (owner != nullptr) owner->on_connected(*this, std::move(why));
  };
  const std::string engine = endpoints.empty() ? std::string("?")
                                               : endpoints.begin()->endpoint().address().to_string() + ":" +
                                                     std::to_string(endpoints.begin()->endpoint().port());
  auto lost = [&](const std::string& what, const error_code& ec) {
    return Status::unavailable(what + " (engine " + engine + "): " + (timed_out_ ? "timed out" : ec.message()));
  };
  error_code ec;
  uplink::expect_server_name(stream_.native_handle(), server_name);
  co_await asio::async_connect(stream_.lowest_layer(), endpoints, with(ec));
  if (ec || owner_ == nullptr) co_return refuse(lost("cannot connect", ec));
  stream_.lowest_layer().set_option(tcp::no_delay(true), ec);
  co_await stream_.async_handshake(asio::ssl::stream_base::client, with(ec));
  if (ec || owner_ == nullptr) co_return refuse(lost("TLS handshake failed", ec));
  auto frame = protocol::encode(hello, protocol::protocol_version);
  if (!frame) co_return refuse(frame.error().to_status());
  co_await asio::async_write(stream_, asio::buffer(frame.value()), with(ec));
  if (ec || owner_ == nullptr) co_return refuse(lost("cannot send hello", ec));
  protocol::Message reply;
  LinkEnd why = LinkEnd::broken;
  Status read = co_await read_frame(reply, why);
  if (owner_ == nullptr) co_return;  // closed meanwhile: nobody to tell
  if (!read) {
    co_return refuse(timed_out_ ? lost("no hello_ack", {}) : Status::unavailable("no hello_ack: " + read.to_string()));
  }
  auto* ack = std::get_if<protocol::HelloAck>(&reply);
  if (ack == nullptr) {
    if (auto* error = std::get_if<protocol::ErrorFrame>(&reply)) {
      co_return refuse(protocol::ProtocolError{error->code, "engine refused hello: " + error->message}.to_status());
    }
    co_return refuse(Status::invalid_argument(
        "engine answered hello with " + std::string(protocol::frame_type_name(protocol::frame_type_of(reply)))));
  }
  connecting_ = false;
  deadline_.cancel();
  version_ = ack->version;
  owner_->on_connected(*this, *ack);
  // Then every frame the engine sends, until the link ends.
  while (owner_ != nullptr) {
    protocol::Message message;
    Status status = co_await read_frame(message, why);
    if (owner_ == nullptr) co_return;
    if (!status) co_return end(why, status.to_string());
    owner_->on_frame(*this, std::move(message));
  }
}

asio::awaitable<Status> ReaderLink::read_frame(protocol::Message& out, LinkEnd& why) {
  // Whatever TLS has decrypted is read into input_ (usually one whole frame
  // per read); frames are taken from its front.
  for (;;) {
    if (buffered_ >= protocol::header_bytes) {
      auto header = protocol::decode_header({input_.data(), protocol::header_bytes});
      why = LinkEnd::bad_frame;
      if (!header) co_return header.error().to_status();
      if (!connecting_ && header->version != version_) {
        co_return protocol::ProtocolError{protocol::ErrorCode::bad_version,
                                          "frame version " + std::to_string(header->version) + " after version " +
                                              std::to_string(version_) + " was agreed"}
            .to_status();
      }
      // At most frame_bytes_max: decode_header checks the length.
      const std::size_t frame_bytes = protocol::header_bytes + header->payload_bytes;
      if (buffered_ >= frame_bytes) {
        auto message =
            protocol::decode_payload(header.value(), {input_.data() + protocol::header_bytes, header->payload_bytes});
        std::memmove(input_.data(), input_.data() + frame_bytes, buffered_ - frame_bytes);
        buffered_ -= frame_bytes;
        if (!message) co_return message.error().to_status();
        out = std::move(message).value();
        co_return Status::ok();
      }
      if (input_.size() < frame_bytes) input_.resize(frame_bytes);
    }
    error_code ec;
    why = LinkEnd::broken;
    const std::size_t got =
        co_await stream_.async_read_some(asio::buffer(input_.data() + buffered_, input_.size() - buffered_), with(ec));
    if (ec) {
      const char* what = buffered_ > 0 ? "frame from the engine cut short: " : "no frame from the engine: ";
      co_return Status::unavailable(what + ec.message());
    }
    buffered_ += got;
  }
}

void ReaderLink::send(const protocol::Message& message) {
  if (owner_ == nullptr || connecting_) return;
  auto frame = protocol::encode(message, version_);
  if (!frame) return end(LinkEnd::bad_frame, "cannot encode " +
                                                 std::string(protocol::frame_type_name(protocol::frame_type_of(message))) +
                                                 ": " + frame.error().message);
  output_.push_back(std::move(frame).value());
  if (!writing_) write_next();
}

void ReaderLink::write_next() {
  writing_ = true;
  // output_.front() stays put while later frames are queued (deque).
  asio::async_write(stream_, asio::buffer(output_.front()), [self = shared_from_this()](error_code ec, std::size_t) {
    self->output_.pop_front();
    if (ec) {
      self->writing_ = false;
      return self->end(LinkEnd::broken, "send failed: " + ec.message());
    }
    if (self->output_.empty() || self->owner_ == nullptr) {
      self->writing_ = false;
      return;
    }
    self->write_next();
  });
}

void ReaderLink::end(LinkEnd why, const std::string& what) {
  LinkOwner* owner = owner_;
  close();
  if (owner != nullptr) owner->on_lost(*this, why, what);
}

void ReaderLink::close() noexcept {
  owner_ = nullptr;
  connecting_ = false;
  error_code ignored;
  deadline_.cancel();
  stream_.lowest_layer().close(ignored);
}

}  // namespace citycard::loadgen
