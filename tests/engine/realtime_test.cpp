// Real-time scheduling of the threads a tap waits on (pipeline.realtime_priority):
// the network loop, shard, prepare and commit threads run SCHED_FIFO at the
// priority set while RocksDB's flushes and compactions do not; a tap still
// goes through end to end; a process that may not use the priority is told
// why; the configuration key is read and range-checked; the tap path is let
// down to the ordinary scheduler while the ledger's flushes fall behind, and
// raised again after.
#include "engine_fixture.h"

#include <grp.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "citycard/realtime.h"
#include "engine/core/config.h"
#include "engine/core/huge_page_heap.h"
#include "engine/core/realtime_yield.h"
#include "engine/net/server.h"
#include "engine/pki/pki.h"
#include "readers/uplink/uplink.h"

namespace citycard::engine::testing {
namespace {

struct Scheduling {
  int policy = -1;
  int priority = -1;
};

// Every thread of this process by name (/proc/self/task/*/comm).
std::multimap<std::string, Scheduling> threads_by_name() {
  std::multimap<std::string, Scheduling> threads;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (!std::getline(comm, name)) continue;  // the thread ended meanwhile
    const pid_t tid = static_cast<pid_t>(std::stol(task.path().filename().string()));
    Scheduling scheduling;
    scheduling.policy = sched_getscheduler(tid);
    sched_param param{};
    if (sched_getparam(tid, &param) == 0) scheduling.priority = param.sched_priority;
    threads.emplace(name, scheduling);
  }
  return threads;
}

// One thread's policy now, by its id.
int policy_of(pid_t tid) { return sched_getscheduler(tid); }

// Waits up to 10 s (a busy machine) for `done`.
template <typename Done>
bool eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::string file_text(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file)) text.append(buffer, n);
  return text;
}

// Threads that join a real-time set and stay until released.
class Members {
 public:
  void start(RealtimeThreads& set, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      threads_.emplace_back([this, &set] {
        RealtimeThreads::Member member;
        Status joined = set.join(member);
        const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
        std::unique_lock lock(mutex_);
        tids_.push_back(joined ? tid : -1);
        changed_.notify_all();
        changed_.wait(lock, [this] { return released_; });
      });
    }
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return tids_.size() == threads_.size(); });
  }
  std::vector<pid_t> tids() {
    std::lock_guard lock(mutex_);
    return tids_;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    changed_.notify_all();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }
  ~Members() {
    if (!threads_.empty()) release();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<pid_t> tids_;
  bool released_ = false;
  std::vector<std::thread> threads_;
};

constexpr int priority = 7;
const std::string card_a = "04A1B2C3D4E5F6";
constexpr ReaderId reader{17};

}  // namespace

