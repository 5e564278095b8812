// Test helper: a child process started with fork/exec and always reaped.
// stop() sends SIGTERM repeatedly and SIGKILL after a deadline (recipe §3);
// the destructor does the same, so a failing test never leaves a child behind.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace citycard::test {

class ChildProcess {
 public:
  // Starts argv[0] with argv; if capture_stdout, the child's stdout is readable via read_line().
  static ChildProcess start(const std::vector<std::string>& argv, bool capture_stdout = false) {
    int pipe_fds[2] = {-1, -1};
    if (capture_stdout && ::pipe(pipe_fds) != 0) return ChildProcess(-1, -1);
    pid_t pid = ::fork();
    if (pid == 0) {
      if (capture_stdout) {
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
      }
      std::vector<char*> args;
      for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      std::perror("execv");
      ::_exit(127);
    }
    if (capture_stdout) ::close(pipe_fds[1]);
    return ChildProcess(pid, capture_stdout ? pipe_fds[0] : -1);
  }

  ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_), out_fd_(other.out_fd_), exit_status_(other.exit_status_) {
    other.pid_ = -1;
    other.out_fd_ = -1;
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    stop();
    if (out_fd_ >= 0) ::close(out_fd_);
  }

  bool started() const { return pid_ > 0 || exit_status_.has_value(); }
  pid_t pid() const { return pid_; }

  // SIGTERM until gone (5 s), then SIGKILL; returns the wait() status.
  std::optional<int> stop(int first_signal = SIGTERM) {
    if (pid_ <= 0) return exit_status_;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      ::kill(pid_, first_signal);
      if (poll_exit(std::chrono::milliseconds(100))) return exit_status_;
    }
    ::kill(pid_, SIGKILL);
    poll_exit(std::chrono::seconds(5));
    return exit_status_;
  }
  void kill_now() { stop(SIGKILL); }

  // Waits for the child to exit on its own; nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return exit_status_;
    if (poll_exit(timeout)) return exit_status_;
    return std::nullopt;
  }

  // One line of the child's stdout (without '\n'); nullopt at EOF or timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0 || out_fd_ < 0) return std::nullopt;
      pollfd_wait(static_cast<int>(left));
      char chunk[512];
      ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
      if (n == 0) return std::nullopt;
      if (n > 0) buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  ChildProcess(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}
  bool poll_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_status_ = status;
        pid_ = -1;
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }
  void pollfd_wait(int timeout_ms) {
    pollfd entry{out_fd_, POLLIN, 0};
    ::poll(&entry, 1, timeout_ms);
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::optional<int> exit_status_;
  std::string buffer_;
};

}  // namespace citycard::test

