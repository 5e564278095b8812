// Test helper: one citycard-engine child process on a data directory,
// started and stopped by PID. The config is the test's small one plus any
// extra TOML the test gives; the child's stderr (its log) goes to
// <data>/engine.log; an optional RLIMIT_NOFILE is set in the child before
// exec (as `ulimit -n` would).
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace citycard::engine::testing {

class EngineProcess {
 public:
  // `rules_file`: the city's rules/city.toml unless given.
  explicit EngineProcess(std::filesystem::path data, const std::string& extra_config = {}, std::string rules_file = {})
      : data_(std::move(data)) {
    if (rules_file.empty()) rules_file = std::string(CITYCARD_SOURCE_DIR) + "/rules/city.toml";
    config_ = data_ / "engine.toml";
    std::ofstream out(config_);
    out << "data_dir = \"" << data_.string() << "\"\n"
        << "rules_file = \"" << rules_file << "\"\n"
        << "[ledger]\nwrite_buffer_bytes = 4194304\nblock_cache_bytes = 8388608\n"
        << "[listen]\ntap_port = 0\nmetrics_port = 0\n"
        << "[shutdown]\ndrain_timeout_ms = 5000\n"
        << "[card]\nrequire_proof = false\ntoken_dir = \"\"\n"  // not about proofs (proof tests are)
        << extra_config;
  }
  ~EngineProcess() {
    if (pid_ > 0) kill_now();
  }

  // RLIMIT_NOFILE (soft and hard) of the child; 0 = inherit.
  void set_fd_limit(rlim_t limit) { fd_limit_ = limit; }

  // Starts it and waits for its ports file; the test fails if it exits.
  void start() {
    REQUIRE(spawn());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      read_ports();
      if (port_ != 0) return;
      int status = 0;
      pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) pid_ = -1;
      INFO("engine log:\n" << log_text());
      REQUIRE(done == 0);  // it must not have died
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL("citycard-engine did not write its ports file");
  }

  // Starts it without waiting for it to listen (it may wait for something
  // first); then ports_written() says when it does.
  void launch() { REQUIRE(spawn()); }
  bool ports_written() {
    read_ports();
    return port_ != 0;
  }

  // Starts it when it is expected to refuse to start; its exit code.
  int start_expecting_exit() {
    REQUIRE(spawn());
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill_now();
    FAIL("citycard-engine did not exit");
    return -1;
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

  void send_signal(int signal) { REQUIRE(::kill(pid_, signal) == 0); }
  // Still running (not exited, not killed by a signal)?
  bool alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
  }

  std::uint16_t port() const { return port_; }
  std::uint16_t metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }
  std::filesystem::path admin_socket() const { return data_ / "engine.sock"; }

  std::string log_text() const {
    std::ifstream in(data_ / "engine.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // How often `text` occurs in the log.
  std::size_t log_count(const std::string& text) const {
    std::string log = log_text();
    std::size_t count = 0;
    for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++count;
    return count;
  }
  // Waits until the log holds `text` `times` times; false after `timeout`.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout, std::size_t times = 1) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (log_count(text) >= times) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

 private:
  bool spawn() {
    std::filesystem::remove(data_ / "engine.ports");
    port_ = 0;  // the last run's ports, after terminate()
    metrics_port_ = 0;
    pid_ = ::fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      std::string log = (data_ / "engine.log").string();
      FILE* err = std::fopen(log.c_str(), "a");
      if (err != nullptr) ::dup2(::fileno(err), 2);
      if (fd_limit_ != 0) {
        rlimit limit{fd_limit_, fd_limit_};
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(126);
      }
      ::execl(ENGINE_BINARY, ENGINE_BINARY, "--config", config_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return true;
  }

  void read_ports() {
    std::ifstream in(data_ / "engine.ports");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("tap_port=", 0) == 0) port_ = static_cast<std::uint16_t>(std::stoi(line.substr(9)));
      if (line.rfind("metrics_port=", 0) == 0) metrics_port_ = static_cast<std::uint16_t>(std::stoi(line.substr(13)));
    }
  }

  std::filesystem::path data_;
  std::filesystem::path config_;
  rlim_t fd_limit_ = 0;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t metrics_port_ = 0;
};

}  // namespace citycard::engine::testing
