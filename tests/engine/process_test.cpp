// citycard-engine as a process: killed with SIGKILL under load and
// restarted, every tap that got a decision is in the ledger exactly once and
// verify passes; SIGTERM drains and exits 0 with every decided tap durable.
#include "engine_fixture.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "engine/pki/pki.h"
#include "readers/uplink/uplink.h"

namespace citycard::engine::testing {
namespace {

constexpr int card_count = 50;
constexpr std::int64_t initial_balance = 9000;
constexpr int reader_count = 3;

std::string card_hex(int i) {
  char text[16];
  std::snprintf(text, sizeof text, "0C%08X", i);
  return text;
}

// One citycard-engine child process on a data directory.
class EngineProcess {
 public:
  explicit EngineProcess(std::filesystem::path data) : data_(std::move(data)) {
    config_ = data_ / "engine.toml";
    std::ofstream out(config_);
    out << "data_dir = \"" << data_.string() << "\"\n"
        << "rules_file = \"" << CITYCARD_SOURCE_DIR << "/rules/city.toml\"\n"
        << "[ledger]\nwrite_buffer_bytes = 4194304\nblock_cache_bytes = 8388608\n"
        << "[listen]\ntap_port = 0\nmetrics_port = 0\n"
        << "[shutdown]\ndrain_timeout_ms = 5000\n"
        << "[card]\nrequire_proof = false\ntoken_dir = \"\"\n";   // not about proofs
  }
  ~EngineProcess() {
    if (pid_ > 0) kill_now();
  }

  void start() {
    std::filesystem::remove(data_ / "engine.ports");
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      std::string log = (data_ / "engine.log").string();
      FILE* err = std::fopen(log.c_str(), "a");
      if (err != nullptr) ::dup2(::fileno(err), 2);
      ::execl(ENGINE_BINARY, ENGINE_BINARY, "--config", config_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(data_ / "engine.ports");
      std::string line;
      while (std::getline(in, line)) {
        if (line.rfind("tap_port=", 0) == 0) port_ = static_cast<std::uint16_t>(std::stoi(line.substr(9)));
      }
      if (port_ != 0) return;
      int status = 0;
      REQUIRE(::waitpid(pid_, &status, WNOHANG) == 0);  // it must not have died
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL("citycard-engine did not write its ports file");
  }

  void kill_now() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    port_ = 0;
  }

  // SIGTERM; returns the exit code (or -1 when it did not exit in time).
  int terminate() {
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill_now();
    return -1;
  }

  std::uint16_t port() const { return port_; }

