// The process's heap on transparent huge pages, faulted in ahead of use.
//
// The shard's cards, the ledger's accounts and the memtables are a few GB
// read at random: with 4 KiB pages nearly every such read also misses the
// TLB, and every page the heap grows by is faulted and zeroed in whatever
// thread touches it first (a tap's). With the machine's transparent huge
// pages set to "always" the in-process bench ran 16% more taps a second on
// the same binary, but its tail paid for the 2 MiB faults taken in the tap
// path (bench/README.md, "Huge pages ahead of use"). This allocator gets
// the first without the second: tcmalloc takes its memory from 64 MiB
// regions marked MADV_HUGEPAGE, each made resident by a background thread
// before it is handed out; freed memory stays with the process (release
// rate 0) so no huge page is split and faulted in again. An allocation
// larger than half a region gets a huge-page mapping of its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "citycard/status.h"

namespace citycard::engine {

struct HugePageHeapStats {
  bool installed = false;
  std::uint64_t regions_ready = 0;     // made resident ahead of use
  std::uint64_t regions_in_place = 0;  // mapped when needed: faulted in by their first user
  std::uint64_t large_mappings = 0;    // allocations over 32 MiB, each mapped on its own (huge pages too)
  std::uint64_t bytes_handed_out = 0;
  std::uint64_t regions_waiting = 0;   // resident, not handed out yet
  std::uint64_t reserve_made = 0;      // regions of the reserve made resident so far
  std::uint64_t reserve_regions = 0;   // the reserve asked for, after heap_reserve_regions()
};

// The most a reserve can be: 4 GiB.
inline constexpr std::size_t heap_reserve_mib_max = 4096;

// Installs it for this process: once, early in main(), before the threads
// start. An error when the process does not run on tcmalloc (sanitizer
// builds), the kernel refuses the first region, or reserve_mib is over
// heap_reserve_mib_max; nothing is changed then. Installing twice is an
// error. reserve_mib (rounded up to 64 MiB regions): made resident in the
// background from now on, ahead of the heap's growth (memtables filling,
// caches warming), so that growth is paid while the engine starts rather
// than by the first taps; 0: one region ahead at a time.
Status install_huge_page_heap(std::size_t reserve_mib = 0);

// The 64 MiB regions a reserve of reserve_mib makes: rounded up, and at most
// what half of the machine's available memory holds (MemAvailable), so a
// reserve larger than the machine can give shrinks rather than has the
// kernel kill the engine as it starts.
std::size_t heap_reserve_regions(std::size_t reserve_mib, std::uint64_t available_bytes);

// All zero (installed false) when not installed.
HugePageHeapStats huge_page_heap_stats();

}  // namespace citycard::engine
