#include "settlement_desk.h"

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "admin_api.h"
#include "settlement/ack.h"
#include "settlement/settlement.h"
#include "settlement/summary_json.h"
#include "citycard/thread_name.h"

namespace citycard::engine {
namespace {

using nlohmann::json;
namespace st = citycard::settlement;

EventTime system_now() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return EventTime{std::chrono::duration_cast<std::chrono::microseconds>(now).count()};
}

Result<std::string> string_field(const json& request, const char* name) {
  auto found = request.find(name);
  if (found == request.end() || !found->is_string() || found->get<std::string>().empty())
    return Status::invalid_argument(std::string("'") + name + "' (a string) is required");
  return found->get<std::string>();
}

// The engine runs in its own directory: a relative path would name another
// file than the one the clerk meant.
Result<std::string> path_field(const json& request, const char* name) {
  auto path = string_field(request, name);
  if (!path) return path;
  if (!std::filesystem::path(*path).is_absolute())
    return Status::invalid_argument(std::string("'") + name + "' must be an absolute path, got '" + *path + "'");
  return path;
}

Result<st::BusinessDay> day_field(const json& request) {
  auto text = string_field(request, "day");
  if (!text) return text.status();
  auto day = st::BusinessDay::parse(*text);
  if (!day) return Status::invalid_argument("bad business day '" + *text + "' (expected YYYY-MM-DD)");
  return *day;
}

// A request may name the directories (the CLI sends its --out/--keys), but
// only the engine's own: anything else is refused, not followed.
Result<std::string> place_field(const json& request, const char* name, const std::string& configured, const char* key) {
  const std::string own = std::filesystem::weakly_canonical(std::filesystem::absolute(configured)).string();
  if (!request.contains(name)) return own;
  auto path = path_field(request, name);
  if (!path) return path;
  if (std::filesystem::weakly_canonical(*path).string() != own) {
    return Status::refused(fmt::format("the engine's settlement {} is {} ([settlement] {}), not {}",
                                                 std::string_view(name) == "out_dir" ? "directory" : "key directory", own,
                                                 key, *path));
  }
  return own;
}

Result<st::Options> options_field(const json& request, const st::DayConfig& day, const SettlementPlaces& places) {
  st::Options options;
  options.day = day;
  auto out_dir = place_field(request, "out_dir", places.out_dir, "dir");
  if (!out_dir) return out_dir.status();
  auto key_dir = place_field(request, "key_dir", places.key_dir, "key_dir");
  if (!key_dir) return key_dir.status();
  options.out_dir = *out_dir;
  options.key_dir = *key_dir;
  return options;
}

}  // namespace

SettlementDesk::SettlementDesk(ledger::Ledger& ledger, st::DayConfig day, SettlementPlaces places, Log& log,
                               std::function<EventTime()> clock)
    : ledger_(ledger), day_(day), places_(std::move(places)), log_(log), clock_(clock ? std::move(clock) : system_now) {}

SettlementDesk::~SettlementDesk() {
  if (worker_.joinable()) worker_.join();
}

json SettlementDesk::start(std::string what, Work work) {
  std::lock_guard lock(mutex_);
  if (job_.number != 0 && job_.running)
    return error_reply(Status::busy("settlement job " + std::to_string(job_.number) + " (" + job_.what +
                                    ") is still running; ask settle_job for it and try again when it is done"));
  if (worker_.joinable()) worker_.join();  // finished: its thread only returns
  job_ = Job{};
  job_.number = ++jobs_started_;
  job_.what = std::move(what);
  const std::uint64_t number = job_.number;
  log_.event("settlement_job_started", {{"job", std::to_string(number)}, {"what", job_.what}});
  worker_ = std::thread([this, number, work = std::move(work)] {
    name_this_thread("cc-settle");
    auto progress = [this](std::uint64_t done, std::uint64_t total) {
      std::lock_guard lock(mutex_);
      job_.done = done;
      job_.total = total;
    };
    json reply = work(progress);
    std::lock_guard lock(mutex_);
    job_.running = false;
    job_.reply = std::move(reply);
    log_.event("settlement_job_finished", {{"job", std::to_string(number)}, {"what", job_.what},
                                           {"ok", job_.reply.value("ok", false) ? "yes" : "no"},
                                           {"error", job_.reply.value("error", std::string())}});
  });
  return json{{"ok", true}, {"job", number}, {"state", "running"}};
}