TEST_CASE("with pipeline.realtime_priority the tap path runs SCHED_FIFO and the ledger's background threads do not") {
  TempDir dir("realtime");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, card_a, 100);
  EngineOptions options = Pipeline::quick_options();
  options.realtime_priority = priority;

  if (Status allowed = check_realtime_allowed(priority); !allowed) {
    // Not root here (CI is): the start is refused and says what is missing.
    Metrics metrics;
    Log log(std::tmpfile());
    auto started = Engine::start(*ledger, rules::RuleBook::single(city_rules()), options, metrics, log);
    REQUIRE_FALSE(started);
    CHECK(started.status().message().find("CAP_SYS_NICE") != std::string::npos);
    return;
  }

  Pipeline pipeline(*ledger, options);
  pki::Paths paths{dir.path / "pki"};
  REQUIRE(pki::init(paths.dir).is_ok());
  REQUIRE(pki::issue_engine(paths.dir, {"localhost", "127.0.0.1"}).is_ok());
  REQUIRE(pki::issue_reader(paths.dir, reader).is_ok());
  net::ServerOptions server_options;
  server_options.tls = net::TlsFiles{paths.ca_certificate().string(), paths.crl().string(),
                                     paths.engine_certificate().string(), paths.engine_key().string()};
  server_options.realtime = pipeline.engine->realtime_threads();
  auto server = net::Server::start(server_options, *pipeline.engine, &pipeline.engine->deny_list());
  INFO(server.status().to_string());
  REQUIRE(server);

  // Each thread names itself and then sets its scheduling once it runs:
  // on a busy machine that may be a moment after start() returned.
  const std::vector<std::string> tap_path{"cc-net", "cc-shard-0", "cc-prepare", "cc-commit"};
  auto threads = threads_by_name();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto all_real_time = [&] {
    for (const auto& name : tap_path) {
      if (threads.count(name) != 1 || threads.find(name)->second.policy != SCHED_FIFO) return false;
    }
    return threads.count("cc-rt-watch") == 1 && threads.find("cc-rt-watch")->second.policy == SCHED_FIFO;
  };
  while (!all_real_time() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    threads = threads_by_name();
  }
  for (const auto& name : tap_path) {
    INFO(name);
    REQUIRE(threads.count(name) == 1);
    CHECK(threads.find(name)->second.policy == SCHED_FIFO);
    CHECK(threads.find(name)->second.priority == priority);
  }
  std::size_t background = 0;
  for (const auto& [name, scheduling] : threads) {
    if (name.rfind("rocksdb:", 0) != 0) continue;
    ++background;
    INFO(name);
    CHECK(scheduling.policy != SCHED_FIFO);
  }
  CHECK(background > 0);
  CHECK(sched_getscheduler(0) == SCHED_OTHER);  // the thread that started them is left as it was
  // One set, so they yield together; its watcher runs above them.
  CHECK(pipeline.engine->realtime_threads()->members() == tap_path.size());
  REQUIRE(threads.count("cc-rt-watch") == 1);
  CHECK(threads.find("cc-rt-watch")->second.policy == SCHED_FIFO);
  CHECK(threads.find("cc-rt-watch")->second.priority == priority + 1);
  CHECK_FALSE(pipeline.engine->realtime_threads()->yielded());  // a fresh ledger keeps up

  // A tap over TLS to the real-time threads: rated, durable, answered.
  uplink::UplinkOptions client;
  client.port = (*server)->port();
  client.ca_certificate = paths.ca_certificate().string();
  client.certificate = paths.reader_certificate(reader).string();
  client.private_key = paths.reader_key(reader).string();
  client.reader = reader;
  client.reply_timeout = std::chrono::milliseconds(5000);
  uplink::Uplink link(client);
  REQUIRE(link.connect().is_ok());
  protocol::TapBatch batch;
  batch.batch_id = 1;
  batch.taps.push_back(make_tap(reader.value, 1, card_a, Mode::bus_board, 101, monday_8am_us));
  auto reply = link.submit(batch);
  INFO(reply.status().to_string());
  REQUIRE(reply);
  REQUIRE(reply->kind == uplink::BatchReply::Kind::decided);
  REQUIRE(reply->decisions.decisions.size() == 1);
  CHECK(reply->decisions.decisions[0].outcome == protocol::Outcome::approved);
  CHECK(wallet_of(*ledger, card_a) == 85);
  link.close();
  (*server)->stop(std::chrono::milliseconds(2000));
  pipeline.engine->stop();
}

