// A disk that fills during the close, on a real tmpfs (files/durable_file.h):
// the close fails naming the full disk, leaves no batch, body, temporary or
// signature file, records nothing in the ledger, and succeeds with the same
// bytes once there is space again. Needs root to mount; WARNs and passes
// when mounting is refused.
#include <catch2/catch.hpp>

#include <map>

#include "fixture.h"
#include "small_disk.h"

using namespace citycard;
using namespace citycard::settlement;
using namespace citycard::settlement::testing;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t disk_bytes = 256u << 10;
constexpr std::uint64_t page_bytes = 4096;  // tmpfs counts whole pages

std::string two_digits(int value) { return (value < 10 ? "0" : "") + std::to_string(value); }

// A day whose bus file is about 115 KiB and whose metro file is small.
void populate_busy_day(City& city) {
  constexpr std::uint64_t bus_taps = 1000;
  for (std::uint64_t i = 1; i <= bus_taps; ++i) {
    const int second_of_day = 10 * 3600 + static_cast<int>(i) * 10;  // from 10:00, one tap every 10 s
    const std::string when = "2024-03-05T" + two_digits(second_of_day / 3600) + ":" + two_digits(second_of_day / 60 % 60) +
                             ":" + two_digits(second_of_day % 60) + "+08:00";
    city.tap({i, static_cast<std::size_t>(i % 3), bus, when, 2, 1});
  }
  city.tap({bus_taps + 1, 0, metro, "2024-03-05T12:00:00+08:00", 20, 5});
}

std::uint64_t pages_of(std::uint64_t bytes) { return (bytes + page_bytes - 1) / page_bytes; }

std::map<std::string, std::string> files_in(const fs::path& dir) {
  std::map<std::string, std::string> files;
  if (!fs::exists(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) files[entry.path().filename().string()] = read_bytes(entry.path());
  return files;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& [name, bytes] : files_in(dir)) names.push_back(name);
  return names;
}

// The close on a roomy disk, for sizes and for the bytes a good close makes.
struct Reference {
  City city;
  std::map<std::string, std::string> files;
  std::string bus_name;  // the bus batch file's name (the issuer's file sorts before it)
  std::uint64_t bus_bytes = 0;
  std::uint64_t bus_body_bytes = 0;  // the body file: the lines without their "L,<number>" (batch_writer.h)
  std::uint64_t metro_bytes = 0;
  Reference() {
    populate_busy_day(city);
    auto closed = city.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
    REQUIRE(closed.has_value());
    REQUIRE(closed->batches.size() == 2);
    bus_bytes = fs::file_size(closed->batches[0].path);
    bus_name = closed->batches[0].batch.file_name;
    const std::string bus_text = read_bytes(closed->batches[0].path);
    const std::size_t body_begin = bus_text.find('\n') + 1;
    const std::size_t body_end = bus_text.rfind('\n', bus_text.size() - 2) + 1;  // the trailer is the last line
    for (std::size_t at = body_begin; at < body_end;) {
      const std::size_t end = bus_text.find('\n', at) + 1;
      const std::size_t number_end = bus_text.find(',', at + 2);  // after "L,<number>"
      bus_body_bytes += end - number_end;
      at = end;
    }
    metro_bytes = fs::file_size(closed->batches[1].path);
    files = files_in(city.options.out_dir);
  }
};

void check_nothing_recorded(City& city) {
  auto closes = city.settlement().closes();
  REQUIRE(closes.has_value());
  CHECK(closes->empty());
  auto batches = city.settlement().batches(day("2024-03-05"));
  REQUIRE(batches.has_value());
  CHECK(batches->empty());
}

}  // namespace

TEST_CASE("disk full: a batch file that does not fit fails the close and leaves nothing") {
  citycard::testing::SmallDisk disk(disk_bytes);
  if (!disk.mounted()) {
    WARN("disk-full close test skipped: " << disk.refusal());
    return;
  }
  Reference reference;
  REQUIRE(reference.bus_bytes > 20 * page_bytes);  // room to fail in the middle of it

  City city(reference.city.options.key_dir);
  populate_busy_day(city);
  city.options.out_dir = (disk.root() / "out").string();
  // A close writes into the staging directory; its files go in place once its record is durable.
  const std::string staging = city.options.out_dir + "/.staging";
  const std::string bus_file = staging + "/" + reference.bus_name;

  SECTION("the disk fills while the bus batch file is written") {
    // Room for both bodies and half of the final bus file.
    disk.fill_leaving((pages_of(reference.bus_bytes) + pages_of(reference.metro_bytes) + pages_of(reference.bus_bytes) / 2) *
                      page_bytes);
    auto closed = city.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
    REQUIRE_FALSE(closed.has_value());
    CHECK(closed.status().code() == StatusCode::io_error);
    CHECK(closed.status().message() == "no space left on device writing " + bus_file);
  }
  SECTION("the disk fills while the first lines are written") {
    disk.fill_leaving(page_bytes);  // the body files can be made, not filled
    auto closed = city.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
    REQUIRE_FALSE(closed.has_value());
    CHECK(closed.status().code() == StatusCode::io_error);
    CHECK(closed.status().message() ==
          "no space left on device writing " + staging + "/." + reference.bus_name + ".body");
  }
  SECTION("the disk fills with the bodies' last buffered lines") {
    // Room for the bus body's whole 4 KiB stdio blocks but not its tail, which
    // only fclose() writes: unchecked, a body missing its last lines would go
    // into a batch file whose trailer counts them.
    REQUIRE(reference.bus_body_bytes % page_bytes != 0);
    disk.fill_leaving((pages_of(reference.bus_body_bytes) - 1) * page_bytes);
    auto closed = city.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
    REQUIRE_FALSE(closed.has_value());
    CHECK(closed.status().message() ==
          "no space left on device writing " + staging + "/." + reference.bus_name + ".body");
  }
  CHECK(names_in(city.options.out_dir).empty());  // no batch, body, temporary, digest or signature file
  check_nothing_recorded(city);

  disk.free_filler();
  auto again = city.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00"));
  REQUIRE(again.has_value());
  CHECK_FALSE(again->already_closed);
  CHECK(files_in(city.options.out_dir) == reference.files);
  auto report = city.settlement().verify(day("2024-03-05"));
  REQUIRE(report.has_value());
  CHECK(report->ok());
}

TEST_CASE("disk full: regenerating over sent files leaves them whole") {
  citycard::testing::SmallDisk disk(disk_bytes);
  if (!disk.mounted()) {
    WARN("disk-full regenerate test skipped: " << disk.refusal());
    return;
  }
  Reference reference;
  City city(reference.city.options.key_dir);
  populate_busy_day(city);
  city.options.out_dir = (disk.root() / "out").string();
  REQUIRE(city.settlement().close(day("2024-03-05"), at("2024-03-06T03:30:00+08:00")).has_value());
  REQUIRE(files_in(city.options.out_dir) == reference.files);

  disk.fill_leaving(pages_of(reference.bus_bytes) / 2 * page_bytes);
  auto regenerated = city.settlement().regenerate(day("2024-03-05"));
  REQUIRE_FALSE(regenerated.has_value());
  CHECK(regenerated.status().message().rfind("no space left on device writing " + city.options.out_dir + "/", 0) == 0);
  CHECK(files_in(city.options.out_dir) == reference.files);  // the files already sent are untouched
}
