#include "pcsc.h"

#include <winscard.h>
#include <wintypes.h>

#include <fmt/format.h>

#include <algorithm>

namespace citycard::pcsc {

static_assert(sizeof(long) == sizeof(SCARDCONTEXT) && sizeof(long) == sizeof(SCARDHANDLE),
              "pcsc-lite on Linux uses long-sized handles");

Status pcsc_status(const char* call, long code) {
  std::string message = fmt::format("{}: {} (0x{:08X})", call, pcsc_stringify_error(code), static_cast<unsigned long>(code) & 0xFFFFFFFFul);
  switch (code) {
    case SCARD_W_REMOVED_CARD:
    case SCARD_W_RESET_CARD:
    case SCARD_W_UNPOWERED_CARD:
    case SCARD_W_UNRESPONSIVE_CARD:
    case SCARD_E_NO_SMARTCARD:
    case SCARD_E_NOT_TRANSACTED:
    case SCARD_E_READER_UNAVAILABLE:
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
    case SCARD_E_NO_READERS_AVAILABLE:
    case SCARD_E_TIMEOUT:
      return Status::unavailable(message);
    case SCARD_E_UNKNOWN_READER:
      return Status::not_found(message);
    default:
      return Status::io_error(message);
  }
}

// ---- Connection -------------------------------------------------------------

Connection::Connection(Connection&& other) noexcept
    : handle_(other.handle_), connected_(other.connected_), reader_(std::move(other.reader_)) {
  other.connected_ = false;
}

Connection::~Connection() {
  if (connected_) (void)disconnect(Disposition::leave);
}

Result<card::Bytes> Connection::transmit(card::ByteView command) {
  if (!connected_) return Status::unavailable("card connection already closed");
  // Short APDUs answer at most 256 data bytes + SW1 SW2.
  card::Bytes response(258);
  DWORD length = static_cast<DWORD>(response.size());
  LONG rv = SCardTransmit(static_cast<SCARDHANDLE>(handle_), SCARD_PCI_T1, command.data(),
                          static_cast<DWORD>(command.size()), nullptr, response.data(), &length);
  if (rv != SCARD_S_SUCCESS) return pcsc_status("SCardTransmit", rv);
  response.resize(std::min<std::size_t>(length, response.size()));
  return response;
}

Status Connection::disconnect(Disposition disposition) {
  if (!connected_) return Status::ok();
  connected_ = false;
  DWORD how = disposition == Disposition::reset ? SCARD_RESET_CARD
              : disposition == Disposition::unpower ? SCARD_UNPOWER_CARD
                                                    : SCARD_LEAVE_CARD;
  LONG rv = SCardDisconnect(static_cast<SCARDHANDLE>(handle_), how);
  // A card that already left makes disconnect report removal: nothing to undo.
  if (rv != SCARD_S_SUCCESS && rv != SCARD_W_REMOVED_CARD) return pcsc_status("SCardDisconnect", rv);
  return Status::ok();
}

// ---- Context ----------------------------------------------------------------

Result<Context> Context::establish() {
  SCARDCONTEXT context = 0;
  LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context);
  if (rv != SCARD_S_SUCCESS) return pcsc_status("SCardEstablishContext (is pcscd running?)", rv);
  return Context(static_cast<long>(context));
}

Context::Context(Context&& other) noexcept : context_(other.context_), valid_(other.valid_) { other.valid_ = false; }

Context::~Context() {
  if (valid_) SCardReleaseContext(static_cast<SCARDCONTEXT>(context_));
}

Result<std::vector<std::string>> Context::list_readers() {
  DWORD length = 0;
  LONG rv = SCardListReaders(static_cast<SCARDCONTEXT>(context_), nullptr, nullptr, &length);
  if (rv == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
  if (rv != SCARD_S_SUCCESS) return pcsc_status("SCardListReaders", rv);
  std::string buffer(length, '\0');
  rv = SCardListReaders(static_cast<SCARDCONTEXT>(context_), nullptr, buffer.data(), &length);
  if (rv != SCARD_S_SUCCESS) return pcsc_status("SCardListReaders", rv);
  std::vector<std::string> readers;
  // A multi-string: names separated by NUL, ended by an empty name.
  for (std::size_t start = 0; start < buffer.size() && buffer[start] != '\0';) {
    std::size_t end = buffer.find('\0', start);
    readers.push_back(buffer.substr(start, end - start));
    start = end + 1;
  }
  return readers;
}

Result<bool> Context::wait_for(const std::string& reader, bool want_present, Clock::time_point deadline) {
  SCARD_READERSTATE state{};
  state.szReader = reader.c_str();
  state.dwCurrentState = SCARD_STATE_UNAWARE;   // first call: report the state as it is now
  for (bool first = true;; first = false) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (!first && left <= 0) return false;
    DWORD timeout = first ? 0 : static_cast<DWORD>(left);
    LONG rv = SCardGetStatusChange(static_cast<SCARDCONTEXT>(context_), timeout, &state, 1);
    if (rv == SCARD_E_TIMEOUT) {
      if (Clock::now() >= deadline) return false;
      continue;
    }
    if (rv != SCARD_S_SUCCESS) return pcsc_status("SCardGetStatusChange", rv);
    DWORD event = state.dwEventState;
    if (event & (SCARD_STATE_UNKNOWN | SCARD_STATE_IGNORE)) {
      return Status::not_found(fmt::format("pcscd has no reader named '{}'", reader));
    }
    bool present = (event & SCARD_STATE_PRESENT) && !(event & SCARD_STATE_MUTE);
    if (present == want_present) return true;
    state.dwCurrentState = event & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
  }
}

Result<bool> Context::wait_for_card(const std::string& reader, Clock::time_point deadline) {
  return wait_for(reader, true, deadline);
}

Result<bool> Context::wait_for_removal(const std::string& reader, Clock::time_point deadline) {
  return wait_for(reader, false, deadline);
}

Result<Connection> Context::connect(const std::string& reader) {
  SCARDHANDLE handle = 0;
  DWORD protocol = 0;
  LONG rv = SCardConnect(static_cast<SCARDCONTEXT>(context_), reader.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1,
                         &handle, &protocol);
  if (rv != SCARD_S_SUCCESS) return pcsc_status("SCardConnect", rv);
  return Connection(static_cast<long>(handle), reader);
}

}  // namespace citycard::pcsc
