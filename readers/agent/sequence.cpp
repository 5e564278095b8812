#include "sequence.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "card/bytes.h"
#include "citycard/coding.h"
#include "file_io.h"

namespace citycard::agent {
namespace {
constexpr std::uint8_t magic[4] = {'C', 'C', 'S', '1'};
constexpr std::size_t file_bytes = 16;
}  // namespace

Result<SequenceAllocator> SequenceAllocator::open(const std::string& path, std::uint64_t floor, SequenceOptions options,
                                                  std::uint64_t when_missing) {
  if (options.block_size == 0) return Status::invalid_argument("sequence block size must be at least 1");
  SequenceAllocator allocator(path, options);
  auto contents = read_file(path);
  if (!contents) return contents.status();
  std::uint64_t start = 1;
  if (contents->has_value()) {
    const card::Bytes& bytes = **contents;
    if (bytes.size() != file_bytes || !std::equal(magic, magic + 4, bytes.begin()) ||
        coding::crc32(card::ByteView(bytes).subspan(0, 12)) != coding::load_be<std::uint32_t>(&bytes[12])) {
      // Written atomically, so this is damage, not a torn write. Guessing a
      // number could repeat one the engine has already seen.
      return Status::corruption(fmt::format("{} is damaged; refusing to guess the next sequence number", path));
    }
    start = coding::load_be<std::uint64_t>(&bytes[4]);
  } else {
    start = when_missing;
  }
  start = std::max({start, floor, std::uint64_t{1}});
  allocator.next_ = start;
  allocator.reserved_until_ = start;
  return allocator;
}

Status SequenceAllocator::reserve(std::uint64_t until) {
  card::Bytes contents(magic, magic + 4);
  coding::put_be<std::uint64_t>(contents, until);
  coding::put_be<std::uint32_t>(contents, coding::crc32(contents));
  if (auto written = write_file_atomically(path_, contents); !written) return written;
  reserved_until_ = until;
  return Status::ok();
}

Status SequenceAllocator::raise_floor(std::uint64_t floor) {
  if (floor <= next_) return Status::ok();
  if (floor > std::numeric_limits<std::uint64_t>::max() - options_.block_size) {
    return Status::refused("reader sequence numbers exhausted");
  }
  if (auto reserved = reserve(floor + options_.block_size); !reserved) return reserved;
  next_ = floor;
  return Status::ok();
}

Result<std::uint64_t> SequenceAllocator::next() {
  if (next_ >= reserved_until_) {
    if (next_ > std::numeric_limits<std::uint64_t>::max() - options_.block_size) {
      return Status::refused("reader sequence numbers exhausted");
    }
    if (auto reserved = reserve(next_ + options_.block_size); !reserved) return reserved;
  }
  return next_++;
}

}  // namespace citycard::agent
