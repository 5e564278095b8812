#include "repricer.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace citycard::engine {
namespace {

constexpr std::size_t in_flight_max = 256;   // corrections queued at once (shard inboxes are bounded)
constexpr int busy_retries_max = 2000;       // x 5 ms: a shard busy for 10 s fails the close

// Posts `commands` through the engine's shards and waits for every answer;
// a busy shard's are sent again. The first failure is the answer.
Status post_through_shards(Engine& engine, std::vector<AdminCommand> commands) {
  struct Wait {
    std::mutex mutex;
    std::condition_variable done;
    std::size_t left = 0;
    std::vector<AdminCommand> busy;
    Status failure;
  };
  for (int attempt = 0; !commands.empty(); ++attempt) {
    if (attempt > busy_retries_max) return Status::busy("the engine's shards stayed busy; the day was not closed, close it again");
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::vector<AdminCommand> again;
    for (std::size_t begin = 0; begin < commands.size(); begin += in_flight_max) {
      auto wait = std::make_shared<Wait>();
      const std::size_t end = std::min(commands.size(), begin + in_flight_max);
      wait->left = end - begin;
      for (std::size_t i = begin; i < end; ++i) {
        AdminCommand copy = commands[i];
        engine.admin(std::move(copy), [wait, command = commands[i]](AdminResult result) {
          std::lock_guard lock(wait->mutex);
          if (result.status.code() == StatusCode::busy) wait->busy.push_back(command);
          else if (!result.status && wait->failure.is_ok()) wait->failure = result.status;
          if (--wait->left == 0) wait->done.notify_all();
        });
      }
      std::unique_lock lock(wait->mutex);
      wait->done.wait(lock, [&] { return wait->left == 0; });
      if (!wait->failure) return wait->failure;
      for (auto& command : wait->busy) again.push_back(std::move(command));
    }
    commands = std::move(again);
  }
  return Status::ok();
}

}  // namespace

Repricer engine_repricer(Engine& engine, ledger::Ledger& ledger, ledger::SystemAccounts system) {
  return [&engine, &ledger, system](std::int32_t business_day) {
    const auto book = engine.rules();
    return reprice_day(ledger, *book, system, business_day,
                       [&engine](std::vector<AdminCommand> commands) { return post_through_shards(engine, std::move(commands)); });
  };
}

}  // namespace citycard::engine
