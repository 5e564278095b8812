// One simulated reader's asynchronous TLS connection to the engine, for the
// load driver (tls_load.cpp): TCP + TLS 1.3 with the reader's certificate
// (readers/uplink/client_tls.h, as Uplink does it) + hello / hello_ack, then
// frames in both directions (docs/protocol.md, protocol/codec.h).
//
// Runs on one io_context and is used from its thread only. The owner hears
// of everything through LinkOwner, on that thread:
// - on_connected once per start(): the hello_ack, or why the connection
//   could not be made by the deadline (unavailable; or the engine's error
//   frame as its status, e.g. refused for reader_mismatch);
// - on_frame for every well-formed frame after the hello_ack, error frames
//   included (the engine closes after one: so does the owner);
// - on_lost once when the connection ends: broken (I/O error, end of
//   stream, a write that failed) or bad_frame (the engine's bytes break the
//   protocol: bad header, checksum, grammar, version, over a limit).
// close() ends the connection and silences the link: no call reaches the
// owner after it. Pending operations keep the link alive (shared_from_this)
// until they finish, so the owner may drop its pointer at any time.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "readers/uplink/asio.h"
// After readers/uplink/asio.h, which includes <utility> first (Boost 1.74).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "citycard/status.h"
#include "protocol/messages.h"

namespace citycard::loadgen {

class ReaderLink;

enum class LinkEnd : std::uint8_t {
  broken,     // the connection failed or the engine closed it
  bad_frame,  // the engine sent bytes that break the protocol
};

class LinkOwner {
 public:
  virtual void on_connected(ReaderLink& link, Result<protocol::HelloAck> session) = 0;
  virtual void on_frame(ReaderLink& link, protocol::Message message) = 0;
  virtual void on_lost(ReaderLink& link, LinkEnd why, const std::string& what) = 0;

 protected:
  ~LinkOwner() = default;
};

class ReaderLink : public std::enable_shared_from_this<ReaderLink> {
 public:
  static constexpr std::size_t input_bytes_first = 4096;
  using Clock = std::chrono::steady_clock;
  using Endpoints = boost::asio::ip::tcp::resolver::results_type;

  // tls must outlive the link (the reader's context: its certificate).
  ReaderLink(boost::asio::io_context& io, boost::asio::ssl::context& tls, LinkOwner& owner);
  ReaderLink(const ReaderLink&) = delete;
  ReaderLink& operator=(const ReaderLink&) = delete;

  // Connects, handshakes (the engine certificate must name server_name) and
  // says hello; on_connected by the deadline. Once per link.
  void start(Endpoints endpoints, std::string server_name, protocol::Hello hello, Clock::time_point deadline);
  // Queues one frame (in the agreed version); frames go out in order. After
  // on_connected succeeded; ignored once the link has ended.
  void send(const protocol::Message& message);
  void close() noexcept;

 private:
  boost::asio::awaitable<void> run(std::shared_ptr<ReaderLink> self, Endpoints endpoints, std::string server_name,
                                   protocol::Hello hello);
  // The next frame: header, then payload, each checked by the codec. ok, or
  // the status of what went wrong (LinkEnd in `why`).
  boost::asio::awaitable<Status> read_frame(protocol::Message& out, LinkEnd& why);
  void write_next();
  void end(LinkEnd why, const std::string& what);

  LinkOwner* owner_;  // null once ended or closed
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
  boost::asio::steady_timer deadline_;  // the connect's
  bool connecting_ = false;
  bool timed_out_ = false;
  std::uint8_t version_ = protocol::protocol_version;  // hello frames carry 1; then the agreed one
  std::vector<std::uint8_t> input_ = std::vector<std::uint8_t>(input_bytes_first);  // grows to the largest frame seen
  std::size_t buffered_ = 0;  // bytes of input_ read, not yet taken as frames
  std::deque<std::vector<std::uint8_t>> output_;
  bool writing_ = false;
};

}  // namespace citycard::loadgen
