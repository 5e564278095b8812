#include "journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "citycard/coding.h"
#include "file_io.h"
#include "files/durable_file.h"

namespace citycard::agent {
namespace {

constexpr std::uint8_t magic[4] = {'C', 'C', 'Q', '1'};
constexpr std::size_t header_bytes = sizeof magic;
constexpr std::size_t record_header_bytes = 8;
constexpr std::uint8_t type_tap = 1;
constexpr std::uint8_t type_ack = 2;
constexpr std::size_t ack_sequences_max = 8192;   // per ack record
constexpr std::size_t payload_bytes_max = 1 + 4 + 8 * ack_sequences_max;
constexpr std::size_t tap_record_bytes = record_header_bytes + 1 + queued_tap_bytes;

std::uint32_t record_crc(std::uint32_t length, card::ByteView payload) {
  std::uint8_t length_bytes[4];
  coding::store_be<std::uint32_t>(length_bytes, length);
  return coding::crc32_extend(coding::crc32(length_bytes, sizeof length_bytes), payload.data(), payload.size());
}

card::Bytes frame_record(const card::Bytes& payload) {
  card::Bytes out;
  out.reserve(record_header_bytes + payload.size());
  auto length = static_cast<std::uint32_t>(payload.size());
  coding::put_be<std::uint32_t>(out, length);
  coding::put_be<std::uint32_t>(out, record_crc(length, payload));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

card::Bytes tap_payload(const QueuedTap& tap) {
  card::Bytes payload{type_tap};
  card::Bytes body = encode_queued_tap(tap);
  payload.insert(payload.end(), body.begin(), body.end());
  return payload;
}

// A record read back: a tap, or the sequences an acknowledgement names.
struct Record {
  std::size_t bytes = 0;   // header and payload
  std::optional<QueuedTap> tap;
  std::vector<std::uint64_t> acknowledged;
};

// The record at `at`, or nullopt when it is damaged (see journal.h).
std::optional<Record> read_record(card::ByteView contents, std::size_t at) {
  coding::Reader header(contents.subspan(at));
  const auto length = header.be<std::uint32_t>();
  const auto crc = header.be<std::uint32_t>();
  if (!header.ok() || length == 0 || length > payload_bytes_max || length > header.remaining()) return std::nullopt;
  const card::ByteView payload = header.bytes(length);
  if (record_crc(length, payload) != crc) return std::nullopt;
  Record record;
  record.bytes = record_header_bytes + length;
  coding::Reader in(payload);
  const std::uint8_t type = in.u8();
  if (type == type_tap) {
    auto tap = decode_queued_tap(in.rest());
    if (!tap) return std::nullopt;
    record.tap = std::move(*tap);
    return record;
  }
  if (type != type_ack) return std::nullopt;
  const auto count = in.be<std::uint32_t>();
  if (!in.ok() || in.remaining() != 8ull * count) return std::nullopt;
  record.acknowledged.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) record.acknowledged.push_back(in.be<std::uint64_t>());
  return record;
}

// Where the first good record after `from` starts; contents.size() if none does.
std::size_t next_good_record(card::ByteView contents, std::size_t from) {
  for (std::size_t at = from; contents.size() - at > record_header_bytes; ++at) {
    // Most offsets fail on the length alone, before any CRC is computed.
    const auto length = coding::load_be<std::uint32_t>(&contents[at]);
    if (length == 0 || length > payload_bytes_max || length > contents.size() - at - record_header_bytes) continue;
    if (read_record(contents, at)) return at;
  }
  return contents.size();
}

bool same_file(int fd, const std::string& path) {
  struct stat open_file {}, named {};
  return ::fstat(fd, &open_file) == 0 && ::stat(path.c_str(), &named) == 0 && open_file.st_dev == named.st_dev &&
         open_file.st_ino == named.st_ino;
}

Status write_all_at(int fd, const card::Bytes& bytes, std::uint64_t offset, const std::string& path) {
  std::size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::pwrite(fd, bytes.data() + written, bytes.size() - written, static_cast<off_t>(offset + written));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::io_error(fmt::format("write {}: {}", path, std::strerror(errno)));
    written += static_cast<std::size_t>(n);
  }
  return Status::ok();
}

Result<int> open_locked(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::io_error(fmt::format("open {}: {}", path, std::strerror(errno)));
  // Two agents appending to one queue would interleave records.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status::busy(fmt::format("{} is in use by another reader agent", path));
  }
  return fd;
}

}  // namespace

