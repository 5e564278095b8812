#include "settlement_desk.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "admin_api.h"
#include "settle_audit.h"
#include "settlement/ack.h"
#include "settlement/settlement.h"
#include "settlement/summary_json.h"
#include "citycard/thread_name.h"

namespace citycard::engine {
namespace {

using nlohmann::json;
namespace st = citycard::settlement;

// Source of the desk's own audit keys (sys:<this>:<µs>), for requests that
// came without the admin API's reference ("AUDT").
constexpr std::uint64_t desk_audit_source = 0x41554454;

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
  if (op != "settle_close" && op != "settle_ack" && op != "settle_resend") {
    return reply(error_reply(Status::invalid_argument("unknown op '" + op + "' (settle_close, settle_ack, settle_resend, settle_job)")));
  }
  // Every close, acknowledgement and resend asked for is in the audit
  // trail, refused ones included (settle_audit.h).
  auto audit = std::make_shared<SettleAudit>(actor_of(request), "settle " + op.substr(7), asked(op, request));
  auto refuse = [&](const Status& why) {
    json out = error_reply(why);
    if (Status audited = write_audit(*audit, why, std::string()); !audited) out["audit_error"] = audited.to_string();
    reply(out);
  };
  auto options = options_field(request, day_, places_);
  if (!options) return refuse(options.status());
  options->records_with = audit->hook();
  if (op == "settle_close") {
    auto day = day_field(request);
    if (!day) return refuse(day.status());
    EventTime closed_at = clock_();
    if (request.contains("at")) {
      auto at = request["at"].is_string() ? st::parse_time(request["at"].get<std::string>())
                                           : Result<EventTime>(Status::invalid_argument("'at' must be an ISO 8601 time"));
      if (!at) return refuse(at.status());
      closed_at = *at;
    }
    return reply(start("close of " + day->to_string(), [this, audit, options = *options, day = *day, closed_at](const auto& progress) mutable {
      std::optional<RepriceOutcome> repriced;
      if (repricer_) options.before_close = repricing_before_close(repricer_, repriced);
      st::Settlement settlement(ledger_, options);
      auto summary = settlement.close(day, closed_at, progress);
      if (repriced) log_.event("repriced", {{"day", day.to_string()}, {"summary", repriced->summary()}});
      return answer(*audit, summary.status(), [&] {
        json out = st::close_json(*summary, options.out_dir);
        if (repriced) out["repricing"] = repricing_json(*repriced);
        return out;
      }, "business day " + day.to_string() + " was closed before; nothing changed");
    }));
  }
  if (op == "settle_ack") {
    auto file = path_field(request, "file");
    if (!file) return refuse(file.status());
    return reply(start("acknowledgement " + *file, [this, audit, options = *options, file = *file](const auto&) {
      st::Settlement settlement(ledger_, options);
      auto outcome = settlement.ingest_ack(file);
      return answer(*audit, outcome.status(), [&] { return st::ack_json(*outcome); });
    }));
  }
  auto day = day_field(request);
  if (!day) return refuse(day.status());
  auto found = request.find("operator");
  if (found == request.end() || !found->is_number_integer() || found->get<std::int64_t>() <= 0 ||
      found->get<std::int64_t>() > 0xFFFFFFFFLL)
    return refuse(Status::invalid_argument("'operator' (an operator id) is required"));
  const OperatorId op_id{static_cast<std::uint32_t>(found->get<std::uint64_t>())};
  reply(start("resend of " + day->to_string() + " operator " + std::to_string(op_id.value),
              [this, audit, options = *options, day = *day, op_id](const auto&) {
                st::Settlement settlement(ledger_, options);
                auto batch = settlement.resend(day, op_id);
                return answer(*audit, batch.status(), [&] { return st::resend_json(*batch); });
              }));
}

OfficeActor SettlementDesk::actor_of(const json& request) const {
  OfficeActor actor;
  actor.time = clock_();
  // AdminApi puts the signed-in clerk and a fresh reference here
  // (admin_api.h); a request without them (a test driving the desk) acts
  // for nobody, under a key of the desk's own.
  const json audit = request.value("audit", json::object());
  actor.clerk = audit.value("clerk", std::string());
  actor.role = audit.value("role", std::string());
  actor.reason = request.value("reason", std::string());
  auto key = IdempotencyKey::parse(audit.value("ref", std::string()));
  if (key) {
    actor.key = *key;
  } else {
    // Microseconds, strictly increasing within the desk: unique keys.
    const auto now = static_cast<std::uint64_t>(system_now().unix_us);
    std::uint64_t last = last_own_key_.load();
    while (!last_own_key_.compare_exchange_weak(last, std::max(now, last + 1))) {
    }
    actor.key = IdempotencyKey{Origin::system, desk_audit_source, std::max(now, last + 1)};
  }
  return actor;
}

std::string SettlementDesk::asked(const std::string& op, const json& request) {
  if (op == "settle_close") return "close of " + request.value("day", std::string("?"));
  if (op == "settle_ack") return "acknowledgement " + request.value("file", std::string("?"));
  const json operator_id = request.value("operator", json());
  return "resend of " + request.value("day", std::string("?")) + " for operator " + (operator_id.is_null() ? "?" : operator_id.dump());
}

json SettlementDesk::answer(const SettleAudit& audit, const Status& outcome, const std::function<json()>& done,
                           const std::string& unchanged) {
  Status audited = write_audit(audit, outcome, unchanged);
  if (!outcome) return error_reply(outcome);
  json out = done();
  out["ok"] = true;
  if (!audited) out["audit_error"] = audited.to_string();
  return out;
}

Status SettlementDesk::write_audit(const SettleAudit& audit, const Status& outcome, const std::string& unchanged) {
  Status written = audit.finish(ledger_, outcome, unchanged);
  if (!written) log_.event("audit_unwritten", {{"what", "settlement"}, {"error", written.to_string()}});
  return written;
}

}  // namespace citycard::engine