json SettlementDesk::status(std::uint64_t number) const {
  std::lock_guard lock(mutex_);
  if (number == 0 || number != job_.number)
    return error_reply(Status::not_found("no settlement job " + std::to_string(number) + " (the engine keeps only its last)"));
  if (job_.running) return json{{"ok", true}, {"job", number}, {"state", "running"}, {"done", job_.done}, {"total", job_.total}};
  json out = job_.reply;
  out["job"] = number;
  out["state"] = job_.reply.value("ok", false) ? "done" : "failed";
  return out;
}

void SettlementDesk::handle(const std::string& op, const json& request, const std::function<void(json)>& reply) {
  if (op == "settle_job") {
    auto found = request.find("job");
    if (found == request.end() || !found->is_number_integer() || found->get<std::int64_t>() < 0)
      return reply(error_reply(Status::invalid_argument("'job' (the number settle_close, settle_ack or settle_resend answered) is required")));
    return reply(status(found->get<std::uint64_t>()));
  }
  auto options = options_field(request, day_, places_);
  if (!options) return reply(error_reply(options.status()));
  if (op == "settle_close") {
    auto day = day_field(request);
    if (!day) return reply(error_reply(day.status()));
    EventTime closed_at = clock_();
    if (request.contains("at")) {
      auto at = request["at"].is_string() ? st::parse_time(request["at"].get<std::string>())
                                           : Result<EventTime>(Status::invalid_argument("'at' must be an ISO 8601 time"));
      if (!at) return reply(error_reply(at.status()));
      closed_at = *at;
    }
    return reply(start("close of " + day->to_string(), [this, options = *options, day = *day, closed_at](const auto& progress) {
      st::Settlement settlement(ledger_, options);
      auto summary = settlement.close(day, closed_at, progress);
      if (!summary) return error_reply(summary.status());
      json out = st::close_json(*summary, options.out_dir);
      out["ok"] = true;
      return out;
    }));
  }
  if (op == "settle_ack") {
    auto file = path_field(request, "file");
    if (!file) return reply(error_reply(file.status()));
    return reply(start("acknowledgement " + *file, [this, options = *options, file = *file](const auto&) {
      st::Settlement settlement(ledger_, options);
      auto outcome = settlement.ingest_ack(file);
      if (!outcome) return error_reply(outcome.status());
      json out = st::ack_json(*outcome);
      out["ok"] = true;
      return out;
    }));
  }
  if (op == "settle_resend") {
    auto day = day_field(request);
    if (!day) return reply(error_reply(day.status()));
    auto found = request.find("operator");
    if (found == request.end() || !found->is_number_integer() || found->get<std::int64_t>() <= 0 ||
        found->get<std::int64_t>() > 0xFFFFFFFFLL)
      return reply(error_reply(Status::invalid_argument("'operator' (an operator id) is required")));
    const OperatorId op_id{static_cast<std::uint32_t>(found->get<std::uint64_t>())};
    return reply(start("resend of " + day->to_string() + " operator " + std::to_string(op_id.value),
                       [this, options = *options, day = *day, op_id](const auto&) {
                         st::Settlement settlement(ledger_, options);
                         auto batch = settlement.resend(day, op_id);
                         if (!batch) return error_reply(batch.status());
                         json out = st::resend_json(*batch);
                         out["ok"] = true;
                         return out;
                       }));
  }
  reply(error_reply(Status::invalid_argument("unknown op '" + op + "' (settle_close, settle_ack, settle_resend, settle_job)")));
}

}  // namespace citycard::engine