 private:
  std::filesystem::path data_;
  std::filesystem::path config_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// What readers were told, per tap.
struct Told {
  std::mutex mutex;
  std::map<TapId, protocol::DecisionRecord> decisions;
  std::map<TapId, protocol::TapRecord> sent;
};

uplink::UplinkOptions reader_options(const std::filesystem::path& pki_dir, ReaderId reader, std::uint16_t port) {
  pki::Paths paths{pki_dir};
  uplink::UplinkOptions options;
  options.port = port;
  options.ca_certificate = paths.ca_certificate().string();
  options.certificate = paths.reader_certificate(reader).string();
  options.private_key = paths.reader_key(reader).string();
  options.reader = reader;
  options.connect_timeout = std::chrono::milliseconds(3000);
  options.reply_timeout = std::chrono::milliseconds(3000);
  return options;
}

// Sends batches until told to stop or the link breaks; records decisions.
void load(const std::filesystem::path& pki_dir, ReaderId reader, std::uint16_t port, Told& told,
          const std::atomic<bool>& stop) {
  uplink::Uplink link(reader_options(pki_dir, reader, port));
  if (!link.connect().is_ok()) return;
  std::uint64_t sequence = 0;
  std::uint64_t batch_id = 0;
  while (!stop.load()) {
    protocol::TapBatch batch;
    batch.batch_id = ++batch_id;
    for (int i = 0; i < 32; ++i) {
      ++sequence;
      int card = static_cast<int>((sequence * 7 + reader.value) % card_count);
      auto tap = make_tap(reader.value, sequence, card_hex(card), Mode::bus_board, 101,
                          monday_8am_us + static_cast<std::int64_t>(sequence) * 60'000'000);
      batch.taps.push_back(tap);
    }
    {
      std::lock_guard lock(told.mutex);
      for (const auto& tap : batch.taps) told.sent[tap.tap.id] = tap;
    }
    auto reply = link.submit(batch);
    if (!reply) return;  // the engine went away
    if (reply->kind == uplink::BatchReply::Kind::retry_later) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;  // these taps are resent later with the rest
    }
    std::lock_guard lock(told.mutex);
    for (const auto& decision : reply->decisions.decisions) told.decisions[decision.tap] = decision;
  }
}

// Resends every tap ever sent; each must come back decided, the decided ones
// with their first decision (replayed).
void resend_all(const std::filesystem::path& pki_dir, std::uint16_t port, Told& told) {
  std::map<ReaderId, std::vector<protocol::TapRecord>> by_reader;
  for (const auto& [id, tap] : told.sent) by_reader[id.reader].push_back(tap);
  for (auto& [reader, taps] : by_reader) {
    uplink::Uplink link(reader_options(pki_dir, reader, port));
    REQUIRE(link.connect().is_ok());
    for (std::size_t first = 0; first < taps.size(); first += limits::batch_taps_max) {
      protocol::TapBatch batch;
      batch.batch_id = first + 1;
      for (std::size_t i = first; i < std::min(taps.size(), first + limits::batch_taps_max); ++i) batch.taps.push_back(taps[i]);
      auto reply = link.submit(batch);
      REQUIRE(reply);
      REQUIRE(reply->kind == uplink::BatchReply::Kind::decided);
      for (const auto& decision : reply->decisions.decisions) {
        auto earlier = told.decisions.find(decision.tap);
        if (earlier != told.decisions.end()) {
          protocol::DecisionRecord expected = earlier->second;
          expected.flags |= protocol::DecisionFlags::replayed;
          CHECK(decision == expected);
        } else {
          told.decisions[decision.tap] = decision;
        }
      }
    }
  }
}

void issue_cards_and_readers(const std::filesystem::path& data) {
  auto ledger = make_ledger(data / "ledger");
  for (int i = 0; i < card_count; ++i) issue_card(*ledger, card_hex(i), initial_balance);
}

void issue_readers(const std::filesystem::path& pki_dir) {
  for (std::uint32_t r = 1; r <= reader_count; ++r) {
    if (!std::filesystem::exists(pki::Paths{pki_dir}.reader_certificate(ReaderId{r}))) {
      REQUIRE(pki::issue_reader(pki_dir, ReaderId{r}).is_ok());
    }
  }
}

// Every decided tap is in the ledger once: its key is there, and each card's
// wallet moved by exactly the fares its decisions name.
void check_ledger(const std::filesystem::path& data, Told& told, bool all_decided) {
  auto ledger = reopen_ledger(data / "ledger");
  auto report = ledger->verify();
  for (const auto& problem : report.problems) INFO(problem.kind + ": " + problem.detail);
  CHECK(report.ok());
  std::vector<std::int64_t> fares(card_count, 0);
  for (const auto& [id, decision] : told.decisions) {
    auto transfers = ledger->transfers_for(IdempotencyKey::for_tap(id));
    REQUIRE(transfers);
    int card = static_cast<int>((id.sequence * 7 + id.reader.value) % card_count);
    fares[static_cast<std::size_t>(card)] += decision.fare_minor;
    std::int64_t moved = 0;
    for (const auto& stored : *transfers) {
      if (stored.transfer.code == TransferCode::fare) moved += stored.transfer.amount_minor;
    }
    CHECK(moved == decision.fare_minor);
  }
  if (all_decided) {
    for (int i = 0; i < card_count; ++i) CHECK(wallet_of(*ledger, card_hex(i)) == initial_balance - fares[static_cast<std::size_t>(i)]);
  }
}

std::size_t run_load(const std::filesystem::path& pki_dir, std::uint16_t port, Told& told,
                     std::chrono::milliseconds how_long, const std::function<void()>& then) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (std::uint32_t r = 1; r <= reader_count; ++r) {
    readers.emplace_back([&, r] { load(pki_dir, ReaderId{r}, port, told, stop); });
  }
  std::this_thread::sleep_for(how_long);
  then();
  stop = true;
  for (auto& thread : readers) thread.join();
  std::lock_guard lock(told.mutex);
  return told.decisions.size();
}

}  // namespace

