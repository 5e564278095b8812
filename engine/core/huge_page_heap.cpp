#include "huge_page_heap.h"

#include <algorithm>

namespace citycard::engine {

std::size_t heap_reserve_regions(std::size_t reserve_mib, std::uint64_t available_bytes) {
  constexpr std::size_t region_mib = 64;
  const std::size_t wanted = (std::min(reserve_mib, heap_reserve_mib_max) + region_mib - 1) / region_mib;
  const std::uint64_t affordable = available_bytes / 2 / (std::uint64_t{region_mib} << 20);
  return static_cast<std::size_t>(std::min<std::uint64_t>(wanted, affordable));
}

}  // namespace citycard::engine

#ifdef CITYCARD_TCMALLOC

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include <gperftools/malloc_extension.h>

#include "citycard/check.h"
#include "citycard/thread_name.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace citycard::engine {
namespace {

constexpr std::size_t huge_page = std::size_t{2} << 20;
constexpr std::size_t region_bytes = std::size_t{64} << 20;
constexpr std::size_t ready_max = heap_reserve_mib_max / (region_bytes >> 20);

// A 2 MiB-aligned anonymous mapping of `bytes` (a multiple of 2 MiB) marked
// for huge pages; nullptr if the kernel refuses the mapping. Takes no lock
// and allocates nothing: it runs inside tcmalloc's lock.
char* map_huge(std::size_t bytes) {
  void* mapped = mmap(nullptr, bytes + huge_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(mapped);
  const std::uintptr_t aligned = (start + huge_page - 1) & ~(huge_page - 1);
  if (aligned > start) munmap(mapped, aligned - start);
  const std::uintptr_t end = start + bytes + huge_page;
  if (end > aligned + bytes) munmap(reinterpret_cast<void*>(aligned + bytes), end - aligned - bytes);
  auto* region = reinterpret_cast<char*>(aligned);
  madvise(region, bytes, MADV_HUGEPAGE);  // advice: refused on kernels without THP, then 4 KiB pages
  return region;
}

char* map_region() { return map_huge(region_bytes); }

// Makes the region resident (huge pages where the kernel has them). false:
// the kernel has not the memory (the region is left as it is).
bool populate(char* region) {
  if (madvise(region, region_bytes, MADV_POPULATE_WRITE) == 0) return true;
  if (errno != EINVAL) return false;
  for (std::size_t at = 0; at < region_bytes; at += 4096) region[at] = 0;  // kernels before 5.14
  return true;
}

// MemAvailable of /proc/meminfo in bytes; 0 if it cannot be read.
std::uint64_t memory_available() {
  std::ifstream meminfo("/proc/meminfo");
  std::string name, unit;
  std::uint64_t kib = 0;
  while (meminfo >> name >> kib >> unit) {
    if (name == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

// tcmalloc asks for memory in chunks of a MiB or more, under its own lock:
// Alloc() must not allocate, and the preparing thread never allocates while
// holding mutex_ (an allocation of its own may land in Alloc()).
class HugePageAllocator final : public SysAllocator {
 public:
  explicit HugePageAllocator(SysAllocator* fallback) : fallback_(fallback) {}

  // reserve_regions: made resident first, before the one kept ready after.
  void start(std::size_t reserve_regions) {
    reserve_regions_ = std::min(reserve_regions, ready_max);
    reserve_target_ = std::max<std::size_t>(reserve_regions_, 1);
    std::thread([this] { prepare_loop(); }).detach();  // lives as long as the process
  }

  void* Alloc(std::size_t size, std::size_t* actual_size, std::size_t alignment) override {
    if (size == 0 || alignment > huge_page) return fallback_->Alloc(size, actual_size, alignment);
    if (size > region_bytes / 2) return map_large(size, actual_size, alignment);
    std::unique_lock lock(mutex_);
    const std::size_t align = alignment < 4096 ? 4096 : alignment;
    std::size_t at = (used_ + align - 1) & ~(align - 1);
    if (region_ == nullptr || at + size > region_bytes) {
      if (ready_count_ > 0) {
        region_ = ready_[--ready_count_];
        regions_ready_.fetch_add(1, std::memory_order_relaxed);
        regions_waiting_.store(ready_count_, std::memory_order_relaxed);
        wanted_.notify_one();
      } else {
        char* region = map_region();
        if (region == nullptr) {
          lock.unlock();
          return fallback_->Alloc(size, actual_size, alignment);
        }
        region_ = region;
        regions_in_place_.fetch_add(1, std::memory_order_relaxed);
      }
      used_ = 0;
      at = 0;
    }
    used_ = at + size;
    if (actual_size != nullptr) *actual_size = size;
    bytes_handed_out_.fetch_add(size, std::memory_order_relaxed);
    return region_ + at;
  }

  HugePageHeapStats stats() const {
    return {true,
            regions_ready_.load(std::memory_order_relaxed),
            regions_in_place_.load(std::memory_order_relaxed),
            large_mappings_.load(std::memory_order_relaxed),
            bytes_handed_out_.load(std::memory_order_relaxed),
            regions_waiting_.load(std::memory_order_relaxed),
            reserve_made_.load(std::memory_order_relaxed),
            reserve_regions_};
  }

 private:
  // One allocation bigger than half a region (a city's card table, a vector
  // of a day's taps) gets a mapping of its own, on huge pages too: from the
  // fallback (sbrk) it would sit on 4 KiB pages, and those are the tables
  // read at random, a TLB miss each. Not made resident ahead: its first
  // writer (the vector copying itself over) touches it all anyway.
  void* map_large(std::size_t size, std::size_t* actual_size, std::size_t alignment) {
    const std::size_t bytes = (size + huge_page - 1) & ~(huge_page - 1);
    char* mapping = map_huge(bytes);
    if (mapping == nullptr) return fallback_->Alloc(size, actual_size, alignment);
    if (actual_size != nullptr) *actual_size = bytes;
    large_mappings_.fetch_add(1, std::memory_order_relaxed);
    bytes_handed_out_.fetch_add(bytes, std::memory_order_relaxed);
    return mapping;
  }

  // First the reserve, then one region kept ready: the heap a process
  // settles at (memtables filled and flushed, caches full) is made resident
  // while the engine starts, not page by page while the first hours of
  // taps fill it (each first touch of a page zeroes it; in a VM the host
  // faults it in too).
  void prepare_loop() {
    name_this_thread("cc-hugepages");
    std::size_t target = reserve_target_;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wanted_.wait(lock, [&] { return ready_count_ < target; });
      }
      char* region = map_region();
      if (region == nullptr) {
        std::this_thread::sleep_for(std::chrono::seconds(1));  // out of address space or memory: try again later
        continue;
      }
      if (!populate(region)) {
        munmap(region, region_bytes);
        target = 1;  // no memory for a reserve: one region ahead, made when the kernel has it
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      std::lock_guard lock(mutex_);
      CITYCARD_CHECK(ready_count_ < ready_max);
      ready_[ready_count_++] = region;
      regions_waiting_.store(ready_count_, std::memory_order_relaxed);
      if (target > 1) {
        reserve_made_.fetch_add(1, std::memory_order_relaxed);
        if (ready_count_ == target) target = 1;  // the reserve is made: from now on, one ahead
      }
    }
  }

  SysAllocator* const fallback_;
  std::mutex mutex_;
  std::condition_variable wanted_;
  char* region_ = nullptr;  // handing out from here
  std::size_t used_ = 0;
  // Resident, handed out last first. Fixed: Alloc() must not allocate.
  std::array<char*, ready_max> ready_{};
  std::size_t ready_count_ = 0;
  std::size_t reserve_target_ = 1;
  std::size_t reserve_regions_ = 0;  // set before the thread starts, then only read
  std::atomic<std::uint64_t> regions_ready_{0}, regions_in_place_{0}, large_mappings_{0}, bytes_handed_out_{0},
      regions_waiting_{0}, reserve_made_{0};
};

// tcmalloc's system allocator is the process's, so is the record of ours.
std::atomic<bool> install_claimed{false};
std::atomic<HugePageAllocator*> process_allocator{nullptr};

}  // namespace

Status install_huge_page_heap(std::size_t reserve_mib) {
  if (reserve_mib > heap_reserve_mib_max) {
    return Status::invalid_argument("heap reserve of " + std::to_string(reserve_mib) + " MiB is over the most, " +
                                    std::to_string(heap_reserve_mib_max) + " MiB");
  }
  if (install_claimed.exchange(true)) return Status::already_exists("the huge page heap is installed already");
  MallocExtension* extension = MallocExtension::instance();
  SysAllocator* fallback = extension->GetSystemAllocator();
  if (fallback == nullptr) {
    install_claimed = false;
    return Status::unavailable("the allocator takes no system allocator (not tcmalloc?)");
  }
  char* probe = map_region();
  if (probe == nullptr) {
    const int error = errno;
    install_claimed = false;
    return Status::io_error(std::string("cannot map a huge page region: ") + std::strerror(error));
  }
  munmap(probe, region_bytes);
  auto* allocator = new HugePageAllocator(fallback);  // never deleted: tcmalloc uses it until exit
  allocator->start(heap_reserve_regions(reserve_mib, memory_available()));
  extension->SetMemoryReleaseRate(0);
  extension->SetSystemAllocator(allocator);
  process_allocator.store(allocator);
  return Status::ok();
}

HugePageHeapStats huge_page_heap_stats() {
  const HugePageAllocator* allocator = process_allocator.load();
  return allocator == nullptr ? HugePageHeapStats{} : allocator->stats();
}

}  // namespace citycard::engine

#else  // built without tcmalloc (sanitizers, fuzzing)

namespace citycard::engine {

Status install_huge_page_heap(std::size_t reserve_mib) {
  if (reserve_mib > heap_reserve_mib_max) {
    return Status::invalid_argument("heap reserve of " + std::to_string(reserve_mib) + " MiB is over the most, " +
                                    std::to_string(heap_reserve_mib_max) + " MiB");
  }
  return Status::unavailable("this build does not run on tcmalloc (sanitizer or fuzzing build): no huge page heap");
}

HugePageHeapStats huge_page_heap_stats() { return {}; }

}  // namespace citycard::engine

#endif