Result<Journal> Journal::open(const std::string& path, JournalOptions options) {
  auto contents = read_file(path);
  if (!contents) return contents.status();
  if (!contents->has_value() || (*contents)->size() < header_bytes) {
    // Created atomically, so a short file never held records.
    if (auto created = write_file_atomically(path, card::ByteView(magic, header_bytes)); !created) return created;
    contents = std::optional<card::Bytes>(card::Bytes(magic, magic + header_bytes));
  }
  if (!std::equal(magic, magic + header_bytes, (*contents)->begin())) {
    return Status::corruption(fmt::format("{} is not a citycard tap journal (bad magic)", path));
  }
  auto fd = open_locked(path);
  if (!fd) return fd.status();
  // What an interrupted compaction left; the journal itself is intact. Only
  // now, holding the lock, can no other agent be compacting it.
  files::remove_stale_temporaries(path);
  Journal journal(path, options, *fd);
  if (auto replayed = journal.replay(**contents); !replayed) return replayed;
  return journal;
}

Journal::Journal(Journal&& other) noexcept
    : path_(std::move(other.path_)),
      options_(other.options_),
      fd_(other.fd_),
      end_(other.end_),
      dead_bytes_(other.dead_bytes_),
      pending_(std::move(other.pending_)),
      pending_sequences_(std::move(other.pending_sequences_)),
      highest_sequence_(other.highest_sequence_),
      report_(other.report_),
      directory_unsynced_(other.directory_unsynced_) {
  other.fd_ = -1;
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

Status Journal::replay(const card::Bytes& contents) {
  const std::size_t size = contents.size();
  std::size_t pos = header_bytes;
  while (pos < size) {
    auto record = read_record(contents, pos);
    if (!record) {
      const std::size_t next = next_good_record(contents, pos + 1);
      if (next == size) {
        report_.torn_tail_bytes = size - pos;
        if (::ftruncate(fd_, static_cast<off_t>(pos)) != 0 || ::fdatasync(fd_) != 0) {
          return Status::io_error(fmt::format("truncate torn tail of {}: {}", path_, std::strerror(errno)));
        }
        break;
      }
      if (report_.damaged_ranges++ == 0) report_.damaged_first_offset = pos;
      report_.damaged_bytes += next - pos;
      pos = next;
      continue;
    }
    if (record->tap) {
      const std::uint64_t sequence = record->tap->tap.id.sequence;
      if (!pending_sequences_.insert(sequence).second) {
        return Status::corruption(fmt::format("{}: tap {} appears twice (record at byte {})", path_, sequence, pos));
      }
      highest_sequence_ = std::max(highest_sequence_, sequence);
      pending_.push_back(std::move(*record->tap));
    } else {
      std::unordered_set<std::uint64_t> acknowledged(record->acknowledged.begin(), record->acknowledged.end());
      std::erase_if(pending_, [&](const QueuedTap& tap) { return acknowledged.count(tap.tap.id.sequence) != 0; });
      for (auto sequence : acknowledged) pending_sequences_.erase(sequence);
    }
    pos += record->bytes;
  }
  end_ = std::min(pos, size);
  dead_bytes_ = end_ - header_bytes - pending_.size() * tap_record_bytes;
  report_.taps_pending = pending_.size();
  return Status::ok();
}

Status Journal::append_record(const card::Bytes& payload) {
  struct stat file {};
  if (::fstat(fd_, &file) != 0) return Status::io_error(fmt::format("fstat {}: {}", path_, std::strerror(errno)));
  if (file.st_nlink == 0) {
    return Status::io_error(fmt::format("{} was removed while open; refusing to write taps no one would read", path_));
  }
  if (directory_unsynced_) {
    if (auto synced = files::sync_directory(parent_directory(path_)); !synced) return synced;
    directory_unsynced_ = false;
  }
  card::Bytes record = frame_record(payload);
  Status written = write_all_at(fd_, record, end_, path_);
  if (written && ::fdatasync(fd_) != 0) written = Status::io_error(fmt::format("fdatasync {}: {}", path_, std::strerror(errno)));
  if (!written) {
    // Leave no half record behind for the next append to follow.
    if (::ftruncate(fd_, static_cast<off_t>(end_)) != 0) {
      return Status::io_error(written.message() + "; and truncating back failed: " + std::strerror(errno));
    }
    return written;
  }
  end_ += record.size();
  return Status::ok();
}

Status Journal::append(const QueuedTap& tap) {
  if (pending_.size() >= options_.taps_max) {
    return Status::busy(fmt::format("offline queue is full ({} taps waiting for the engine)", pending_.size()));
  }
  if (pending_sequences_.count(tap.tap.id.sequence) != 0) {
    return Status::invalid_argument(fmt::format("tap {} is already queued", tap.tap.id.sequence));
  }
  // A record replay() could not read back would be a rider admitted on a tap
  // no one ever uploads (e.g. a proof without the card's record).
  const card::Bytes payload = tap_payload(tap);
  if (auto readable = decode_queued_tap(card::ByteView(payload).subspan(1)); !readable) {
    return Status::invalid_argument(fmt::format("tap {} not journaled, it would not read back: {}", tap.tap.id.sequence,
                                                readable.status().message()));
  }
  if (auto written = append_record(payload); !written) return written;
  pending_.push_back(tap);
  pending_sequences_.insert(tap.tap.id.sequence);
  highest_sequence_ = std::max(highest_sequence_, tap.tap.id.sequence);
  return Status::ok();
}

Status Journal::acknowledge(std::span<const std::uint64_t> sequences) {
  std::vector<std::uint64_t> known;
  for (auto sequence : sequences) {
    if (pending_sequences_.count(sequence) != 0) known.push_back(sequence);
  }
  for (std::size_t start = 0; start < known.size(); start += ack_sequences_max) {
    std::size_t count = std::min(ack_sequences_max, known.size() - start);
    card::Bytes payload{type_ack};
    coding::put_be<std::uint32_t>(payload, static_cast<std::uint32_t>(count));
    for (std::size_t i = start; i < start + count; ++i) coding::put_be<std::uint64_t>(payload, known[i]);
    if (auto written = append_record(payload); !written) return written;
    std::unordered_set<std::uint64_t> acknowledged(known.begin() + static_cast<std::ptrdiff_t>(start),
                                                   known.begin() + static_cast<std::ptrdiff_t>(start + count));
    std::erase_if(pending_, [&](const QueuedTap& tap) { return acknowledged.count(tap.tap.id.sequence) != 0; });
    for (auto sequence : acknowledged) pending_sequences_.erase(sequence);
    dead_bytes_ += record_header_bytes + payload.size() + count * tap_record_bytes;
  }
  return maybe_compact();
}

Status Journal::maybe_compact() {
  std::uint64_t live = pending_.size() * tap_record_bytes;
  if (dead_bytes_ >= options_.compact_dead_bytes_min && dead_bytes_ > live) return compact();
  return Status::ok();
}

Status Journal::compact() {
  card::Bytes contents(magic, magic + header_bytes);
  for (const auto& tap : pending_) {
    card::Bytes record = frame_record(tap_payload(tap));
    contents.insert(contents.end(), record.begin(), record.end());
  }
  auto file = files::DurableFile::create(path_, {.mode = agent_state_mode});
  if (!file) return file.status();
  if (auto written = file->append({reinterpret_cast<const char*>(contents.data()), contents.size()}); !written) return written;
  if (auto synced = file->sync(); !synced) return synced;
  // Opened and locked before it replaces the old file: a failure here leaves
  // the journal on its old file, still linked, and no other agent can take
  // the new one between the rename and the lock.
  auto fd = open_locked(file->temporary_path());
  if (!fd) return fd.status();
  Status committed = file->commit();
  if (!same_file(*fd, path_)) {
    ::close(*fd);   // not renamed: the old file is still the journal
    return committed.is_ok() ? Status::io_error(fmt::format("{} was replaced during compaction", path_)) : committed;
  }
  // The rename happened; a failed directory sync is retried before the next append.
  directory_unsynced_ = !committed.is_ok();
  ::close(fd_);
  fd_ = *fd;
  end_ = contents.size();
  dead_bytes_ = 0;
  return Status::ok();
}

}  // namespace citycard::agent