TEST_CASE("the engine killed with SIGKILL under load loses no decided tap and doubles none") {
  TempDir dir("engine-sigkill");
  issue_cards_and_readers(dir.path);
  EngineProcess engine(dir.path);
  engine.start();
  issue_readers(dir.path / "pki");
  Told told;
  std::size_t decided = run_load(dir.path / "pki", engine.port(), told, std::chrono::milliseconds(1500),
                                 [&] { engine.kill_now(); });
  INFO("decided before the kill: " << decided << ", sent: " << told.sent.size());
  CHECK(decided > 100);
  CHECK(told.sent.size() >= decided);
  // What was decided is durable, even before the restart.
  check_ledger(dir.path, told, false);

  engine.start();
  resend_all(dir.path / "pki", engine.port(), told);
  CHECK(told.decisions.size() == told.sent.size());
  CHECK(engine.terminate() == 0);
  check_ledger(dir.path, told, true);
}

TEST_CASE("SIGTERM under load drains: exit 0 and every decided tap durable") {
  TempDir dir("engine-sigterm");
  issue_cards_and_readers(dir.path);
  EngineProcess engine(dir.path);
  engine.start();
  issue_readers(dir.path / "pki");
  Told told;
  int exit_code = -2;
  std::size_t decided = run_load(dir.path / "pki", engine.port(), told, std::chrono::milliseconds(800),
                                 [&] { exit_code = engine.terminate(); });
  CHECK(exit_code == 0);
  CHECK(decided > 100);
  std::ifstream log(dir.path / "engine.log");
  std::stringstream text;
  text << log.rdbuf();
  CHECK(text.str().find("event=engine_stopped") != std::string::npos);
  CHECK(!std::filesystem::exists(dir.path / "engine.sock"));
  check_ledger(dir.path, told, false);
}

TEST_CASE("the CLI goes through the running engine's admin socket, and straight to the ledger without it") {
  TempDir dir("engine-cli");
  issue_cards_and_readers(dir.path);
  EngineProcess engine(dir.path);
  engine.start();
  auto cli = [&](const std::string& args) {
    std::string command = std::string(CLI_BINARY) + " --db " + (dir.path / "ledger").string() + " " + args + " 2>&1";
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    int status = ::pclose(pipe);
    INFO(command << "\n" << output);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    return output;
  };
  std::string card = card_hex(1);
  CHECK(cli("topup " + card + " 100 --ref op:9:1").find("wallet 9100 TWD") != std::string::npos);
  CHECK(cli("topup " + card + " 100 --ref op:9:1").find("already done") != std::string::npos);
  CHECK(cli("refund " + card + " 40").find("wallet 9060 TWD") != std::string::npos);
  CHECK(cli("card lost " + card).find("is lost") != std::string::npos);
  CHECK(cli("card replace " + card + " 0DDDDDDD01").find("moved 9060 TWD") != std::string::npos);
  CHECK(cli("--json balance 0DDDDDDD01").find("\"wallet_minor\":9060") != std::string::npos);
  CHECK(cli("history 0DDDDDDD01").find("balance_move") != std::string::npos);
  CHECK(engine.terminate() == 0);
  // Without the engine the same commands use the ledger.
  CHECK(cli("refund 0DDDDDDD01 60").find("wallet now 9000 TWD") != std::string::npos);
  CHECK(cli("verify").find("OK") != std::string::npos);
}

}  // namespace citycard::engine::testing
