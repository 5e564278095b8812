// The always-on checks: a broken invariant stops the process in every build
// (NDEBUG or not) after naming what broke on stderr. Each case runs the
// breach in a child process and reads what it said.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <string>

#include "citycard/check.h"
#include "citycard/status.h"

namespace {

struct Ended {
  bool aborted = false;
  std::string stderr_text;
};

Ended run_in_child(const std::function<void()>& body) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    body();
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  Ended ended;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) ended.stderr_text.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  ended.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  return ended;
}

}  // namespace

TEST_CASE("checks: value() of a Result holding an error stops the process and names the error, in every build") {
  Ended ended = run_in_child([] {
    citycard::Result<int> missing = citycard::Status::not_found("card 04A1 is not issued");
    volatile int value = missing.value();
    (void)value;
  });
  CHECK(ended.aborted);
  INFO(ended.stderr_text);
  CHECK(ended.stderr_text.find("event=invariant_broken") != std::string::npos);
  CHECK(ended.stderr_text.find("card 04A1 is not issued") != std::string::npos);

  Ended fine = run_in_child([] {
    citycard::Result<int> held = 7;
    if (held.value() != 7) std::abort();
  });
  CHECK_FALSE(fine.aborted);
}

TEST_CASE("checks: CITYCARD_CHECK stops the process naming the condition and where") {
  Ended ended = run_in_child([] {
    volatile int debits = 3;
    CITYCARD_CHECK(debits == 4);
  });
  CHECK(ended.aborted);
  INFO(ended.stderr_text);
  CHECK(ended.stderr_text.find("check=\"debits == 4\"") != std::string::npos);
  CHECK(ended.stderr_text.find("checks_test.cpp") != std::string::npos);
}

TEST_CASE("checks: CITYCARD_CHECK_EQ and friends also name both values") {
  Ended ended = run_in_child([] {
    volatile std::int64_t balance_change = -25;
    CITYCARD_CHECK_EQ(balance_change, 0);
  });
  CHECK(ended.aborted);
  INFO(ended.stderr_text);
  CHECK(ended.stderr_text.find("check=\"balance_change == 0\"") != std::string::npos);
  CHECK(ended.stderr_text.find("left=-25 right=0") != std::string::npos);
  CHECK(ended.stderr_text.find("checks_test.cpp") != std::string::npos);

  Ended sequence = run_in_child([] { CITYCARD_CHECK_GE(std::uint64_t{3}, std::uint64_t{7}); });
  CHECK(sequence.aborted);
  CHECK(sequence.stderr_text.find("left=3 right=7") != std::string::npos);

  Ended fine = run_in_child([] { CITYCARD_CHECK_LT(1, 2); });
  CHECK_FALSE(fine.aborted);
}

TEST_CASE("checks: CITYCARD_CHECK_OK names the error of a Status or a Result") {
  Ended ended = run_in_child([] { CITYCARD_CHECK_OK(citycard::Status::corruption("card state has unknown media 9")); });
  CHECK(ended.aborted);
  INFO(ended.stderr_text);
  CHECK(ended.stderr_text.find("error=\"corruption: card state has unknown media 9\"") != std::string::npos);

  Ended result = run_in_child([] {
    citycard::Result<int> missing = citycard::Status::not_found("reader 17");
    CITYCARD_CHECK_OK(missing);
  });
  CHECK(result.aborted);
  CHECK(result.stderr_text.find("not found: reader 17") != std::string::npos);

  Ended fine = run_in_child([] { CITYCARD_CHECK_OK(citycard::Status::ok()); });
  CHECK_FALSE(fine.aborted);
}
