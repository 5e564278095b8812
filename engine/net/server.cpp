// The listening side: TLS context, acceptor, the loop thread, and stop.
#include "engine/net/server.h"

#include <future>
#include <thread>
#include <unordered_map>

#include "engine/core/thread_name.h"
#include "engine/net/connection.h"
#include "engine/net/tls_context.h"

namespace citycard::net {

using boost::system::error_code;

class Server::Impl {
 public:
  Impl(ServerOptions options, TapSink& sink, DenyListSource* deny_list, SSL_CTX* tls)
      : tls_(tls),
        acceptor_(io_),
        core_{std::move(options), sink, deny_list, std::make_shared<LoopHandle>(io_), {}, false} {}

  ~Impl() { core_.loop->detach(); }

  asio::awaitable<void> accept_loop();
  void begin_stop();
  void cut_off_all();
  void check_drained();
  void log(const std::string& line) const {
    if (core_.options.log) core_.options.log(line);
  }

  asio::io_context io_{1};
  asio::ssl::context tls_;
  tcp::acceptor acceptor_;
  ServerCore core_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::promise<void> loop_finished_;
  // Loop thread only.
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;
  std::uint64_t connection_count_ = 0;
  std::promise<void> drained_;
  bool drained_set_ = false;
  // Caller threads only.
  bool stopped_ = false;
};

asio::awaitable<void> Server::Impl::accept_loop() {
  asio::steady_timer pause(io_);
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (core_.stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of file descriptors or similar: pause instead of spinning.
      log("accept failed: " + ec.message());
      pause.expires_after(std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    ++core_.counters.connections_accepted;
    if (connections_.size() >= core_.options.connections_max) {
      log("refused a connection: " + std::to_string(connections_.size()) + " open (connections_max)");
      socket.close(ec);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto connection = std::make_shared<Connection>(Connection::Stream(std::move(socket), tls_), core_,
                                                   ++connection_count_);
    Connection* key = connection.get();
    connections_.emplace(key, connection);
    asio::co_spawn(io_, connection->run(connection), [this, key](std::exception_ptr failure) {
      if (failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& error) {
          log("connection failed: " + std::string(error.what()));
        }
      }
      connections_.erase(key);
      check_drained();
    });
  }
}

void Server::Impl::begin_stop() {
  core_.stopping = true;
  error_code ignored;
  acceptor_.close(ignored);
  for (auto& [key, weak] : connections_) {
    if (auto connection = weak.lock()) connection->drain();
  }
  check_drained();
}

void Server::Impl::cut_off_all() {
  for (auto& [key, weak] : connections_) {
    if (auto connection = weak.lock()) connection->cut_off();
  }
}

void Server::Impl::check_drained() {
  if (core_.stopping && connections_.empty() && !drained_set_) {
    drained_set_ = true;
    drained_.set_value();
  }
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, TapSink& sink, DenyListSource* deny_list) {
  if (options.heartbeat_interval >= options.idle_timeout) {
    return Status::invalid_argument("heartbeat_interval must be shorter than idle_timeout");
  }
  if (options.inflight_batches_max == 0) return Status::invalid_argument("inflight_batches_max must be at least 1");
  auto tls = make_server_tls_context(options.tls);
  if (!tls) return tls.status();
  auto impl = std::make_unique<Impl>(std::move(options), sink, deny_list, std::move(tls).value().release());
  const ServerOptions& settings = impl->core_.options;
  error_code ec;
  auto address = asio::ip::make_address(settings.address, ec);
  if (ec) return Status::invalid_argument("listen address '" + settings.address + "': " + ec.message());
  tcp::endpoint endpoint(address, settings.port);
  tcp::acceptor& acceptor = impl->acceptor_;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::io_error("cannot listen on " + settings.address + ":" + std::to_string(settings.port) + ": " +
                            ec.message());
  }
  impl->port_ = acceptor.local_endpoint().port();
  Impl* raw = impl.get();
  asio::co_spawn(raw->io_, raw->accept_loop(), asio::detached);
  raw->thread_ = std::thread([raw] {
    engine::name_this_thread("cc-net");
    raw->io_.run();
    raw->loop_finished_.set_value();
  });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::~Server() { stop(); }

std::uint16_t Server::port() const noexcept { return impl_->port_; }

ServerStats Server::stats() const {
  const Counters& counters = impl_->core_.counters;
  return ServerStats{counters.connections_accepted.load(), counters.connections_open.load(),
                     counters.handshakes_failed.load(),    counters.connections_errored.load(),
                     counters.batches_submitted.load(),    counters.taps_submitted.load(),
                     counters.batches_retry_later.load()};
}

void Server::stop(std::chrono::milliseconds drain_timeout) {
  if (impl_->stopped_) return;
  impl_->stopped_ = true;
  Impl* impl = impl_.get();
  auto drained = impl->drained_.get_future();
  asio::post(impl->io_, [impl] { impl->begin_stop(); });
  if (drained.wait_for(drain_timeout) == std::future_status::timeout) {
    asio::post(impl->io_, [impl] { impl->cut_off_all(); });
  }
  // Once every connection is closed the loop runs out of work and returns.
  // The bound is a safety net against a handler that never completes.
  auto finished = impl->loop_finished_.get_future();
  if (finished.wait_for(drain_timeout + std::chrono::seconds(2)) == std::future_status::timeout) impl->io_.stop();
  impl->thread_.join();
  impl->core_.loop->detach();
}

}  // namespace citycard::net
