// A PC/SC Lite client for the reader device: wait for a card, connect (T=1),
// exchange APDUs. Every wait has a deadline; every PC/SC failure, including a
// card pulled away mid-exchange, comes back as a Status, never an exception.
//
// Not thread-safe: one Context (and its Connections) per thread, as PC/SC
// Lite requires for SCARDCONTEXT.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "session/reader_session.h"
#include "citycard/status.h"

namespace citycard::pcsc {

using Clock = std::chrono::steady_clock;

enum class Disposition { leave, reset, unpower };

// A connected card. transmit() is the CardTransport the reader session runs on.
class Connection final : public card::CardTransport {
 public:
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;
  ~Connection() override;   // disconnects with Disposition::leave if still connected

  // unavailable when the card left the field (SCARD_W_REMOVED_CARD,
  // SCARD_E_NOT_TRANSACTED, ...); a 0- or 1-byte answer is returned as is and
  // card::parse_response() reports it as "card lost".
  Result<card::Bytes> transmit(card::ByteView command) override;
  Status disconnect(Disposition disposition);

 private:
  friend class Context;
  Connection(long handle, std::string reader) : handle_(handle), reader_(std::move(reader)) {}
  long handle_ = 0;   // SCARDHANDLE
  bool connected_ = true;
  std::string reader_;
};

class Context {
 public:
  // unavailable if pcscd is not running.
  static Result<Context> establish();
  Context(Context&& other) noexcept;
  Context& operator=(Context&&) = delete;
  Context(const Context&) = delete;
  ~Context();

  Result<std::vector<std::string>> list_readers();
  // true once a card is present in reader (already present counts), false if
  // deadline passed first. not_found if pcscd does not know the reader.
  Result<bool> wait_for_card(const std::string& reader, Clock::time_point deadline);
  // true once reader is empty, false if deadline passed first.
  Result<bool> wait_for_removal(const std::string& reader, Clock::time_point deadline);
  // Connects with protocol T=1. unavailable if the card has gone.
  Result<Connection> connect(const std::string& reader);

 private:
  explicit Context(long context) : context_(context) {}
  Result<bool> wait_for(const std::string& reader, bool want_present, Clock::time_point deadline);
  long context_ = 0;  // SCARDCONTEXT
  bool valid_ = true;
};

// "SCardTransmit: Card was removed. (0x80100069)" with the code classified:
// unavailable for card/reader/service loss, io_error otherwise.
Status pcsc_status(const char* call, long code);

}  // namespace citycard::pcsc
