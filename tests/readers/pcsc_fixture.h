// Shared by the tests that run the real path: pcscd (started by the CTest
// fixture pcscd_fixture.sh) + vsmartcard-vpcd + citycard-card-emulator.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "card/crypto.h"
#include "citycard/tap.h"
#include "child_process.h"
#include "pcsc/pcsc.h"

namespace citycard::test {

inline const std::string reader_name = "Test Reader 00 00";   // vpcd slot on TCP 35963
inline const std::string emulator_port = "35963";
inline const std::string master_key_hex = "000102030405060708090A0B0C0D0E0F";

inline card::MasterKey master_key() { return card::MasterKey{*card::parse_key_hex(master_key_hex), 1}; }
inline card::MasterKeySource& master_keys() {
  static card::MasterKeySource source(master_key());
  return source;
}

// Reader 17's tap `sequence`: boarding operator 3's bus on route 307 at stop 12.
inline Tap reader_tap(std::uint64_t sequence) {
  Tap tap;
  tap.id = TapId{ReaderId{17}, sequence};
  tap.mode = Mode::bus_board;
  tap.operator_id = OperatorId{3};
  tap.route = 307;
  tap.location = 12;
  tap.event_time = EventTime::from_unix_seconds(1'700'000'000);
  return tap;
}

inline std::chrono::steady_clock::time_point after(std::chrono::milliseconds span) {
  return std::chrono::steady_clock::now() + span;
}

// Starts the emulator on the first slot with extra flags.
inline ChildProcess start_emulator(std::vector<std::string> extra) {
  std::vector<std::string> argv = {CITYCARD_EMULATOR_PATH, "--port", emulator_port, "--master-key-hex", master_key_hex,
                                   "--connect-timeout-ms", "5000"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  ChildProcess child = ChildProcess::start(argv);
  REQUIRE(child.started());
  return child;
}

// A context once pcscd lists the virtual reader: its socket is up before it
// has loaded the vpcd driver from the config, and on a busy machine the
// first test can come in between (up to 10 s; the listing is then checked).
inline pcsc::Context establish() {
  const auto deadline = after(std::chrono::seconds(10));
  for (;;) {
    auto context = pcsc::Context::establish();
    INFO(context.status().to_string());
    REQUIRE(context.has_value());
    auto readers = context->list_readers();
    const bool listed =
        readers.has_value() && std::find(readers->begin(), readers->end(), reader_name) != readers->end();
    if (listed || std::chrono::steady_clock::now() >= deadline) return std::move(*context);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Each test starts with the slot empty, so a card left by the previous
// test (pcscd notices removal only at its next poll) is not taken for ours.
inline void require_empty_slot(pcsc::Context& context) {
  auto empty = context.wait_for_removal(reader_name, after(std::chrono::seconds(3)));
  INFO(empty.status().to_string());
  REQUIRE(empty.has_value());
  REQUIRE(*empty);
}

inline void require_card(pcsc::Context& context) {
  auto present = context.wait_for_card(reader_name, after(std::chrono::seconds(5)));
  INFO(present.status().to_string());
  REQUIRE(present.has_value());
  REQUIRE(*present);
}

}  // namespace citycard::test
