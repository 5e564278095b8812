// Cache hints for walks over data too big for the cache (a city's cards
// and accounts): the lines of an object asked for ahead of its use, so
// that the read, when it comes, does not wait for memory. A hint reads
// nothing and changes nothing; a bad address is ignored.
#pragma once

#include <cstddef>
#include <cstdint>

namespace citycard {

inline constexpr std::size_t cache_line_bytes = 64;

// Every line the bytes touch, the first one's start rounded down.
inline void prefetch_lines(const void* start, std::size_t bytes) {
  const auto from = reinterpret_cast<std::uintptr_t>(start);
  for (std::uintptr_t line = from & ~(cache_line_bytes - 1); line < from + bytes; line += cache_line_bytes) {
    __builtin_prefetch(reinterpret_cast<const void*>(line));
  }
}

// One object's lines.
template <typename T>
void prefetch_object(const T* object) {
  prefetch_lines(object, sizeof(T));
}

}  // namespace citycard
