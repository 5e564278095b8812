// The offline queue journal: durability across reopen, acknowledgement and
// compaction, capacity, and the corruption cases a crash or bad disk leaves.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "file_io.h"
#include "journal.h"
#include "temp_dir.h"

using namespace citycard;
using namespace citycard::agent;
using citycard::test::sample_tap;
using citycard::test::TempDir;

namespace {

std::vector<std::uint64_t> sequences(const Journal& journal) {
  std::vector<std::uint64_t> out;
  for (const auto& queued : journal.pending()) out.push_back(queued.tap.id.sequence);
  return out;
}

card::Bytes read_all(const std::string& path) { return **read_file(path); }

void write_all(const std::string& path, const card::Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

constexpr std::size_t tap_record_bytes = 8 + 1 + queued_tap_bytes;

// A journal with taps 1..count, closed again.
void make_journal(const std::string& path, std::uint64_t count) {
  auto journal = Journal::open(path);
  REQUIRE(journal.has_value());
  for (std::uint64_t s = 1; s <= count; ++s) REQUIRE(journal->append(sample_tap(s)).is_ok());
}

// A journal with taps 1..count in `directory` (created), open.
Journal open_in_own_directory(const std::string& directory, std::uint64_t count) {
  std::filesystem::create_directory(directory);
  make_journal(directory + "/taps.journal", count);
  auto journal = Journal::open(directory + "/taps.journal");
  REQUIRE(journal.has_value());
  return std::move(*journal);
}

}  // namespace

TEST_CASE("journal: appended taps survive a reopen, in order and intact", "[agent][journal]") {
  TempDir dir;
  const std::string path = dir.file("taps.journal");
  make_journal(path, 5);
  auto journal = Journal::open(path);
  REQUIRE(journal.has_value());
  CHECK(sequences(*journal) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
  CHECK(encode_queued_tap(journal->pending()[2]) == encode_queued_tap(sample_tap(3)));
  CHECK(journal->highest_sequence() == 5);
  CHECK(journal->open_report().torn_tail_bytes == 0);
  CHECK(std::filesystem::file_size(path) == 4 + 5 * tap_record_bytes);
}

TEST_CASE("journal: acknowledged taps are gone after reopen, compaction shrinks the file", "[agent][journal]") {
  TempDir dir;
  const std::string path = dir.file("taps.journal");
  make_journal(path, 6);
  {
    auto journal = Journal::open(path, JournalOptions{100, 1u << 30});   // no automatic compaction
    REQUIRE(journal.has_value());
    std::vector<std::uint64_t> acked{2, 4, 99};   // 99 is unknown: ignored
    REQUIRE(journal->acknowledge(acked).is_ok());
    CHECK(sequences(*journal) == std::vector<std::uint64_t>{1, 3, 5, 6});
  }
  {
    auto journal = Journal::open(path);
    REQUIRE(journal.has_value());
    CHECK(sequences(*journal) == std::vector<std::uint64_t>{1, 3, 5, 6});
    REQUIRE(journal->compact().is_ok());
    CHECK(std::filesystem::file_size(path) == 4 + 4 * tap_record_bytes);
    REQUIRE(journal->append(sample_tap(7)).is_ok());   // appends go to the new file
  }
  auto journal = Journal::open(path);
  REQUIRE(journal.has_value());
  CHECK(sequences(*journal) == std::vector<std::uint64_t>{1, 3, 5, 6, 7});
}

TEST_CASE("journal: compaction runs by itself once acknowledged bytes dominate", "[agent][journal]") {
  TempDir dir;
  const std::string path = dir.file("taps.journal");
  auto journal = Journal::open(path, JournalOptions{100, 1});
  REQUIRE(journal.has_value());
  for (std::uint64_t s = 1; s <= 4; ++s) REQUIRE(journal->append(sample_tap(s)).is_ok());
  std::vector<std::uint64_t> acked{1, 2, 3, 4};
  REQUIRE(journal->acknowledge(acked).is_ok());
  CHECK(std::filesystem::file_size(path) == 4);
  CHECK(journal->pending().empty());
}

TEST_CASE("journal: capacity answers busy, a duplicate tap is refused", "[agent][journal]") {
  TempDir dir;
  auto journal = Journal::open(dir.file("taps.journal"), JournalOptions{3, 1u << 20});
  REQUIRE(journal.has_value());
  for (std::uint64_t s = 1; s <= 3; ++s) REQUIRE(journal->append(sample_tap(s)).is_ok());
  CHECK(journal->append(sample_tap(4)).code() == StatusCode::busy);
  std::vector<std::uint64_t> acked{1};
  REQUIRE(journal->acknowledge(acked).is_ok());
  CHECK(journal->append(sample_tap(3)).code() == StatusCode::invalid_argument);
  CHECK(journal->append(sample_tap(4)).is_ok());
}

TEST_CASE("journal: a second agent on the same journal is refused", "[agent][journal]") {
  TempDir dir;
  auto first = Journal::open(dir.file("taps.journal"));
  REQUIRE(first.has_value());
  CHECK(Journal::open(dir.file("taps.journal")).status().code() == StatusCode::busy);
}

TEST_CASE("journal: a torn tail is cut off, earlier taps are kept, appends continue", "[agent][journal]") {
  TempDir dir;
  const std::string path = dir.file("taps.journal");
  make_journal(path, 3);
  const card::Bytes whole = read_all(path);
  const std::size_t third_record = 4 + 2 * tap_record_bytes;

  std::size_t cut = GENERATE(1u, 7u, 8u, 9u, 60u, static_cast<unsigned>(tap_record_bytes - 1));
  SECTION("record cut short after " + std::to_string(cut) + " bytes") {
    write_all(path, card::Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(third_record + cut)));
    auto journal = Journal::open(path);
    REQUIRE(journal.has_value());
    CHECK(sequences(*journal) == std::vector<std::uint64_t>{1, 2});
    CHECK(journal->open_report().torn_tail_bytes == cut);
    CHECK(std::filesystem::file_size(path) == third_record);
    REQUIRE(journal->append(sample_tap(3)).is_ok());
  }
  auto journal = Journal::open(path);
  REQUIRE(journal.has_value());
  CHECK(journal->open_report().torn_tail_bytes == 0);
}

TEST_CASE("journal: bad CRC in the last record is a torn tail", "[agent][journal]") {
  TempDir dir;
  const std::string path = dir.file("taps.journal");
  make_journal(path, 3);
  card::Bytes bytes = read_all(path);
  bytes[bytes.size() - 10] ^= 0x01;
  write_all(path, bytes);
  auto journal = Journal::open(path);
  REQUIRE(journal.has_value());
  CHECK(sequences(*journal) == std::vector<std::uint64_t>{1, 2});
  CHECK(journal->open_report().torn_tail_bytes == tap_record_bytes);
}

TEST_CASE("journal: zeros after the last record (allocated, never written) are a torn tail", "[agent][journal]") {
  TempDir dir;
  const std::string path = dir.file("taps.journal");
  make_journal(path, 2);
  card::Bytes bytes = read_all(path);
  bytes.resize(bytes.size() + 4096, 0);
  write_all(path, bytes);
  auto journal = Journal::open(path);
  REQUIRE(journal.has_value());
  CHECK(sequences(*journal) == std::vector<std::uint64_t>{1, 2});
  CHECK(journal->open_report().torn_tail_bytes == 4096);
}

TEST_CASE("journal: a damaged record in the middle is skipped, the records after it are kept and counted", "[agent][journal]") {
  TempDir dir;
  const std::string path = dir.file("taps.journal");
  make_journal(path, 5);
  card::Bytes bytes = read_all(path);
  const std::size_t third_record = 4 + 2 * tap_record_bytes;
  SECTION("bad CRC: a flipped bit in the third tap") { bytes[third_record + 30] ^= 0x40; }
  SECTION("bad length: the third record claims more than the file holds") { bytes[third_record] = 0x7F; }
  SECTION("bad length: the third record claims less than it holds") { bytes[third_record + 3] = 0x10; }
  SECTION("a zeroed sector across the third record's header") {
    std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(third_record) - 3, bytes.begin() + static_cast<std::ptrdiff_t>(third_record) + 5, 0);
  }
  write_all(path, bytes);
  {
    auto journal = Journal::open(path);
    REQUIRE(journal.has_value());
    const JournalOpenReport& report = journal->open_report();
    const bool second_hit = bytes[third_record - 1] == 0;   // the zeroed sector reaches into the second record
    CHECK(sequences(*journal) == (second_hit ? std::vector<std::uint64_t>{1, 4, 5} : std::vector<std::uint64_t>{1, 2, 4, 5}));
    CHECK(report.damaged_ranges == 1);
    CHECK(report.damaged_bytes == (second_hit ? 2 : 1) * tap_record_bytes);
    CHECK(report.damaged_first_offset == (second_hit ? third_record - tap_record_bytes : third_record));
    CHECK(report.torn_tail_bytes == 0);
    CHECK(journal->highest_sequence() == 5);
    CHECK(read_all(path) == bytes);   // the damage stays for inspection
    REQUIRE(journal->append(sample_tap(6)).is_ok());
  }
  {
    auto journal = Journal::open(path);   // the same damage again, and the new tap after it
    REQUIRE(journal.has_value());
    CHECK(journal->open_report().damaged_ranges == 1);
    CHECK(sequences(*journal).back() == 6);
    REQUIRE(journal->compact().is_ok());
  }
  auto journal = Journal::open(path);   // compaction wrote only the good taps
  REQUIRE(journal.has_value());
  CHECK(journal->open_report().damaged_ranges == 0);
  CHECK(journal->open_report().damaged_bytes == 0);
  CHECK(sequences(*journal).size() >= 4);
}