TEST_CASE("a realtime priority the process may not use is refused with its cause, and 0 changes nothing") {
  CHECK(run_this_thread_realtime(0).is_ok());
  CHECK(sched_getscheduler(0) == SCHED_OTHER);
  auto out_of_range = run_this_thread_realtime(100);
  REQUIRE_FALSE(out_of_range);
  CHECK(out_of_range.code() == StatusCode::invalid_argument);
  CHECK(sched_getscheduler(0) == SCHED_OTHER);

  // As a user without CAP_SYS_NICE and no RLIMIT_RTPRIO (root becomes
  // nobody in a child process; a user who is not root already is one).
  constexpr int cannot_drop_root = 10;  // e.g. a user namespace without `nobody`
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
                           setresuid(65534, 65534, 65534) != 0)) {
      _exit(cannot_drop_root);
    }
    rlimit none{0, 0};
    if (setrlimit(RLIMIT_RTPRIO, &none) != 0) _exit(4);
    Status refused = run_this_thread_realtime(priority);
    if (refused) _exit(5);
    if (refused.code() != StatusCode::refused) _exit(6);
    if (refused.message().find("realtime priority 7") == std::string::npos ||
        refused.message().find("CAP_SYS_NICE") == std::string::npos) {
      _exit(7);
    }
    _exit(sched_getscheduler(0) == SCHED_OTHER ? 0 : 8);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == cannot_drop_root) {
    WARN("this machine's root cannot become nobody: the refusal was not tried");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a real-time set lets its members down to the ordinary scheduler together and raises them again") {
  if (Status allowed = check_realtime_allowed(priority); !allowed) {
    WARN("not allowed to use real-time priorities here: " + allowed.to_string());
    return;
  }
  RealtimeThreads set(priority);
  Members first;
  first.start(set, 3);
  REQUIRE(set.members() == 3);
  for (pid_t tid : first.tids()) CHECK(policy_of(tid) == SCHED_FIFO);

  REQUIRE(set.set_yielded(true).is_ok());
  CHECK(set.yielded());
  for (pid_t tid : first.tids()) CHECK(policy_of(tid) == SCHED_OTHER);
  Members joined_while_yielded;  // starts ordinary, and is raised with the rest
  joined_while_yielded.start(set, 1);
  CHECK(policy_of(joined_while_yielded.tids()[0]) == SCHED_OTHER);

  REQUIRE(set.set_yielded(false).is_ok());
  for (pid_t tid : first.tids()) CHECK(policy_of(tid) == SCHED_FIFO);
  CHECK(policy_of(joined_while_yielded.tids()[0]) == SCHED_FIFO);
  sched_param param{};
  REQUIRE(sched_getparam(first.tids()[0], &param) == 0);
  CHECK(param.sched_priority == priority);

  // A thread that ended has left: no id of it is set afterwards.
  first.release();
  CHECK(set.members() == 1);
  CHECK(set.set_yielded(true).is_ok());
  CHECK(policy_of(joined_while_yielded.tids()[0]) == SCHED_OTHER);

  // Priority 0: nothing is real-time and nothing changes.
  RealtimeThreads off(0);
  Members ordinary;
  ordinary.start(off, 1);
  CHECK(off.members() == 0);
  CHECK(off.set_yielded(true).is_ok());
  CHECK_FALSE(off.yielded());
  CHECK(policy_of(ordinary.tids()[0]) == SCHED_OTHER);
}

TEST_CASE("the flushes are behind with a stall, two full memtables waiting, or a flush running for long") {
  YieldThresholds thresholds;
  ledger::FlushBacklog backlog;
  CHECK(flush_behind(backlog, thresholds).empty());
  backlog.immutable_memtables_max = 1;  // one waits while the one before it flushes
  backlog.oldest_flush = std::chrono::milliseconds(19900);
  CHECK(flush_behind(backlog, thresholds).empty());
  backlog.oldest_flush = std::chrono::milliseconds(20300);
  CHECK(flush_behind(backlog, thresholds) == "a flush running for 20.3 s");
  backlog.immutable_memtables_max = 2;
  CHECK(flush_behind(backlog, thresholds) == "2 full memtables of one family waiting for a flush");
  backlog.writes_stalled = true;
  CHECK(flush_behind(backlog, thresholds) == "writes stalled");
}

