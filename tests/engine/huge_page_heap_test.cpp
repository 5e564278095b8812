// The heap on huge pages (engine/core/huge_page_heap.h), in a process of its
// own (ctest runs each test case alone: installing is for the process).
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/huge_page_heap.h"

namespace citycard::engine {
#ifdef CITYCARD_TCMALLOC
namespace {

// The kernel's transparent huge page mode: "always", "madvise" or "never".
std::string huge_page_mode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto open = text.find('['), close = text.find(']');
  return open == std::string::npos || close == std::string::npos ? "never" : text.substr(open + 1, close - open - 1);
}

// AnonHugePages (kB) of the mapping holding `address`, from /proc/self/smaps.
std::uint64_t huge_kib_at(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= at && at < end;
      continue;
    }
    if (inside && line.rfind("AnonHugePages:", 0) == 0) return std::stoull(line.substr(14));
  }
  return 0;
}

}  // namespace
#endif

TEST_CASE("a heap reserve is rounded up to regions and held to half the memory available") {
  constexpr std::uint64_t gib = std::uint64_t{1} << 30;
  CHECK(heap_reserve_regions(0, 16 * gib) == 0);
  CHECK(heap_reserve_regions(1, 16 * gib) == 1);
  CHECK(heap_reserve_regions(64, 16 * gib) == 1);
  CHECK(heap_reserve_regions(65, 16 * gib) == 2);
  CHECK(heap_reserve_regions(1792, 16 * gib) == 28);
  CHECK(heap_reserve_regions(heap_reserve_mib_max, 64 * gib) == 64);
  // A machine with 1 GiB available: half of it, 8 regions, not 28.
  CHECK(heap_reserve_regions(1792, gib) == 8);
  CHECK(heap_reserve_regions(1792, 100u << 20) == 0);  // less than two regions' worth: none
  CHECK(heap_reserve_regions(1792, 0) == 0);             // MemAvailable unreadable: none
}

TEST_CASE("the heap on huge pages hands tcmalloc resident regions and the memory works") {
  // A reserve over the most is refused, and installs nothing.
  Status too_big = install_huge_page_heap(heap_reserve_mib_max + 1);
  CHECK(too_big.code() == StatusCode::invalid_argument);
  CHECK(too_big.message().find("4097 MiB") != std::string::npos);
  CHECK_FALSE(huge_page_heap_stats().installed);

  // 256 MiB reserved: four regions made resident before anything asks.
  Status installed = install_huge_page_heap(256);
#ifndef CITYCARD_TCMALLOC
  CHECK(installed.code() == StatusCode::unavailable);  // sanitizer builds: their own allocator
#else
  REQUIRE(installed.is_ok());
  CHECK(install_huge_page_heap().code() == StatusCode::already_exists);
  const auto reserve_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (huge_page_heap_stats().reserve_made < 4 && std::chrono::steady_clock::now() < reserve_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const HugePageHeapStats reserved = huge_page_heap_stats();
  CHECK(reserved.reserve_regions == 4);
  CHECK(reserved.reserve_made >= 4);
  CHECK(reserved.regions_waiting + reserved.regions_ready >= 4);  // tcmalloc may have taken one already
  CHECK(reserved.regions_waiting >= 3);

  // 1 MiB blocks: tcmalloc serves them from its page heap, which grows
  // through the installed allocator. Each written end to end and read back.
  std::vector<std::unique_ptr<std::uint8_t[]>> blocks;
  constexpr std::size_t block = 1 << 20;
  for (std::size_t i = 0; i < 384; ++i) {
    blocks.emplace_back(new std::uint8_t[block]);
    for (std::size_t at = 0; at < block; at += 512) blocks.back()[at] = static_cast<std::uint8_t>(i + at);
  }
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    for (std::size_t at = 0; at < block; at += 512) wrong += blocks[i][at] != static_cast<std::uint8_t>(i + at);
  }
  CHECK(wrong == 0);
  HugePageHeapStats stats = huge_page_heap_stats();
  CHECK(stats.installed);
  CHECK(stats.bytes_handed_out >= 384 * block);
  CHECK(stats.regions_ready + stats.regions_in_place >= 6);  // 384 MiB in regions of 64
  CHECK(stats.regions_ready >= 4);                           // the reserve's, first

  // The preparing thread keeps a resident region ready: allocating on
  // takes it, at the latest once the first has been prepared.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (huge_page_heap_stats().regions_ready == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (int i = 0; i < 16; ++i) blocks.emplace_back(new std::uint8_t[block]);
  }
  stats = huge_page_heap_stats();
  CHECK(stats.regions_ready >= 1);

  // Where the kernel gives huge pages to those who ask, the blocks are on them.
  if (huge_page_mode() == "never") {
    WARN("transparent huge pages are off on this machine: the regions are on 4 KiB pages");
  } else {
    std::uint64_t huge_kib = 0;
    for (const auto& memory : blocks) huge_kib = std::max(huge_kib, huge_kib_at(memory.get()));
    CHECK(huge_kib >= 2048);
  }

  // One allocation over half a region (a city's card table) gets a mapping
  // of its own, on huge pages too, not tcmalloc's sbrk fallback (4 KiB pages).
  const std::uint64_t large_before = huge_page_heap_stats().large_mappings;
  constexpr std::size_t large_bytes = std::size_t{96} << 20;
  std::vector<std::uint64_t> table(large_bytes / sizeof(std::uint64_t));
  for (std::size_t i = 0; i < table.size(); i += 64) table[i] = i * 7;
  std::size_t wrong_large = 0;
  for (std::size_t i = 0; i < table.size(); i += 64) wrong_large += table[i] != i * 7;
  CHECK(wrong_large == 0);
  stats = huge_page_heap_stats();
  CHECK(stats.large_mappings == large_before + 1);
  if (huge_page_mode() != "never") CHECK(huge_kib_at(table.data()) >= 2048);
#endif
}

}  // namespace citycard::engine