TEST_CASE("journal: damage in the middle and a torn tail are both handled in one file", "[agent][journal]") {
  TempDir dir;
  const std::string path = dir.file("taps.journal");
  make_journal(path, 4);
  card::Bytes bytes = read_all(path);
  bytes[4 + tap_record_bytes + 40] ^= 0x01;               // tap 2's payload
  bytes.resize(bytes.size() - 5);                          // tap 4 torn
  write_all(path, bytes);
  auto journal = Journal::open(path);
  REQUIRE(journal.has_value());
  CHECK(sequences(*journal) == std::vector<std::uint64_t>{1, 3});
  CHECK(journal->open_report().damaged_bytes == tap_record_bytes);
  CHECK(journal->open_report().torn_tail_bytes == tap_record_bytes - 5);
}

TEST_CASE("journal: a record that checks but repeats a pending tap is corruption", "[agent][journal]") {
  TempDir dir;
  const std::string path = dir.file("taps.journal");
  make_journal(path, 2);
  card::Bytes bytes = read_all(path);
  bytes.insert(bytes.end(), bytes.begin() + 4, bytes.begin() + 4 + static_cast<std::ptrdiff_t>(tap_record_bytes));
  write_all(path, bytes);
  auto journal = Journal::open(path);
  REQUIRE(!journal.has_value());
  CHECK(journal.status().code() == StatusCode::corruption);
}