TEST_CASE("the tap path yields while the flushes are behind and is real-time again once they kept up") {
  if (Status allowed = check_realtime_allowed(priority + 1); !allowed) {
    WARN("not allowed to use real-time priorities here: " + allowed.to_string());
    return;
  }
  RealtimeThreads set(priority);
  Members tap_path;
  tap_path.start(set, 2);
  std::mutex mutex;
  ledger::FlushBacklog backlog;
  auto read_backlog = [&] {
    std::lock_guard lock(mutex);
    return backlog;
  };
  auto set_backlog = [&](ledger::FlushBacklog next) {
    std::lock_guard lock(mutex);
    backlog = next;
  };
  YieldThresholds thresholds;
  thresholds.poll = std::chrono::milliseconds(5);
  thresholds.calm = std::chrono::milliseconds(300);
  Metrics metrics;
  std::FILE* log_file = std::tmpfile();
  REQUIRE(log_file != nullptr);
  Log log(log_file);
  RealtimeYield yield(set, read_backlog, thresholds, metrics, log);
  auto all_are = [&](int policy) {
    for (pid_t tid : tap_path.tids()) {
      if (policy_of(tid) != policy) return false;
    }
    return true;
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(all_are(SCHED_FIFO));  // keeping up: left real-time

  ledger::FlushBacklog behind;
  behind.immutable_memtables_max = 3;
  set_backlog(behind);
  REQUIRE(eventually([&] { return all_are(SCHED_OTHER); }));
  CHECK(metrics.realtime_yielded());
  CHECK(metrics.realtime_yields() == 1);

  // Caught up for less than the calm, then behind again: still yielded.
  set_backlog({});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ledger::FlushBacklog flush_long;
  flush_long.oldest_flush = std::chrono::seconds(21);
  set_backlog(flush_long);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(all_are(SCHED_OTHER));

  const auto calm_from = std::chrono::steady_clock::now();
  set_backlog({});
  REQUIRE(eventually([&] { return all_are(SCHED_FIFO); }));
  CHECK(std::chrono::steady_clock::now() - calm_from >= thresholds.calm);
  CHECK_FALSE(metrics.realtime_yielded());
  CHECK(metrics.realtime_yields() == 1);
  yield.stop();

  const std::string text = file_text(log_file);
  INFO(text);
  CHECK(text.find("event=realtime_yielded cause=\"3 full memtables of one family waiting for a flush\" threads=2") !=
        std::string::npos);
  CHECK(text.find("event=realtime_resumed seconds_yielded=") != std::string::npos);
  CHECK(text.find("realtime_set_failed") == std::string::npos);
  const std::string metrics_text = metrics.render(Gauges{});
  CHECK(metrics_text.find("citycard_realtime_yields_total 1") != std::string::npos);
  CHECK(metrics_text.find("citycard_realtime_yielded 0") != std::string::npos);
  std::fclose(log_file);
}

TEST_CASE("pipeline.realtime_priority is off by default, read, and range-checked by name") {
  auto defaults = parse_config("", "engine.toml");
  REQUIRE(defaults);
  CHECK(defaults->pipeline.realtime_priority == 0);
  auto set = parse_config("[pipeline]\nrealtime_priority = 10\n", "engine.toml");
  INFO(set.status().to_string());
  REQUIRE(set);
  CHECK(set->pipeline.realtime_priority == 10);
  for (const char* bad : {"[pipeline]\nrealtime_priority = 100\n", "[pipeline]\nrealtime_priority = -1\n"}) {
    auto refused = parse_config(bad, "engine.toml");
    REQUIRE_FALSE(refused);
    CHECK(refused.status().message().find("pipeline.realtime_priority must be an integer in 0..99") != std::string::npos);
  }
}

TEST_CASE("pipeline.huge_page_heap is on by default and read") {
  auto defaults = parse_config("", "engine.toml");
  REQUIRE(defaults);
  CHECK(defaults->huge_page_heap);
  auto off = parse_config("[pipeline]\nhuge_page_heap = false\n", "engine.toml");
  INFO(off.status().to_string());
  REQUIRE(off);
  CHECK_FALSE(off->huge_page_heap);
  auto bad = parse_config("[pipeline]\nhuge_page_heap = 1\n", "engine.toml");
  REQUIRE_FALSE(bad);
  CHECK(bad.status().message().find("pipeline.huge_page_heap") != std::string::npos);
}

TEST_CASE("pipeline.heap_reserve_mib follows the ledger's memory unless set, and is bounded") {
  // Three memtables of each of the 8 column families and the block cache.
  auto defaults = parse_config("", "engine.toml");
  REQUIRE(defaults);
  CHECK(defaults->heap_reserve_mib == std::size_t{3 * 8 * 64 + 256});
  auto small = parse_config("[ledger]\nwrite_buffer_bytes = 4194304\nblock_cache_bytes = 8388608\n", "engine.toml");
  REQUIRE(small);
  CHECK(small->heap_reserve_mib == std::size_t{3 * 8 * 4 + 8});
  auto large = parse_config("[ledger]\nwrite_buffer_bytes = 1073741824\n", "engine.toml");
  REQUIRE(large);
  CHECK(large->heap_reserve_mib == heap_reserve_mib_max);
  auto none = parse_config("[pipeline]\nheap_reserve_mib = 0\n", "engine.toml");
  INFO(none.status().to_string());
  REQUIRE(none);
  CHECK(none->heap_reserve_mib == std::size_t{0});
  auto some = parse_config("[pipeline]\nheap_reserve_mib = 512\n", "engine.toml");
  REQUIRE(some);
  CHECK(some->heap_reserve_mib == std::size_t{512});
  for (const char* bad_value : {"-1", "4097", "\"lots\""}) {
    auto bad = parse_config(std::string("[pipeline]\nheap_reserve_mib = ") + bad_value + "\n", "engine.toml");
    INFO(bad_value);
    REQUIRE_FALSE(bad);
    CHECK(bad.status().message().find("pipeline.heap_reserve_mib") != std::string::npos);
  }
}

}  // namespace citycard::engine::testing
