// The real path: our PC/SC client -> libpcsclite -> pcscd -> vpcd -> emulator.
#include <catch2/catch.hpp>

#include <algorithm>

#include "session/reader_session.h"
#include "pcsc_fixture.h"

using namespace citycard;
using namespace citycard::test;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("pcsc: the virtual reader is listed", "[pcsc]") {
  pcsc::Context context = establish();
  auto readers = context.list_readers();
  REQUIRE(readers.has_value());
  CHECK(std::find(readers->begin(), readers->end(), reader_name) != readers->end());
  CHECK(context.wait_for_card("No Such Reader 00 00", after(milliseconds(200))).status().code() == StatusCode::not_found);
}

TEST_CASE("pcsc: genuine tap reads UID, selects, reads data and authenticates", "[pcsc]") {
  pcsc::Context context = establish();
  require_empty_slot(context);
  ChildProcess emulator = start_emulator({"--uid", "04A1B2C3D4E5F6", "--category", "senior", "--atc", "9"});
  require_card(context);
  auto connection = context.connect(reader_name);
  INFO(connection.status().to_string());
  REQUIRE(connection.has_value());
  const Tap tap = reader_tap(1);
  auto readout = card::run_reader_session(*connection, master_keys(), tap, *card::make_challenge());
  INFO(readout.status().to_string());
  REQUIRE(readout.has_value());
  CHECK(readout->genuine.is_ok());
  CHECK(card::to_hex(readout->uid) == "04A1B2C3D4E5F6");
  CHECK(readout->proof.record.card_id.to_string() == "04A1B2C3D4E5F6");
  CHECK(readout->proof.record.category == RiderCategory::senior);
  CHECK(readout->proof.atc == 10);
  CHECK(card::verify_tap_proof(master_keys(), readout->tap, readout->proof).is_ok());
  CHECK(readout->tap.id == tap.id);
  CHECK(connection->disconnect(pcsc::Disposition::leave).is_ok());
  auto status = emulator.stop();
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);   // the emulator leaves cleanly on SIGTERM
}

TEST_CASE("pcsc: clone with a copied UID is refused", "[pcsc]") {
  pcsc::Context context = establish();
  require_empty_slot(context);
  ChildProcess emulator = start_emulator({"--uid", "04A1B2C3D4E5F6", "--behaviour", "clone"});
  require_card(context);
  auto connection = context.connect(reader_name);
  REQUIRE(connection.has_value());
  auto readout = card::run_reader_session(*connection, master_keys(), reader_tap(2), *card::make_challenge());
  REQUIRE(readout.has_value());
  CHECK(card::to_hex(readout->uid) == "04A1B2C3D4E5F6");
  CHECK(readout->genuine.code() == StatusCode::refused);
  CHECK(readout->genuine.message().find("not genuine") != std::string::npos);
}

TEST_CASE("pcsc: card pulled away mid-exchange is an error value, and the next card works", "[pcsc]") {
  pcsc::Context context = establish();
  require_empty_slot(context);
  {
    // Leaves at the 3rd APDU (READ DATA) without answering, then is gone.
    ChildProcess emulator = start_emulator({"--behaviour", "pull-after=3", "--exit-after-removal"});
    require_card(context);
    auto connection = context.connect(reader_name);
    REQUIRE(connection.has_value());
    auto readout = card::run_reader_session(*connection, master_keys(), reader_tap(3), *card::make_challenge());
    REQUIRE(!readout.has_value());
    CHECK(readout.status().code() == StatusCode::unavailable);
    // Further use of the dead connection stays an error value too.
    auto again = connection->transmit(*card::encode_command(card::get_uid_command()));
    CHECK((!again.has_value() || again->size() < 2));
    (void)connection->disconnect(pcsc::Disposition::leave);
    auto exited = emulator.wait_exit(seconds(3));
    REQUIRE(exited.has_value());
    CHECK(WEXITSTATUS(*exited) == 0);
  }
  require_empty_slot(context);
  ChildProcess emulator = start_emulator({});
  require_card(context);
  auto connection = context.connect(reader_name);
  REQUIRE(connection.has_value());
  auto readout = card::run_reader_session(*connection, master_keys(), reader_tap(4), *card::make_challenge());
  REQUIRE(readout.has_value());
  CHECK(readout->genuine.is_ok());
}
