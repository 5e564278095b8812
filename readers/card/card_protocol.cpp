#include "card_protocol.h"

#include <fmt/format.h>

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

CommandApdu internal_authenticate_command(const Challenge& challenge, ReaderId reader, std::uint64_t sequence) {
  Bytes data(challenge.begin(), challenge.end());
  put_u32(data, reader.value);
  put_u64(data, sequence);
  return {cla_proprietary, ins_internal_authenticate, 0x00, 0x00, std::move(data),
          static_cast<std::uint16_t>(auth_response_bytes)};
}

}  // namespace citycard::card
