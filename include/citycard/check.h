// Invariant checks that stay on in every build (NDEBUG does not remove
// them): a broken invariant is a programmer error, and going on would
// write a wrong ledger.
#pragma once

#include <cstdio>
#include <cstdlib>

#define CITYCARD_CHECK(condition)                                                                 \
  do {                                                                                            \
    if (!(condition)) {                                                                           \
      std::fprintf(stderr, "event=invariant_broken check=\"%s\" at=%s:%d\n", #condition, __FILE__, \
                   __LINE__);                                                                     \
      std::abort();                                                                               \
    }                                                                                             \
  } while (false)
