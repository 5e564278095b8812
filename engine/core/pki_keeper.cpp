#include "pki_keeper.h"

#include <ctime>
#include <filesystem>

namespace citycard::engine {
namespace {

using SystemClock = std::chrono::system_clock;

std::string utc(SystemClock::time_point when) {
  std::time_t seconds = SystemClock::to_time_t(when);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::string days_left(SystemClock::time_point until, SystemClock::time_point now) {
  double days = std::chrono::duration<double>(until - now).count() / 86400.0;
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", days);
  return text;
}

std::int64_t seconds_of(SystemClock::time_point when) {
  return std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count();
}

}  // namespace

PkiKeeper::PkiKeeper(PkiKeeperOptions options, Log& log) : options_(std::move(options)), log_(log) {}
PkiKeeper::~PkiKeeper() = default;

Result<std::unique_ptr<PkiKeeper>> PkiKeeper::open(PkiKeeperOptions options, Log& log) {
  std::unique_ptr<PkiKeeper> keeper(new PkiKeeper(std::move(options), log));
  pki::Paths paths{keeper->options_.dir};
  for (const auto& required : {paths.ca_certificate(), paths.engine_certificate(), paths.engine_key()}) {
    if (!std::filesystem::exists(required)) return Status::not_found(required.string() + " is missing");
  }
  auto crl = pki::read_crl(paths.dir);
  if (!crl && crl.status().code() == StatusCode::not_found) {
    return Status::not_found(crl.status().message() + "; restore it, or if it is lost for good start an empty one "
                             "with `citycard pki crl --new --dir " + paths.dir.string() +
                             "` (that un-revokes every reader)");
  }
  if (!crl) return Status::invalid_argument("CRL: " + crl.status().message());
  SystemClock::time_point now = SystemClock::now();
  if (crl->expired_at(now) && !keeper->holds_ca_key()) {
    return Status::invalid_argument("CRL " + paths.crl().string() + " expired at " + utc(crl->next_update) +
                                    ": every reader handshake would fail. Re-sign it where the CA key is "
                                    "(`citycard pki crl --dir DIR`), put it here and start again");
  }
  if (Status resigned = keeper->resign_if_due(*crl, crl->expired_at(now) ? "expired" : "due"); !resigned) {
    // Only an expired CRL stops the start; a due one still serves for now.
    if (crl->expired_at(now)) return resigned;
    log.event("pki_check_failed", {{"error", resigned.to_string()}});
  }
  auto loaded = keeper->read_files();
  if (!loaded) return loaded.status();
  log.event("pki_loaded", {{"dir", paths.dir.string()},
                           {"crl_number", std::to_string(loaded->number)},
                           {"revoked", std::to_string(loaded->revoked)},
                           {"crl_next_update", utc(loaded->next_update)},
                           {"crl_days_left", days_left(loaded->next_update, now)},
                           {"ca_key", keeper->holds_ca_key() ? "here" : "elsewhere"}});
  return keeper;
}

net::TlsFiles PkiKeeper::tls_files() const {
  pki::Paths paths{options_.dir};
  return net::TlsFiles{paths.ca_certificate().string(), paths.crl().string(), paths.engine_certificate().string(),
                       paths.engine_key().string()};
}

bool PkiKeeper::holds_ca_key() const { return std::filesystem::exists(pki::Paths{options_.dir}.ca_key()); }

Status PkiKeeper::resign_if_due(const pki::CrlInfo& crl, std::string_view reason) {
  SystemClock::time_point now = SystemClock::now();
  if (!crl.due_for_resigning_at(now)) return Status::ok();
  if (!holds_ca_key()) {
    log_.event("crl_expires_soon", {{"crl", pki::Paths{options_.dir}.crl().string()},
                                    {"next_update", utc(crl.next_update)},
                                    {"days_left", days_left(crl.next_update, now)},
                                    {"action", "re-sign it where the CA key is (citycard pki crl), then citycard pki reload"}});
    return Status::ok();
  }
  auto resigned = pki::resign_crl(options_.dir, pki::crl_validity(options_.crl_lifetime));
  if (!resigned) return Status::io_error("cannot re-sign the CRL: " + resigned.status().message());
  log_.event("crl_resigned", {{"reason", std::string(reason)},
                              {"crl_number", std::to_string(resigned->number)},
                              {"revoked", std::to_string(resigned->revoked)},
                              {"previous_next_update", utc(crl.next_update)},
                              {"next_update", utc(resigned->next_update)}});
  return Status::ok();
}

Result<pki::CrlInfo> PkiKeeper::read_files() {
  pki::Paths paths{options_.dir};
  auto crl = pki::read_crl(paths.dir);
  if (!crl) return crl.status();
  auto ca = pki::certificate_not_after(paths.ca_certificate());
  if (!ca) return ca.status();
  auto engine = pki::certificate_not_after(paths.engine_certificate());
  if (!engine) return engine.status();
  ca_not_after_ = seconds_of(*ca);
  engine_not_after_ = seconds_of(*engine);
  crl_next_update_ = seconds_of(crl->next_update);
  return crl;
}

Result<PkiReload> PkiKeeper::reload(std::string_view reason) {
  auto fail = [&](const Status& status) -> Status {
    log_.event("pki_reload_failed", {{"reason", std::string(reason)}, {"error", status.to_string()}});
    return status;
  };
  pki::Paths paths{options_.dir};
  auto crl = pki::read_crl(paths.dir);
  if (!crl) return fail(crl.status());
  // An expired CRL would refuse every reader: re-sign it first, or keep the one in force.
  if (crl->expired_at(SystemClock::now()) && !holds_ca_key()) {
    return fail(Status::invalid_argument("CRL " + paths.crl().string() + " expired at " + utc(crl->next_update) +
                                         "; the one in force is kept"));
  }
  if (Status resigned = resign_if_due(*crl, reason); !resigned) return fail(resigned);
  if (server_ == nullptr) return fail(Status::unavailable("the tap server is not running"));
  auto installed = server_->reload_tls(tls_files());
  if (!installed) return fail(installed.status());
  auto loaded = read_files();
  if (!loaded) return fail(loaded.status());
  log_.event("pki_reloaded", {{"reason", std::string(reason)},
                              {"crl_number", std::to_string(loaded->number)},
                              {"revoked", std::to_string(loaded->revoked)},
                              {"crl_next_update", utc(loaded->next_update)},
                              {"connections_closed", std::to_string(installed->connections_closed)}});
  return PkiReload{*loaded, installed->connections_closed};
}

void PkiKeeper::check() {
  auto crl = pki::read_crl(options_.dir);
  if (!crl) {
    log_.event("pki_check_failed", {{"error", crl.status().to_string()}});
    return;
  }
  if (!crl->due_for_resigning_at(SystemClock::now())) return;
  if (!holds_ca_key()) {
    (void)resign_if_due(*crl, "due");  // logs crl_expires_soon
    return;
  }
  (void)reload("crl_due");  // re-signs, puts it in force, logs either way
}

void PkiKeeper::start_checks(boost::asio::io_context& io) {
  timer_ = std::make_unique<boost::asio::steady_timer>(io);
  arm_timer();
}

void PkiKeeper::arm_timer() {
  timer_->expires_after(options_.check_interval);
  timer_->async_wait([this](const boost::system::error_code& error) {
    if (error) return;  // cancelled: the keeper is going away
    check();
    arm_timer();
  });
}

PkiExpiry PkiKeeper::expiry() const {
  auto at = [](std::int64_t seconds) { return SystemClock::time_point(std::chrono::seconds(seconds)); };
  return PkiExpiry{at(ca_not_after_.load()), at(engine_not_after_.load()), at(crl_next_update_.load())};
}

}  // namespace citycard::engine
