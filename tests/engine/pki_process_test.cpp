// citycard-engine as a process and its trust at the edge: the CRL checked
// and re-signed at start and on a timer, revocations put in force by SIGHUP
// and by `citycard pki reload` without a restart, reader keys made on the
// reader. The connection flood is in flood_test.cpp.
#include "clerk_fixture.h"
#include "edge_fixture.h"

namespace citycard::engine::testing {

using namespace std::chrono_literals;

TEST_CASE("an engine whose CRL has under a third of its validity left re-signs it at start, keeping its entries") {
  TempDir dir("engine-crl-due");
  issue_cards(dir.path);
  std::filesystem::path pki_dir = dir.path / "pki";
  pki::Validity almost_over{-std::chrono::hours(24 * 20), std::chrono::hours(24 * 25)};
  make_pki(pki_dir, almost_over, {1, 2});
  REQUIRE(pki::revoke_reader(pki_dir, ReaderId{2}, almost_over).is_ok());
  auto before = pki::read_crl(pki_dir);
  REQUIRE(before);

  EngineProcess engine(dir.path);
  engine.start();
  CHECK(engine.log_count("event=crl_resigned reason=due") == 1);
  auto after = pki::read_crl(pki_dir);
  REQUIRE(after);
  CHECK(after->number == before->number + 1);
  CHECK(after->revoked == 1);
  CHECK(after->next_update > std::chrono::system_clock::now() + std::chrono::hours(24 * 29));
  // Reader 2 stays revoked, reader 1 taps.
  Reader revoked(pki_dir, ReaderId{2}, engine.port());
  CHECK_FALSE(revoked.connect().is_ok());
  Reader reader(pki_dir, ReaderId{1}, engine.port());
  REQUIRE(reader.connect().is_ok());
  auto decided = reader.tap();
  REQUIRE(decided);
  CHECK(*decided == 4);
  reader.close();
  CHECK(engine.terminate() == 0);
}

TEST_CASE("an expired CRL is re-signed at start with a log line by an engine holding the CA key, a start error without") {
  TempDir dir("engine-crl-expired");
  issue_cards(dir.path);
  std::filesystem::path pki_dir = dir.path / "pki";
  pki::Paths paths{pki_dir};
  make_pki(pki_dir, pki::Validity{-std::chrono::hours(48), std::chrono::hours(24)}, {1});

  SECTION("without the CA key: a start error naming the CRL and what to do") {
    std::filesystem::rename(paths.ca_key(), dir.path / "ca.key.offline");
    EngineProcess engine(dir.path);
    CHECK(engine.start_expecting_exit() == 1);
    std::string log = engine.log_text();
    INFO(log);
    CHECK(log.find("event=start_failed") != std::string::npos);
    CHECK(log.find(paths.crl().string() + " expired at") != std::string::npos);
    CHECK(log.find("citycard pki crl") != std::string::npos);
    CHECK_FALSE(pki::read_crl(pki_dir)->next_update > std::chrono::system_clock::now());  // left as it was
  }
  SECTION("with the CA key: re-signed, logged, and readers are served") {
    EngineProcess engine(dir.path);
    engine.start();
    CHECK(engine.log_count("event=crl_resigned reason=expired") == 1);
    CHECK(pki::read_crl(pki_dir)->next_update > std::chrono::system_clock::now() + std::chrono::hours(24 * 29));
    Reader reader(pki_dir, ReaderId{1}, engine.port());
    REQUIRE(reader.connect().is_ok());
    REQUIRE(reader.tap());
    reader.close();
    CHECK(engine.terminate() == 0);
  }
  SECTION("a missing CRL is a start error even with the CA key: revocation is never off") {
    std::filesystem::remove(paths.crl());
    EngineProcess engine(dir.path);
    CHECK(engine.start_expecting_exit() == 1);
    std::string log = engine.log_text();
    INFO(log);
    CHECK(log.find("no CRL at " + paths.crl().string()) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(paths.crl()));  // not replaced by an empty one
  }
}

TEST_CASE("a CRL that comes due while the engine runs is re-signed on its timer and put in force") {
  TempDir dir("engine-crl-timer");
  issue_cards(dir.path);
  std::filesystem::path pki_dir = dir.path / "pki";
  make_pki(pki_dir, pki::crl_validity(), {1});
  EngineProcess engine(dir.path, "[pki]\ncrl_check_interval_ms = 200\ncrl_days = 10\n");
  engine.start();
  CHECK(metric(engine.metrics_port(), "citycard_pki_crl_days_left") > 29);
  CHECK(metric(engine.metrics_port(), "citycard_pki_ca_certificate_days_left") > 3600);
  CHECK(metric(engine.metrics_port(), "citycard_pki_engine_certificate_days_left") > 700);
  CHECK(engine.log_count("event=crl_resigned") == 0);

  // Someone re-signs it short (as if 20 of its 25 days had passed).
  REQUIRE(pki::resign_crl(pki_dir, pki::Validity{-std::chrono::hours(24 * 20), std::chrono::hours(24 * 25)}));
  REQUIRE(engine.wait_for_log("event=crl_resigned reason=crl_due", 10000ms));
  REQUIRE(engine.wait_for_log("event=pki_reloaded reason=crl_due", 10000ms));
  auto crl = pki::read_crl(pki_dir);
  REQUIRE(crl);
  auto now = std::chrono::system_clock::now();
  CHECK(crl->next_update > now + std::chrono::hours(24 * 9));  // crl_days = 10
  CHECK(crl->next_update < now + std::chrono::hours(24 * 11));
  double days = metric(engine.metrics_port(), "citycard_pki_crl_days_left");
  CHECK(days > 9);
  CHECK(days < 11);
  Reader reader(pki_dir, ReaderId{1}, engine.port());
  REQUIRE(reader.connect().is_ok());
  REQUIRE(reader.tap());
  reader.close();
  CHECK(engine.terminate() == 0);
}

TEST_CASE("revoke + SIGHUP, and revoke + citycard pki reload, close the revoked reader without a restart") {
  TempDir dir("engine-revoke");
  issue_cards(dir.path);
  std::filesystem::path pki_dir = dir.path / "pki";
  make_pki(pki_dir, pki::crl_validity(), {1, 2, 3});
  EngineProcess engine(dir.path);
  engine.start();
  pid_t pid = engine.pid();
  Reader one(pki_dir, ReaderId{1}, engine.port());
  Reader two(pki_dir, ReaderId{2}, engine.port());
  Reader three(pki_dir, ReaderId{3}, engine.port());
  for (Reader* reader : {&one, &two, &three}) {
    REQUIRE(reader->connect().is_ok());
    REQUIRE(reader->tap());
  }

  // The revoke alone changes nothing in the running engine.
  REQUIRE(pki::revoke_reader(pki_dir, ReaderId{1}).is_ok());
  REQUIRE(one.tap());
  engine.send_signal(SIGHUP);
  CHECK(one.closed_by_engine());
  REQUIRE(engine.wait_for_log("event=pki_reloaded reason=SIGHUP", 10000ms));
  CHECK(engine.log_count("connections_closed=1") == 1);
  Reader one_again(pki_dir, ReaderId{1}, engine.port());
  CHECK_FALSE(one_again.connect().is_ok());
  REQUIRE(two.tap());  // on the connection it had all along

  REQUIRE(pki::revoke_reader(pki_dir, ReaderId{3}).is_ok());
  int exit_code = -1;
  std::string output = run(std::string(CLI_BINARY) + " --clerk " + test_clerk(dir.path) + " pki reload --socket " + engine.admin_socket().string(), &exit_code);
  INFO(output);
  CHECK(exit_code == 0);
  CHECK(output.find("2 revoked") != std::string::npos);
  CHECK(output.find("1 connection(s) of revoked readers closed") != std::string::npos);
  CHECK(three.closed_by_engine());
  Reader three_again(pki_dir, ReaderId{3}, engine.port());
  CHECK_FALSE(three_again.connect().is_ok());
  auto decided = two.tap();
  REQUIRE(decided);
  CHECK(*decided == 4);
  CHECK(engine.pid() == pid);
  CHECK(metric(engine.metrics_port(), "citycard_pki_reloads_total") == 2);
  CHECK(metric(engine.metrics_port(), "citycard_connections_closed_untrusted_total") == 2);

  // A reload that cannot be asked for says why, and the engine keeps what is in force.
  std::filesystem::rename(pki::Paths{pki_dir}.crl(), dir.path / "crl.pem.away");
  output = run(std::string(CLI_BINARY) + " --clerk " + test_clerk(dir.path) + " pki reload --socket " + engine.admin_socket().string(), &exit_code);
  CHECK(exit_code == 1);
  // Without a CRL no clerk can sign in to ask for the reload (clerks are
  // checked against the CRL on disk): the engine keeps what is in force.
  CHECK(output.find("cannot check clerks without the CRL") != std::string::npos);
  REQUIRE(two.tap());
  two.close();
  CHECK(engine.terminate() == 0);
  check_ledger_verifies(dir.path);
}

TEST_CASE("a key made by citycard-reader keygen and signed by citycard pki sign-reader taps through the engine") {
  TempDir dir("engine-keygen");
  issue_cards(dir.path);
  std::filesystem::path pki_dir = dir.path / "pki";
  make_pki(pki_dir, pki::crl_validity(), {});
  std::filesystem::path device = dir.path / "device";
  std::filesystem::create_directories(device);
  std::string key = (device / "reader.key").string();
  std::string csr = (device / "reader.csr").string();
  int exit_code = -1;
  std::string output = run(std::string(READER_BINARY) + " keygen --key " + key + " --csr " + csr + " --reader-id 7",
                           &exit_code);
  INFO(output);
  REQUIRE(exit_code == 0);
  output = run(std::string(CLI_BINARY) + " --db " + (dir.path / "ledger").string() + " pki sign-reader --dir " + pki_dir.string() + " --csr " + csr +
                   " --reader-id 8",
               &exit_code);
  CHECK(exit_code == 1);
  // Reader 8 is not registered: no certificate for it, whatever the CSR.
  CHECK(output.find("reader 8 is not registered; register it first") != std::string::npos);
  output = run(std::string(CLI_BINARY) + " --db " + (dir.path / "ledger").string() + " pki sign-reader --dir " +
                   pki_dir.string() + " --csr " + csr + " --reader-id 1",
               &exit_code);
  CHECK(exit_code == 1);
  CHECK(output == "citycard: invalid argument: CSR " + csr + " is for CN 'reader-7', but --reader-id is 1 (CN reader-1)\n");
  output = run(std::string(CLI_BINARY) + " --db " + (dir.path / "ledger").string() + " pki sign-reader --dir " + pki_dir.string() + " --csr " + csr +
                   " --reader-id 7",
               &exit_code);
  REQUIRE(exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(pki::Paths{pki_dir}.reader_key(ReaderId{7})));

  EngineProcess engine(dir.path);
  engine.start();
  Reader reader(pki_dir, ReaderId{7}, engine.port(), pki::Paths{pki_dir}.reader_certificate(ReaderId{7}).string(), key);
  Status connected = reader.connect();
  INFO(connected.to_string());
  REQUIRE(connected.is_ok());
  auto decided = reader.tap();
  REQUIRE(decided);
  CHECK(*decided == 4);
  reader.close();
  CHECK(engine.terminate() == 0);
}

}  // namespace citycard::engine::testing
