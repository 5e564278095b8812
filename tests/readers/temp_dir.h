// Test helper: a fresh directory under $TMPDIR, removed with its files afterwards.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "card/bytes.h"
#include "card/cryptogram.h"
#include "queued_tap.h"

namespace citycard::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "citycard-readers-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) ? pattern : std::string();
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A well-formed queued tap for reader 17 with the given sequence.
inline agent::QueuedTap sample_tap(std::uint64_t sequence) {
  agent::QueuedTap queued;
  queued.tap.id = TapId{ReaderId{17}, sequence};
  queued.tap.card = *CardId::parse("04A1B2C3D4E5F6");
  queued.tap.event_time = EventTime{1'700'000'000'000'000 + static_cast<std::int64_t>(sequence)};
  queued.tap.mode = Mode::bus_board;
  queued.tap.operator_id = OperatorId{3};
  queued.tap.route = 307;
  queued.tap.location = 12;
  queued.tap.offline = true;
  queued.proof.record.card_id = queued.tap.card;
  queued.proof.atc = static_cast<std::uint32_t>(sequence);
  queued.proof.challenge[0] = static_cast<std::uint8_t>(sequence);
  queued.proof.cryptogram[15] = 0xAB;
  return queued;
}

}  // namespace citycard::test
