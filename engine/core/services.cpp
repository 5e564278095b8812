#include "services.h"

#include <sys/stat.h>

#include <filesystem>
#include <list>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>

#include "admin_access.h"
#include "admin_api.h"

namespace citycard::engine {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using local_stream = asio::local::stream_protocol;

namespace {
constexpr std::size_t line_bytes_max = 64 * 1024;
constexpr std::size_t http_request_bytes_max = 8 * 1024;
constexpr std::chrono::seconds http_timeout{5};
constexpr std::chrono::seconds action_timeout{30};
constexpr std::chrono::milliseconds accept_error_pause{50};

awaitable<void> pause_after_accept_error(asio::io_context& io) {
  asio::steady_timer pause(io, accept_error_pause);
  boost::system::error_code ignored;
  co_await pause.async_wait(asio::redirect_error(use_awaitable, ignored));
}
}  // namespace

class Services::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, ServicesOptions options, Engine& engine, ledger::Ledger& ledger, Metrics& metrics,
       std::function<Gauges()> gauges, Log& log)
      : io_(io),
        options_(std::move(options)),
        api_(engine, ledger),
        metrics_(metrics),
        gauges_(std::move(gauges)),
        log_(log),
        admin_acceptor_(io),
        metrics_acceptor_(io) {
    api_.set_reload_pki(options_.reload_pki);
    api_.set_settle(options_.settle);
    api_.set_records_retention(options_.records_retention, options_.records_token_key_file);
  }

  Status open() {
    boost::system::error_code error;
    std::filesystem::remove(options_.admin_socket, error_as_std_);
    admin_acceptor_.open(local_stream(), error);
    if (!error) admin_acceptor_.bind(local_stream::endpoint(options_.admin_socket), error);
    if (!error) ::chmod(options_.admin_socket.c_str(), 0600);
    if (!error) admin_acceptor_.listen(asio::socket_base::max_listen_connections, error);
    if (error) return Status::io_error("admin socket " + options_.admin_socket + ": " + error.message());
    if (options_.metrics_enabled) {
      auto address = asio::ip::make_address(options_.metrics_address, error);
      if (error) return Status::invalid_argument("metrics address " + options_.metrics_address + ": " + error.message());
      asio::ip::tcp::endpoint endpoint(address, options_.metrics_port);
      metrics_acceptor_.open(endpoint.protocol(), error);
      if (!error) metrics_acceptor_.set_option(asio::socket_base::reuse_address(true), error);
      if (!error) metrics_acceptor_.bind(endpoint, error);
      if (!error) metrics_acceptor_.listen(asio::socket_base::max_listen_connections, error);
      if (error) return Status::io_error("metrics port " + std::to_string(options_.metrics_port) + ": " + error.message());
      metrics_port_ = metrics_acceptor_.local_endpoint().port();
    }
    auto self = shared_from_this();
    asio::co_spawn(io_, accept_admin(self), asio::detached);
    if (options_.metrics_enabled) asio::co_spawn(io_, accept_metrics(self), asio::detached);
    return Status::ok();
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ignored;
    admin_acceptor_.close(ignored);
    metrics_acceptor_.close(ignored);
    for (auto& weak : admin_sockets_) {
      if (auto socket = weak.lock()) socket->close(ignored);
    }
    std::filesystem::remove(options_.admin_socket, error_as_std_);
  }

  std::uint16_t metrics_port_ = 0;

 private:
  static awaitable<void> accept_admin(std::shared_ptr<Impl> self) {
    for (;;) {
      boost::system::error_code error;
      auto socket = std::make_shared<local_stream::socket>(self->io_);
      co_await self->admin_acceptor_.async_accept(*socket, asio::redirect_error(use_awaitable, error));
      if (error) {
        if (self->stopped_) co_return;
        co_await pause_after_accept_error(self->io_);  // out of descriptors: do not spin
        continue;
      }
      self->admin_sockets_.remove_if([](const auto& weak) { return weak.expired(); });
      self->admin_sockets_.push_back(socket);
      asio::co_spawn(self->io_, admin_session(self, socket), asio::detached);
    }
  }

  // One JSON object per line in, one per line out, in order.
  static awaitable<void> admin_session(std::shared_ptr<Impl> self, std::shared_ptr<local_stream::socket> socket) {
    asio::streambuf buffer(line_bytes_max);
    asio::steady_timer deadline(self->io_);
    AdminSession session(self->options_.pki_dir);
    for (;;) {
      boost::system::error_code error;
      deadline.expires_after(self->options_.admin_idle_timeout);
      deadline.async_wait([socket](boost::system::error_code ec) {
        if (!ec) socket->close(ec);
      });
      std::size_t bytes = co_await asio::async_read_until(*socket, buffer, '\n', asio::redirect_error(use_awaitable, error));
      deadline.cancel();
      if (error) co_return;  // closed, timed out, or a line over 64 KiB
      std::string line(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(bytes));
      buffer.consume(bytes);
      nlohmann::json reply = co_await self->answer(line, session);
      std::string out = reply.dump() + "\n";
      deadline.expires_after(http_timeout);
      deadline.async_wait([socket](boost::system::error_code ec) {
        if (!ec) socket->close(ec);
      });
      co_await asio::async_write(*socket, asio::buffer(out), asio::redirect_error(use_awaitable, error));
      deadline.cancel();
      if (error) co_return;
    }
  }

  // Waits for the API's reply, which may come from a shard thread.
  awaitable<nlohmann::json> answer(const std::string& line, AdminSession& session) {
    struct Pending {
      explicit Pending(asio::io_context& io) : timer(io) {}
      asio::steady_timer timer;
      nlohmann::json reply;
      bool ready = false;
    };
    auto pending = std::make_shared<Pending>(io_);
    pending->timer.expires_after(action_timeout);
    nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
    if (request.is_discarded()) {
      co_return error_reply(Status::invalid_argument("the line is not JSON"));
    }
    if (auto signed_in = session.sign_in_step(request)) co_return *signed_in;
    auto done = [pending, &io = io_](nlohmann::json reply) {
      asio::post(io, [pending, reply = std::move(reply)]() mutable {
        pending->reply = std::move(reply);
        pending->ready = true;
        pending->timer.cancel();
      });
    };
    const Clerk* clerk = session.clerk() ? &*session.clerk() : nullptr;
    if (Status allowed = session.allow(admin_op_of(request)); !allowed) {
      // Nobody signed in: no one to name in the trail.
      if (clerk == nullptr) co_return error_reply(allowed);
      api_.refuse(request, *clerk, allowed, std::move(done));  // audited, then answered
    } else {
      api_.handle(request, clerk, std::move(done));
    }
    boost::system::error_code error;
    if (!pending->ready) co_await pending->timer.async_wait(asio::redirect_error(use_awaitable, error));
    if (!pending->ready) co_return error_reply(Status::unavailable("the engine did not answer in time"));
    co_return pending->reply;
  }

  static awaitable<void> accept_metrics(std::shared_ptr<Impl> self) {
    for (;;) {
      boost::system::error_code error;
      auto socket = std::make_shared<asio::ip::tcp::socket>(self->io_);
      co_await self->metrics_acceptor_.async_accept(*socket, asio::redirect_error(use_awaitable, error));
      if (error) {
        if (self->stopped_) co_return;
        co_await pause_after_accept_error(self->io_);
        continue;
      }
      asio::co_spawn(self->io_, metrics_session(self, socket), asio::detached);
    }
  }

  static awaitable<void> metrics_session(std::shared_ptr<Impl> self, std::shared_ptr<asio::ip::tcp::socket> socket) {
    asio::streambuf buffer(http_request_bytes_max);
    asio::steady_timer deadline(self->io_);
    deadline.expires_after(http_timeout);
    deadline.async_wait([socket](boost::system::error_code ec) {
      if (!ec) socket->close(ec);
    });
    boost::system::error_code error;
    co_await asio::async_read_until(*socket, buffer, "\r\n\r\n", asio::redirect_error(use_awaitable, error));
    if (error) co_return;
    std::string request(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
    std::string body;
    std::string status = "200 OK";
    std::string type = "text/plain; version=0.0.4; charset=utf-8";
    if (request.rfind("GET /metrics ", 0) == 0 || request.rfind("GET /metrics?", 0) == 0) {
      body = self->metrics_.render(self->gauges_());
    } else if (request.rfind("GET / ", 0) == 0) {
      body = "citycard-engine: see /metrics\n";
    } else {
      status = "404 Not Found";
      body = "not found\n";
    }
    std::string response = "HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    co_await asio::async_write(*socket, asio::buffer(response), asio::redirect_error(use_awaitable, error));
    deadline.cancel();
    socket->shutdown(asio::ip::tcp::socket::shutdown_both, error);
    socket->close(error);
  }

  asio::io_context& io_;
  ServicesOptions options_;
  AdminApi api_;
  Metrics& metrics_;
  std::function<Gauges()> gauges_;
  Log& log_;
  local_stream::acceptor admin_acceptor_;
  asio::ip::tcp::acceptor metrics_acceptor_;
  std::list<std::weak_ptr<local_stream::socket>> admin_sockets_;
  std::error_code error_as_std_;
  bool stopped_ = false;
};

Result<std::unique_ptr<Services>> Services::start(asio::io_context& io, ServicesOptions options, Engine& engine,
                                                  ledger::Ledger& ledger, Metrics& metrics, std::function<Gauges()> gauges,
                                                  Log& log) {
  auto impl = std::make_shared<Impl>(io, std::move(options), engine, ledger, metrics, std::move(gauges), log);
  if (Status opened = impl->open(); !opened) return opened;
  return std::unique_ptr<Services>(new Services(std::move(impl)));
}

Services::Services(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Services::~Services() { stop(); }
std::uint16_t Services::metrics_port() const noexcept { return impl_->metrics_port_; }
void Services::stop() { impl_->stop(); }

}  // namespace citycard::engine
