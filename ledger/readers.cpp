#include "ledger/readers.h"

#include "ledger/encoding.h"

namespace citycard::ledger {

std::string reader_key(ReaderId id) {
  std::string key;
  coding::put_be<std::uint32_t>(key, id.value);
  return key;
}

std::string encode_reader(const ReaderRecord& reader) {
  std::string value;
  value.reserve(reader_record_bytes);
  coding::put_le<std::uint8_t>(value, 1);
  coding::put_le<std::uint32_t>(value, reader.operator_id.value);
  coding::put_le<std::uint8_t>(value, static_cast<std::uint8_t>(reader.kind));
  coding::put_le<std::uint16_t>(value, reader.modes);
  coding::put_le<std::uint32_t>(value, reader.route);
  coding::put_le<std::uint32_t>(value, reader.location);
  coding::put_le<std::int64_t>(value, reader.amount_max_minor);
  coding::put_le<std::int64_t>(value, reader.offline_max_minor);
  coding::put_le<std::uint8_t>(value, static_cast<std::uint8_t>(reader.status));
  return value;
}

Result<ReaderRecord> decode_reader(ReaderId id, std::string_view value) {
  auto bad = [&](const char* why) {
    return Status::corruption("reader " + std::to_string(id.value) + ": registration record " + why);
  };
  if (value.size() != reader_record_bytes) return bad("has the wrong size");
  coding::Reader in(value);
  if (in.le<std::uint8_t>() != 1) return bad("is of an unknown format");
  ReaderRecord reader;
  reader.id = id;
  reader.operator_id = OperatorId{in.le<std::uint32_t>()};
  const auto kind = in.le<std::uint8_t>();
  reader.modes = in.le<std::uint16_t>();
  reader.route = in.le<std::uint32_t>();
  reader.location = in.le<std::uint32_t>();
  reader.amount_max_minor = in.le<std::int64_t>();
  reader.offline_max_minor = in.le<std::int64_t>();
  const auto status = in.le<std::uint8_t>();
  if (!in.ok() || !in.at_end()) return bad("is truncated");
  if (kind < 1 || kind > reader_kind_count) return bad("names an unknown kind");
  if (status < 1 || status > 3) return bad("names an unknown status");
  reader.kind = static_cast<ReaderKind>(kind);
  reader.status = static_cast<ReaderStatus>(status);
  return reader;
}

RecordWrite reader_record_write(const ReaderRecord& reader) {
  return RecordWrite{RecordSpace::readers, reader_key(reader.id), encode_reader(reader)};
}

Result<ReaderRecord> load_reader(const Ledger& ledger, ReaderId id) {
  auto value = ledger.record(RecordSpace::readers, reader_key(id));
  if (!value) {
    if (value.status().code() == StatusCode::not_found) {
      return Status::not_found("reader " + std::to_string(id.value) + " is not registered");
    }
    return value.status();
  }
  return decode_reader(id, *value);
}

Result<std::vector<ReaderRecord>> load_readers(const Ledger& ledger) {
  std::vector<ReaderRecord> readers;
  Status failure = Status::ok();
  auto snapshot = ledger.snapshot();
  Status scanned = snapshot->scan_records(RecordSpace::readers, "", [&](std::string_view key, std::string_view value) {
    if (key.size() != 4) {
      failure = Status::corruption("reader registry: a key of " + std::to_string(key.size()) + " bytes");
      return false;
    }
    auto reader = decode_reader(ReaderId{coding::load_be<std::uint32_t>(key.data())}, value);
    if (!reader) {
      failure = reader.status();
      return false;
    }
    readers.push_back(*reader);
    return true;
  });
  if (!scanned) return scanned;
  if (!failure) return failure;
  return readers;
}

}  // namespace citycard::ledger
