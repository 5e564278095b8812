// SequenceWindow: what the writer knows of a source's posted sequences.
#include <catch2/catch.hpp>

#include "ledger/sequence_window.h"

using citycard::ledger::SequenceWindow;
using Known = SequenceWindow::Known;

TEST_CASE("a sequence window knows exactly what posted since it opened, inside the window") {
  SequenceWindow window;  // a source that never posted
  CHECK(window.known(1) == Known::not_posted);
  window.record(10);
  window.record(12);
  CHECK(window.mark() == 12);
  CHECK(window.known(10) == Known::posted);
  CHECK(window.known(11) == Known::not_posted);  // below the mark, yet never posted
  CHECK(window.known(12) == Known::posted);
  CHECK(window.known(13) == Known::not_posted);
  window.record(11);  // late, out of order
  CHECK(window.known(11) == Known::posted);
  CHECK(window.mark() == 12);
}

TEST_CASE("below what a window opened with, only the disk knows") {
  SequenceWindow window(100);  // 100 was the mark on disk
  CHECK(window.known(100) == Known::unknown);
  CHECK(window.known(7) == Known::unknown);
  CHECK(window.known(101) == Known::not_posted);
  window.record(103);
  CHECK(window.known(102) == Known::not_posted);
  CHECK(window.known(103) == Known::posted);
  CHECK(window.known(99) == Known::unknown);
  window.record(50);  // a late upload below: not tracked
  CHECK(window.known(50) == Known::unknown);
}

TEST_CASE("a window slides: what falls out of it is unknown, positions are reused clean") {
  SequenceWindow window;
  const std::uint64_t w = SequenceWindow::window_bits;
  window.record(5);
  window.record(w + 3);  // 5 still inside: the window is [4, w + 3]
  CHECK(window.known(5) == Known::posted);
  CHECK(window.known(6) == Known::not_posted);
  window.record(w + 6);  // now [7, w + 6]: 5 has fallen out
  CHECK(window.known(5) == Known::unknown);
  CHECK(window.known(w + 5) == Known::not_posted);  // reuses 5's bit: must read clean
  CHECK(window.known(w + 6) == Known::posted);
  window.record(10 * w);  // a jump past the whole window
  CHECK(window.known(10 * w) == Known::posted);
  CHECK(window.known(10 * w - 1) == Known::not_posted);
  CHECK(window.known(9 * w) == Known::unknown);
  CHECK(window.known(w + 6) == Known::unknown);
}
