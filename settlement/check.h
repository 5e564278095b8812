// Always-on checks for programmer errors (NDEBUG does not turn them off): a
// settlement that breaks the money rule must stop, not write a file.
#pragma once

#include <cstdio>
#include <cstdlib>

#define CITYCARD_SETTLEMENT_CHECK(condition)                                                        \
  do {                                                                                              \
    if (!(condition)) {                                                                             \
      std::fprintf(stderr, "%s:%d: settlement invariant broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                                 \
    }                                                                                               \
  } while (false)