// Compaction replaces the file: if the journal could not take the new file
// it must stay on a file that is still the journal, never write taps into
// one no one will read.
TEST_CASE("journal: a compaction that cannot write its new file leaves appends going to the journal", "[agent][journal]") {
  TempDir dir;
  const std::string state = dir.file("state");
  const std::string path = state + "/taps.journal";
  Journal journal = open_in_own_directory(state, 2);
  // The directory goes away and a file takes its name: even root cannot
  // create the new journal under it (chmod would not stop root).
  std::filesystem::rename(state, dir.file("state.moved"));
  write_all(state, card::Bytes{'x'});
  Status compacted = journal.compact();
  CHECK(compacted.code() == StatusCode::io_error);
  INFO(compacted.to_string());
  REQUIRE(journal.append(sample_tap(3)).is_ok());   // into the journal's own (moved) file
  std::filesystem::remove(state);
  std::filesystem::rename(dir.file("state.moved"), state);
  std::filesystem::copy_file(path, path + ".read");   // the open journal holds the lock: read a copy
  auto again = Journal::open(path + ".read");
  REQUIRE(again.has_value());
  CHECK(sequences(*again) == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("journal: a journal whose file was removed refuses to append", "[agent][journal]") {
  TempDir dir;
  const std::string state = dir.file("state");
  Journal journal = open_in_own_directory(state, 1);
  std::filesystem::remove_all(state);
  Status appended = journal.append(sample_tap(2));
  CHECK(appended.code() == StatusCode::io_error);
  CHECK(appended.message().find("removed") != std::string::npos);
  CHECK(sequences(journal) == std::vector<std::uint64_t>{1});
  CHECK(!journal.compact().is_ok());
}

TEST_CASE("journal: a tap whose record would not read back is refused, and nothing is written", "[agent][journal]") {
  TempDir dir;
  const std::string path = dir.file("taps.journal");
  make_journal(path, 1);
  {
    auto journal = Journal::open(path);
    REQUIRE(journal.has_value());
    const auto bytes_before = std::filesystem::file_size(path);
    QueuedTap no_record = sample_tap(2);
    no_record.proof = card::TapProof{};  // no card record: its id length is 0
    Status appended = journal->append(no_record);
    CHECK(appended.code() == StatusCode::invalid_argument);
    CHECK(appended.message().find("would not read back") != std::string::npos);
    CHECK(std::filesystem::file_size(path) == bytes_before);
    CHECK(sequences(*journal) == std::vector<std::uint64_t>{1});
    REQUIRE(journal->append(sample_tap(3)).is_ok());
  }
  auto reopened = Journal::open(path);
  REQUIRE(reopened.has_value());
  CHECK(sequences(*reopened) == std::vector<std::uint64_t>{1, 3});
  CHECK(reopened->open_report().damaged_ranges == 0);
}

TEST_CASE("journal: a file that is not a journal is refused", "[agent][journal]") {
  TempDir dir;
  const std::string path = dir.file("taps.journal");
  write_all(path, card::Bytes{'N', 'O', 'P', 'E', 0, 0});
  CHECK(Journal::open(path).status().code() == StatusCode::corruption);
}

TEST_CASE("journal: an interrupted compaction leaves the journal as it was", "[agent][journal]") {
  TempDir dir;
  const std::string path = dir.file("taps.journal");
  make_journal(path, 2);
  const std::string half_written = dir.file(".taps.journal.tmp-4242-0");  // named as files/durable_file.h names it
  write_all(half_written, card::Bytes{'C', 'C', 'Q', '1', 0, 0, 0});
  auto journal = Journal::open(path);
  REQUIRE(journal.has_value());
  CHECK(sequences(*journal) == std::vector<std::uint64_t>{1, 2});
  CHECK(!std::filesystem::exists(half_written));
}

TEST_CASE("queued tap encoding round-trips and rejects bad fields", "[agent][journal]") {
  QueuedTap tap = sample_tap(77);
  tap.tap.amount_minor = -5;
  card::Bytes encoded = encode_queued_tap(tap);
  REQUIRE(encoded.size() == queued_tap_bytes);
  auto decoded = decode_queued_tap(encoded);
  REQUIRE(decoded.has_value());
  CHECK(encode_queued_tap(*decoded) == encoded);
  CHECK(decoded->tap.amount_minor == -5);
  CHECK(decoded->tap.card == tap.tap.card);
  card::Bytes bad_mode = encoded;
  bad_mode[4 + 8 + 1 + 16 + 1 + 8] = 0;
  CHECK(decode_queued_tap(bad_mode).status().code() == StatusCode::corruption);
  CHECK(!decode_queued_tap(card::ByteView(encoded).subspan(1)).has_value());
}

// The journal's bytes, pinned: a queue written by an agent before the coding
// library replaced the agent's own writers (and CRC) still opens, and a new
// agent writes the same bytes.
TEST_CASE("journal: the file keeps its bytes, and a file of those bytes opens", "[agent][journal]") {
  TempDir dir;
  const std::string path = dir.file("queue.journal");
  {
    auto journal = Journal::open(path);
    REQUIRE(journal.has_value());
    REQUIRE(journal->append(sample_tap(1)).is_ok());
    REQUIRE(journal->append(sample_tap(2)).is_ok());
    const std::uint64_t acknowledged[] = {1};
    REQUIRE(journal->acknowledge(acknowledged).is_ok());
  }
  const std::string golden =
      "4343513100000077DAF4AC4C010000001100000000000000010704A1B2C3D4E5F60000000000000000000100060A24181E40"
      "010100000003000001330000000C00000000000000000101010101010704A1B2C3D4E5F60000000000000000000000000101"
      "000000000000000000000000000000000000000000000000000000000000AB0000007734954E3D0100000011000000000000"
      "00020704A1B2C3D4E5F60000000000000000000100060A24181E40020100000003000001330000000C000000000000000001"
      "01010101010704A1B2C3D4E5F600000000000000000000000002020000000000000000000000000000000000000000000000"
      "00000000000000AB0000000D7E35107802000000010000000000000001";
  CHECK(card::to_hex(read_all(path)) == golden);

  const std::string copy = dir.file("copy.journal");
  write_all(copy, *card::parse_hex(golden));
  auto reopened = Journal::open(copy);
  REQUIRE(reopened.has_value());
  CHECK(sequences(*reopened) == std::vector<std::uint64_t>{2});
  CHECK(reopened->pending().front().proof == sample_tap(2).proof);
  CHECK(reopened->pending().front().tap.event_time == sample_tap(2).tap.event_time);
}
