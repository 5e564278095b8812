#include "apdu.h"

#include <fmt/format.h>

#include "citycard/coding.h"

namespace citycard::card {

Result<Bytes> encode_command(const CommandApdu& command) {
  if (command.data.size() > 255) {
    return Status::invalid_argument(fmt::format("APDU data of {} bytes needs extended length", command.data.size()));
  }
  if (command.le && (*command.le == 0 || *command.le > 256)) {
    return Status::invalid_argument(fmt::format("APDU Le {} is outside 1..256", *command.le));
  }
  Bytes out{command.cla, command.ins, command.p1, command.p2};
  if (!command.data.empty()) {
    out.push_back(static_cast<std::uint8_t>(command.data.size()));
    out.insert(out.end(), command.data.begin(), command.data.end());
  }
  if (command.le) out.push_back(static_cast<std::uint8_t>(*command.le & 0xFF));  // 256 -> 00
  return out;
}

Result<CommandApdu> parse_command(ByteView bytes) {
  if (bytes.size() < 4) return Status::invalid_argument(fmt::format("APDU of {} bytes has no header", bytes.size()));
  CommandApdu command{bytes[0], bytes[1], bytes[2], bytes[3], {}, std::nullopt};
  const std::size_t body = bytes.size() - 4;
  if (body == 0) return command;  // case 1
  const std::size_t first = bytes[4];
  if (body == 1) {                // case 2: Le only
    command.le = first == 0 ? 256 : static_cast<std::uint16_t>(first);
    return command;
  }
  if (first == 0) return Status::invalid_argument("extended-length APDUs are not supported");
  if (body == 1 + first) {        // case 3
    command.data.assign(bytes.begin() + 5, bytes.end());
    return command;
  }
  if (body == 2 + first) {        // case 4
    command.data.assign(bytes.begin() + 5, bytes.begin() + 5 + static_cast<std::ptrdiff_t>(first));
    std::uint8_t le = bytes.back();
    command.le = le == 0 ? 256 : static_cast<std::uint16_t>(le);
    return command;
  }
  return Status::invalid_argument(fmt::format("APDU Lc {} does not match its {} body bytes", first, body));
}

Result<ResponseApdu> parse_response(ByteView bytes) {
  if (bytes.size() < 2) {
    return Status::unavailable(fmt::format("card lost: response of {} bytes (card left the field?)", bytes.size()));
  }
  ResponseApdu response;
  response.data.assign(bytes.begin(), bytes.end() - 2);
  response.status_word = coding::load_be<std::uint16_t>(&bytes[bytes.size() - 2]);
  return response;
}

Bytes encode_response(ByteView data, std::uint16_t status_word) {
  Bytes out(data.begin(), data.end());
  coding::put_be<std::uint16_t>(out, status_word);
  return out;
}

std::string status_word_text(std::uint16_t status_word) {
  const char* meaning = "unexpected";
  switch (status_word) {
    case sw::ok: meaning = "ok"; break;
    case sw::wrong_length: meaning = "wrong length"; break;
    case sw::security_not_satisfied: meaning = "security status not satisfied"; break;
    case sw::auth_method_blocked: meaning = "authentication blocked: counter exhausted"; break;
    case sw::conditions_not_satisfied: meaning = "conditions of use not satisfied"; break;
    case sw::function_not_supported: meaning = "function not supported"; break;
    case sw::file_not_found: meaning = "file or application not found"; break;
    case sw::incorrect_p1p2: meaning = "incorrect P1/P2"; break;
    case sw::ins_not_supported: meaning = "instruction not supported"; break;
    case sw::cla_not_supported: meaning = "class not supported"; break;
    default: break;
  }
  return fmt::format("{:04X} ({})", status_word, meaning);
}

}  // namespace citycard::card
