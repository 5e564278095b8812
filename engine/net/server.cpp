// The listening side: TLS context, acceptor, the loop thread, and stop.
#include "engine/net/server.h"

#include <algorithm>
#include <future>
#include <thread>
#include <unordered_map>

#include "citycard/realtime.h"
#include "citycard/thread_name.h"
#include "engine/net/connection.h"
#include "engine/net/tls_context.h"

namespace citycard::net {

using boost::system::error_code;

namespace {

AddressKey address_key(const asio::ip::address& address) {
  AddressKey key;
  if (address.is_v4()) {
    key.bytes = asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4()).to_bytes();
    return key;
  }
  asio::ip::address_v6 v6 = address.to_v6();
  auto bytes = v6.to_bytes();
  if (v6.is_v4_mapped()) {
    key.bytes = bytes;
  } else {
    std::copy_n(bytes.begin(), 8, key.bytes.begin());  // one host's /64
  }
  return key;
}

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, TapSink& sink, DenyListSource* deny_list, SSL_CTX* tls)
      : tls_(std::make_unique<asio::ssl::context>(tls)),
        acceptor_(io_),
        core_(std::move(options), sink, deny_list, std::make_shared<LoopHandle>(io_)) {
    core_.trust = SSL_CTX_get_cert_store(tls_->native_handle());
  }

  ~Impl() { core_.loop->detach(); }

  asio::awaitable<void> accept_loop();
  void note_refusal(Refusal refusal, const std::string& from, Clock::time_point now);
  TlsReload install_tls(SSL_CTX* tls);
  void begin_stop();
  void cut_off_all();
  void check_drained();
  void log(const std::string& line) { core_.log(line); }

  asio::io_context io_{1};
  // New connections are made with the current context; one replaced by
  // reload_tls() lives on (OpenSSL counts references) in the connections
  // made with it.
  std::unique_ptr<asio::ssl::context> tls_;
  tcp::acceptor acceptor_;
  ServerCore core_;
  std::uint16_t port_ = 0;
  std::uint64_t fd_limit_ = 0;
  std::thread thread_;
  std::promise<void> loop_finished_;
  // Loop thread only.
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;
  std::uint64_t connection_count_ = 0;
  std::promise<void> drained_;
  bool drained_set_ = false;
  // Refusals at accept since the last line about them: at most one line a second.
  std::array<std::uint64_t, refusal_kinds> refusals_unlogged_{};
  Clock::time_point refusals_logged_at_{};
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
      // Out of file descriptors or similar: pause instead of spinning (the
      // connection waits in the listen backlog meanwhile).
      ++core_.counters.accept_errors;
      log("accept failed: " + ec.message() + "; accepting again in 50 ms");
      pause.expires_after(std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    ++core_.counters.connections_accepted;
    tcp::endpoint peer = socket.remote_endpoint(ec);
    if (ec) {  // gone already
      socket.close(ec);
      continue;
    }
    AddressKey from = address_key(peer.address());
    Refusal refusal =
        core_.admission.admit(from, socket.native_handle(), core_.counters.connections_open.load(), Clock::now());
    if (refusal != Refusal::none) {
      socket.close(ec);
      note_refusal(refusal, peer.address().to_string(), Clock::now());
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto connection = std::make_shared<Connection>(Connection::Stream(std::move(socket), *tls_), core_,
                                                   ++connection_count_, from);
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

void Server::Impl::note_refusal(Refusal refusal, const std::string& from, Clock::time_point now) {
  ++core_.counters.refused[static_cast<std::size_t>(refusal)];
  ++refusals_unlogged_[static_cast<std::size_t>(refusal)];
  if (now - refusals_logged_at_ < std::chrono::seconds(1)) return;
  refusals_logged_at_ = now;
  std::string line = "closed at accept (last from " + from + ", " + refusal_name(refusal) + "):";
  for (std::size_t kind = 1; kind < refusal_kinds; ++kind) {
    if (refusals_unlogged_[kind] == 0) continue;
    line += " " + std::string(refusal_name(static_cast<Refusal>(kind))) + "=" + std::to_string(refusals_unlogged_[kind]);
    refusals_unlogged_[kind] = 0;
  }
  line += "; " + std::to_string(core_.counters.connections_open.load()) + " open, " +
          std::to_string(core_.admission.pending()) + " before hello, fd limit " +
          std::to_string(core_.admission.fd_limit()) + " (reserve " + std::to_string(core_.options.fd_reserve) + ")";
  log(line);
}

TlsReload Server::Impl::install_tls(SSL_CTX* tls) {
  tls_ = std::make_unique<asio::ssl::context>(tls);
  core_.trust = SSL_CTX_get_cert_store(tls);
  ++core_.trust_generation;
  ++core_.counters.trust_reloads;
  TlsReload report;
  for (auto& [key, weak] : connections_) {
    if (auto connection = weak.lock(); connection && connection->close_if_untrusted()) ++report.connections_closed;
  }
  return report;
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
  if (options.pending_connections_max == 0 || options.pending_per_address_max == 0) {
    return Status::invalid_argument("pending_connections_max and pending_per_address_max must be at least 1");
  }
  if (options.realtime && options.realtime->priority() != 0) {
    if (Status allowed = check_realtime_allowed(options.realtime->priority()); !allowed) return allowed;
  }
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
  impl->fd_limit_ = impl->core_.admission.fd_limit();
  Impl* raw = impl.get();
  asio::co_spawn(raw->io_, raw->accept_loop(), asio::detached);
  raw->thread_ = std::thread([raw] {
    name_this_thread("cc-net");
    RealtimeThreads::Member realtime_member;
    if (const auto& realtime = raw->core_.options.realtime) {
      if (Status joined = realtime->join(realtime_member); !joined && raw->core_.options.log) {
        raw->core_.options.log("network loop at the ordinary priority: " + joined.to_string());
      }
    }
    raw->io_.run();
    raw->loop_finished_.set_value();
  });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::~Server() { stop(); }

std::uint16_t Server::port() const noexcept { return impl_->port_; }

ServerStats Server::stats() const {
  const Counters& counters = impl_->core_.counters;
  ServerStats stats;
  stats.connections_accepted = counters.connections_accepted.load();
  stats.connections_open = counters.connections_open.load();
  stats.handshakes_failed = counters.handshakes_failed.load();
  stats.connections_errored = counters.connections_errored.load();
  stats.batches_submitted = counters.batches_submitted.load();
  stats.taps_submitted = counters.taps_submitted.load();
  stats.batches_retry_later = counters.batches_retry_later.load();
  auto refused = [&](Refusal refusal) { return counters.refused[static_cast<std::size_t>(refusal)].load(); };
  stats.refused_connections_max = refused(Refusal::connections_max);
  stats.refused_fd_reserve = refused(Refusal::fd_reserve);
  stats.refused_pending_total = refused(Refusal::pending_total);
  stats.refused_pending_per_address = refused(Refusal::pending_per_address);
  stats.accept_errors = counters.accept_errors.load();
  stats.trust_reloads = counters.trust_reloads.load();
  stats.closed_untrusted = counters.closed_untrusted.load();
  stats.fd_limit = impl_->fd_limit_;
  return stats;
}

Result<TlsReload> Server::reload_tls(const TlsFiles& files, std::chrono::milliseconds timeout) {
  if (impl_->stopped_) return Status::unavailable("the tap server is stopped");
  auto tls = make_server_tls_context(files);
  if (!tls) return tls.status();
  // Made here, put in place on the loop: between two of its handlers, so no
  // handshake is in the middle of a verification.
  auto done = std::make_shared<std::promise<TlsReload>>();
  auto result = done->get_future();
  Impl* impl = impl_.get();
  auto made = std::make_shared<SslContextHandle>(std::move(tls).value());  // freed if the loop never runs it
  asio::post(impl->io_, [impl, done, made] { done->set_value(impl->install_tls(made->release())); });
  if (result.wait_for(timeout) != std::future_status::ready) {
    return Status::unavailable("the tap server's loop did not take the new certificates in time");
  }
  return result.get();
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
