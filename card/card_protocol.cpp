#include "card_protocol.h"

#include <fmt/format.h>

#include "citycard/coding.h"

namespace citycard::card {

Bytes encode_record(const CardData& record) {
  Bytes out;
  out.reserve(record_bytes);
  out.push_back(record_format);
  out.push_back(record.key_version);
  out.push_back(static_cast<std::uint8_t>(record.status));
  out.push_back(static_cast<std::uint8_t>(record.category));
  out.push_back(static_cast<std::uint8_t>(record.media));
  out.push_back(static_cast<std::uint8_t>(record.card_id.size()));
  for (std::size_t i = 0; i < CardId::bytes_max; ++i) {
    out.push_back(i < record.card_id.size() ? record.card_id.data()[i] : 0);
  }
  return out;
}

Result<CardData> decode_record(ByteView bytes) {
  if (bytes.size() != record_bytes) {
    return Status::corruption(fmt::format("card record has {} bytes, expected {}", bytes.size(), record_bytes));
  }
  if (bytes[0] != record_format) return Status::corruption(fmt::format("card record format {} is unknown", bytes[0]));
  CardData record;
  record.key_version = bytes[1];
  if (bytes[2] < 1 || bytes[2] > 4) return Status::corruption(fmt::format("card status {} is unknown", bytes[2]));
  record.status = static_cast<CardStatus>(bytes[2]);
  if (bytes[3] < 1 || bytes[3] > rider_category_count) {
    return Status::corruption(fmt::format("rider category {} is unknown", bytes[3]));
  }
  record.category = static_cast<RiderCategory>(bytes[3]);
  if (bytes[4] < 1 || bytes[4] > 3) return Status::corruption(fmt::format("media {} is unknown", bytes[4]));
  record.media = static_cast<Media>(bytes[4]);
  std::size_t id_length = bytes[5];
  if (id_length < 1 || id_length > CardId::bytes_max) {
    return Status::corruption(fmt::format("card id length {} is outside 1..{}", id_length, CardId::bytes_max));
  }
  for (std::size_t i = 6 + id_length; i < record_bytes; ++i) {
    if (bytes[i] != 0) return Status::corruption("card id padding is not zero");
  }
  record.card_id = CardId::from_bytes(&bytes[6], id_length);
  return record;
}

CommandApdu get_uid_command() { return {cla_reader, ins_get_data, 0x00, 0x00, {}, 256}; }

CommandApdu select_command() {
  return {cla_iso, ins_select, 0x04, 0x00, Bytes(application_id.begin(), application_id.end()), 256};
}

CommandApdu read_data_command() {
  return {cla_proprietary, ins_read_data, 0x00, 0x00, {}, static_cast<std::uint16_t>(read_data_bytes)};
}

Bytes encode_transaction(const Challenge& challenge, const Tap& tap) {
  Bytes data;
  data.reserve(transaction_bytes);
  data.insert(data.end(), challenge.begin(), challenge.end());
  coding::put_be<std::uint32_t>(data, tap.id.reader.value);
  coding::put_be<std::uint64_t>(data, tap.id.sequence);
  data.push_back(static_cast<std::uint8_t>(tap.mode));
  coding::put_be<std::uint32_t>(data, tap.operator_id.value);
  coding::put_be<std::uint32_t>(data, tap.route);
  coding::put_be<std::uint32_t>(data, tap.location);
  coding::put_be<std::uint64_t>(data, static_cast<std::uint64_t>(tap.amount_minor));
  coding::put_be<std::uint64_t>(data, static_cast<std::uint64_t>(tap.event_time.unix_us));
  data.push_back(tap.offline ? 1 : 0);
  return data;
}

Result<Transaction> decode_transaction(ByteView bytes) {
  if (bytes.size() != transaction_bytes) {
    return Status::invalid_argument(fmt::format("transaction has {} bytes, expected {}", bytes.size(), transaction_bytes));
  }
  coding::Reader in(bytes);
  Transaction out;
  ByteView challenge = in.bytes(challenge_bytes);
  std::copy(challenge.begin(), challenge.end(), out.challenge.begin());
  Tap& tap = out.tap;
  tap.id.reader.value = in.be<std::uint32_t>();
  tap.id.sequence = in.be<std::uint64_t>();
  tap.mode = static_cast<Mode>(in.u8());
  tap.operator_id.value = in.be<std::uint32_t>();
  tap.route = in.be<std::uint32_t>();
  tap.location = in.be<std::uint32_t>();
  tap.amount_minor = static_cast<std::int64_t>(in.be<std::uint64_t>());
  tap.event_time.unix_us = static_cast<std::int64_t>(in.be<std::uint64_t>());
  std::uint8_t offline = in.u8();
  if (!in.ok() || offline > 1) return Status::invalid_argument("transaction offline flag is not 0 or 1");
  tap.offline = offline == 1;
  return out;
}

CommandApdu internal_authenticate_command(const Challenge& challenge, const Tap& tap) {
  return {cla_proprietary, ins_internal_authenticate, 0x00, 0x00, encode_transaction(challenge, tap),
          static_cast<std::uint16_t>(auth_response_bytes)};
}

}  // namespace citycard::card
