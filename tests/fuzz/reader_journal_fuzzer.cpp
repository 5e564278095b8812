// The reader agent's offline journal (readers/agent/journal.h): the file a
// reader replays at every start, after a crash, a power cut or a bad disk.
//
// input := options:u8 contents:bytes
//   the journal file is "CCQ1" contents (options bit 1: contents alone, magic
//   and all); with options bit 0 the harness first sets every record's CRC
//   right (walking the length fields as far as they go), since random bytes
//   seldom carry one, so the tap and ack records themselves get decoded.
// The file lives in a scratch directory (on /dev/shm when there is one).
// Checks, when the journal opens: its pending taps are distinct and at most
// its highest sequence; the file is cut to the bytes it kept (damaged
// records it skipped stay in it); opening it again finds exactly the same
// taps, the same damage and nothing torn; after compact(), and
// after appending a new tap, a reopen finds the same taps (and the new one).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "citycard/check.h"
#include "citycard/coding.h"
#include "file_io.h"
#include "journal.h"

namespace {

using namespace citycard;
using namespace citycard::agent;

// One scratch directory per fuzzing process, removed at exit.
const std::string& journal_path() {
  static const std::string path = [] {
    const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/citycard-fuzz-journal-XXXXXX";
    CITYCARD_CHECK(::mkdtemp(pattern.data()) != nullptr);
    static const std::string directory = pattern;
    std::atexit([] { std::filesystem::remove_all(directory); });
    return directory + "/queue.ccq";
  }();
  return path;
}

// Sets the CRC of each record whose header fits: crc = CRC-32(length || payload).
void fix_crcs(card::Bytes& file) {
  std::size_t at = 4;
  while (file.size() - at >= 8) {
    const std::uint32_t length = coding::load_be<std::uint32_t>(&file[at]);
    if (length > file.size() - at - 8) return;
    const std::uint32_t crc = coding::crc32_extend(coding::crc32(&file[at], 4), &file[at + 8], length);
    coding::store_be<std::uint32_t>(&file[at + 4], crc);
    at += 8 + length;
  }
}

std::vector<card::Bytes> taps_of(const Journal& journal) {
  std::vector<card::Bytes> taps;
  for (const QueuedTap& tap : journal.pending()) taps.push_back(encode_queued_tap(tap));
  return taps;
}

Journal reopen(const std::string& path, std::uint64_t damaged_bytes) {
  auto journal = Journal::open(path);
  CITYCARD_CHECK(journal.has_value());
  CITYCARD_CHECK(journal->open_report().torn_tail_bytes == 0);
  CITYCARD_CHECK(journal->open_report().damaged_bytes == damaged_bytes);
  return std::move(*journal);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t options = data[0];
  card::Bytes file;
  if ((options & 2) == 0) file = {'C', 'C', 'Q', '1'};
  file.insert(file.end(), data + 1, data + size);
  if ((options & 1) != 0 && file.size() >= 4) fix_crcs(file);

  const std::string& path = journal_path();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    CITYCARD_CHECK(out.good());
  }
  std::vector<card::Bytes> taps;
  std::uint64_t kept_bytes = 0;
  std::uint64_t highest = 0;
  std::uint64_t damaged_bytes = 0;
  {
    auto journal = Journal::open(path);
    if (!journal) {
      CITYCARD_CHECK(!journal.status().message().empty());
      return 0;
    }
    taps = taps_of(*journal);
    kept_bytes = journal->file_bytes();
    highest = journal->highest_sequence();
    damaged_bytes = journal->open_report().damaged_bytes;
    CITYCARD_CHECK((damaged_bytes == 0) == (journal->open_report().damaged_ranges == 0));
    std::set<std::uint64_t> sequences;
    for (const QueuedTap& tap : journal->pending()) {
      CITYCARD_CHECK(sequences.insert(tap.tap.id.sequence).second);
      CITYCARD_CHECK(tap.tap.id.sequence <= highest);
    }
    CITYCARD_CHECK(journal->open_report().taps_pending == taps.size());
    if (file.size() >= 4) CITYCARD_CHECK(kept_bytes + journal->open_report().torn_tail_bytes == file.size());
    CITYCARD_CHECK(std::filesystem::file_size(path) == kept_bytes);
  }
  {
    Journal journal = reopen(path, damaged_bytes);
    CITYCARD_CHECK(taps_of(journal) == taps);
    CITYCARD_CHECK(journal.file_bytes() == kept_bytes);
    CITYCARD_CHECK(journal.compact().is_ok());
  }
  {
    Journal journal = reopen(path, 0);   // compaction wrote only the taps
    CITYCARD_CHECK(taps_of(journal) == taps);
    if (highest == UINT64_MAX) return 0;
    QueuedTap fresh;
    if (!journal.pending().empty()) fresh = journal.pending().back();
    fresh.tap.id.sequence = highest + 1;
    if (fresh.tap.card.empty()) fresh.tap.card = *CardId::parse("04A1B2C3D4E5F6");
    if (fresh.proof.record.card_id.empty()) fresh.proof.record.card_id = fresh.tap.card;
    CITYCARD_CHECK(journal.append(fresh).is_ok());
    taps.push_back(encode_queued_tap(fresh));
  }
  Journal journal = reopen(path, 0);
  CITYCARD_CHECK(taps_of(journal) == taps);
  CITYCARD_CHECK(journal.highest_sequence() == highest + 1);
  return 0;
}
