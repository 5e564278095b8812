// citycard-engine: the tap engine as a process.
//
//   citycard-engine [--config FILE]
//
// Without a config it runs the embedded default (docs/engine.md): data under
// ./var, rule set rules/city.toml, certificates made on first start under
// ./var/pki, tap server, metrics and admin socket on loopback. It writes the
// ports it listens on to <data_dir>/engine.ports and stops cleanly on
// SIGTERM or SIGINT: stop accepting, drain, flush, close the ledger. SIGHUP
// reloads the CA, CRL and engine certificate (PkiKeeper::reload). At start
// it raises RLIMIT_NOFILE's soft limit to the hard one.
#include <csignal>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include <unistd.h>

#include "engine/core/admin_api.h"
#include "engine/core/repricer.h"
#include "engine/core/settlement_desk.h"
#include "engine/core/bootstrap.h"
#include "engine/core/config.h"
#include "engine/core/engine.h"
#include "engine/core/huge_page_heap.h"
#include "engine/core/services.h"
#include "engine/net/admission.h"
#include "engine/net/server.h"
#include "engine/server/stop_signal.h"
#include "files/durable_file.h"
#include "ledger/system_accounts.h"

#include <boost/asio/signal_set.hpp>

namespace {

using namespace citycard;
using namespace citycard::engine;

void usage(std::FILE* out) {
  std::fputs("usage: citycard-engine [--config FILE]\n"
             "  Runs the tap engine. Without --config: data in ./var, rules/city.toml,\n"
             "  listening on 127.0.0.1 (see docs/engine.md for every key and default).\n",
             out);
}

// Scripts read it as soon as it exists: whole or absent (files/durable_file.h).
Status write_ports_file(const std::string& path, std::uint16_t tap_port, std::uint16_t metrics_port,
                        const std::string& admin_socket) {
  const std::string text = "tap_port=" + std::to_string(tap_port) + "\nmetrics_port=" + std::to_string(metrics_port) +
                           "\nadmin_socket=" + admin_socket + "\npid=" + std::to_string(::getpid()) + "\n";
  return files::write_file_durably(path, text);
}

std::string utc(std::chrono::system_clock::time_point when) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

double days_until(std::chrono::system_clock::time_point when, std::chrono::system_clock::time_point now) {
  return std::chrono::duration<double>(when - now).count() / 86400.0;
}

// The admin op reload_pki's answer.
nlohmann::json reload_reply(PkiKeeper& keeper, const std::string& crl_path) {
  auto reloaded = keeper.reload("admin");
  if (!reloaded) return error_reply(reloaded.status());
  return nlohmann::json{{"ok", true},
                        {"crl", crl_path},
                        {"crl_number", reloaded->crl.number},
                        {"revoked", reloaded->crl.revoked},
                        {"crl_next_update", utc(reloaded->crl.next_update)},
                        {"connections_closed", reloaded->connections_closed}};
}

// Reloads the certificates on every SIGHUP until the set is cancelled.
void reload_on_sighup(boost::asio::signal_set& hangups, PkiKeeper& keeper) {
  hangups.async_wait([&hangups, &keeper](const boost::system::error_code& error, int) {
    if (error) return;
    (void)keeper.reload("SIGHUP");  // logs pki_reloaded or pki_reload_failed
    reload_on_sighup(hangups, keeper);
  });
}

int run(const EngineConfig& config, Log& log) {
  // RocksDB and the readers' connections share the descriptor limit; the
  // tap server's budget is made from the raised soft limit.
  net::FdLimits fd_limits = net::raise_fd_limit();
  log.event("fd_limit", {{"soft_before", std::to_string(fd_limits.soft_before)},
                         {"soft", std::to_string(fd_limits.soft)},
                         {"hard", std::to_string(fd_limits.hard)},
                         {"raised", fd_limits.raised_ok ? "yes" : "no"}});
  Metrics metrics;
  EngineOptions options = config.pipeline;
  std::optional<Prepared> prepared;
  std::unique_ptr<Engine> engine;
  // A disk without space is waited for, not exited on: a supervisor
  // restarting the engine would only loop until someone frees space, and
  // the engine starts by itself once there is (docs/engine.md, "Storage
  // failures"). Every other start error exits 1 at once.
  auto retry = options.storage.recovery_interval;
  auto last_logged = std::chrono::steady_clock::time_point{};
  for (std::uint64_t attempt = 1;; ++attempt) {
    auto made = prepare(config, log);
    Status failure = made.status();
    if (made) {
      options.card_keys = made->card_keys;
      options.warm_key_version = config.warm_card_keys ? made->newest_key_version : 0;
      options.require_card_proof = config.require_card_proof;
      auto started = Engine::start(*made->ledger, made->rules, options, metrics, log);
      if (started) {
        prepared = std::move(*made);
        engine = std::move(*started);
        break;
      }
      failure = started.status();
    }
    if (!is_out_of_space(failure)) {
      log.event("start_failed", {{"error", failure.to_string()}});
      return 1;
    }
    const auto now = std::chrono::steady_clock::now();
    if (attempt == 1 || now - last_logged >= std::chrono::minutes(1)) {
      last_logged = now;
      log.event("start_waiting_for_storage", {{"error", failure.to_string()},
                                              {"ledger", config.ledger_dir},
                                              {"attempts", std::to_string(attempt)},
                                              {"retry_in_ms", std::to_string(retry.count())}});
    }
    if (stop_signal_within(retry)) {
      log.event("engine_stopped", {{"taps", "0"}, {"while", "waiting for storage at start"}});
      return 0;
    }
    retry = std::min(retry * 2, options.storage.recovery_interval_max);
  }

  net::ServerOptions server_options;
  server_options.address = config.listen_address;
  server_options.port = config.tap_port;
  server_options.tls = prepared->tls;
  server_options.handshake_timeout = config.handshake_timeout;
  server_options.idle_timeout = config.idle_timeout;
  server_options.frame_timeout = config.frame_timeout;
  server_options.write_timeout = config.write_timeout;
  server_options.heartbeat_interval = config.heartbeat_interval;
  server_options.inflight_batches_max = config.inflight_batches_max;
  server_options.connections_max = config.connections_max;
  server_options.pending_connections_max = config.pending_connections_max;
  server_options.pending_per_address_max = config.pending_per_address_max;
  server_options.fd_reserve = config.fd_reserve;
  server_options.retry_after_ms = options.busy_retry_after_ms;
  server_options.realtime = engine->realtime_threads();  // the network loop is on the tap's path too
  server_options.log = [&log](std::string_view line) { log.event("connection", {{"detail", std::string(line)}}); };
  auto server = net::Server::start(server_options, *engine, &engine->deny_list());
  if (!server) {
    log.event("start_failed", {{"error", server.status().to_string()}});
    return 1;
  }

  boost::asio::io_context io;
  PkiKeeper& keeper = *prepared->pki;
  keeper.attach(server->get());

  // The business day has one source of truth: the rule set the engine rates with.
  settlement::DayConfig business_day;
  business_day.utc_offset_minutes = prepared->rules->newest().rules->utc_offset_minutes;
  business_day.close_minute_of_day = prepared->rules->newest().rules->business_day_start_minutes;
  auto desk = std::make_unique<SettlementDesk>(
      *prepared->ledger, business_day, SettlementPlaces{config.settlement_dir, config.settlement_key_dir}, log);
  // Each close reprices its day through the shards first (engine/groups/repricing.h).
  auto system_accounts = ledger::find_system_accounts(*prepared->ledger);
  if (!system_accounts) {
    log.event("start_failed", {{"error", system_accounts.status().to_string()}});
    return 1;
  }
  desk->reprice_with(engine_repricer(*engine, *prepared->ledger, *system_accounts));

  ServicesOptions services_options;
  services_options.settle = [&desk](const std::string& op, const nlohmann::json& request,
                                    const std::function<void(nlohmann::json)>& reply) { desk->handle(op, request, reply); };
  services_options.reload_pki = [&keeper, crl = prepared->tls.crl] { return reload_reply(keeper, crl); };
  services_options.admin_socket = config.admin_socket;
  services_options.pki_dir = config.pki_dir;
  services_options.admin_idle_timeout = config.admin_idle_timeout;
  services_options.records_retention = config.records_retention;
  services_options.records_token_key_file = config.records_token_key_file;
  services_options.metrics_enabled = config.metrics_enabled;
  services_options.metrics_address = config.listen_address;
  services_options.metrics_port = config.metrics_port;
  net::Server* tap_server = server->get();
  Engine* pipeline = engine.get();
  ledger::Ledger* ledger = prepared->ledger.get();
  auto gauges = [tap_server, pipeline, ledger, &keeper] {
    Gauges g;
    g.storage = ledger->storage_activity();
    PipelineStats stats = pipeline->stats();
    g.shard_queue_depths = stats.shard_queue_depths;
    g.shard_queue_capacity = 0;
    g.committer_queue_depth = stats.committer_queue_depth;
    g.cards_cached = stats.cards_cached;
    net::ServerStats server_stats = tap_server->stats();
    g.connections_open = server_stats.connections_open;
    g.connections_accepted = server_stats.connections_accepted;
    g.handshakes_failed = server_stats.handshakes_failed;
    g.connections_errored = server_stats.connections_errored;
    g.batches_retry_later = server_stats.batches_retry_later;
    g.refused_connections_max = server_stats.refused_connections_max;
    g.refused_fd_reserve = server_stats.refused_fd_reserve;
    g.refused_pending_total = server_stats.refused_pending_total;
    g.refused_pending_per_address = server_stats.refused_pending_per_address;
    g.accept_errors = server_stats.accept_errors;
    g.fd_limit = server_stats.fd_limit;
    g.trust_reloads = server_stats.trust_reloads;
    g.closed_untrusted = server_stats.closed_untrusted;
    g.deny_list_version = pipeline->deny_list().current_version();
    PkiExpiry expiry = keeper.expiry();
    auto now = std::chrono::system_clock::now();
    g.ca_certificate_days_left = days_until(expiry.ca_certificate, now);
    g.engine_certificate_days_left = days_until(expiry.engine_certificate, now);
    g.crl_days_left = days_until(expiry.crl, now);
    const HugePageHeapStats heap = huge_page_heap_stats();
    g.heap_huge_pages = heap.installed;
    g.heap_regions_ready = heap.regions_ready;
    g.heap_regions_in_place = heap.regions_in_place;
    g.heap_regions_large = heap.large_mappings;
    g.heap_regions_waiting = heap.regions_waiting;
    return g;
  };
  auto services = Services::start(io, services_options, *engine, *prepared->ledger, metrics,
                                  [gauges, capacity = options.queue_depth] {
                                    Gauges g = gauges();
                                    g.shard_queue_capacity = capacity;
                                    return g;
                                  },
                                  log);
  if (!services) {
    log.event("start_failed", {{"error", services.status().to_string()}});
    return 1;
  }
  if (Status written = write_ports_file(config.ports_file, (*server)->port(), (*services)->metrics_port(), config.admin_socket);
      !written) {
    log.event("start_failed", {{"error", written.to_string()}});
    return 1;
  }
  log.event("engine_started", {{"tap_port", std::to_string((*server)->port())},
                               {"metrics_port", std::to_string((*services)->metrics_port())},
                               {"admin_socket", config.admin_socket},
                               {"ledger", config.ledger_dir},
                               {"rules", config.rules_file},
                               {"rule_set_version", std::to_string(prepared->rules->newest().rules->version)},
                               {"shards", std::to_string(options.shards)},
                               {"heap", huge_page_heap_stats().installed ? "huge_pages" : "default"},
                               {"heap_reserve_mib", std::to_string(huge_page_heap_stats().reserve_regions * 64)}});

  keeper.start_checks(io);
  boost::asio::signal_set hangups(io, SIGHUP);
  reload_on_sighup(hangups, keeper);
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (error) return;
    log.event("shutdown_started", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    (*services)->stop();                 // no new admin requests
    hangups.cancel();
    keeper.attach(nullptr);
    (*server)->stop(config.drain_timeout);  // stop accepting; submitted batches are answered
    engine->stop();                      // every queued tap decided and durable
    io.stop();
  });
  io.run();

  std::uint64_t taps = metrics.taps_total();
  prepared->pki.reset();  // its timer, before the loop it is on
  server->reset();
  engine.reset();
  desk.reset();  // waits for a close still running: it writes its records at the end
  prepared->ledger.reset();  // closes RocksDB
  std::error_code ignored;
  std::filesystem::remove(config.ports_file, ignored);
  log.event("engine_stopped", {{"taps", std::to_string(taps)}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    }
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config_path = arg.substr(9);
    } else {
      usage(stderr);
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  // Until the loop takes it over once started, a SIGHUP (reload) must not end the process.
  std::signal(SIGHUP, SIG_IGN);
  Log log;
  EngineConfig config;
  if (!config_path.empty()) {
    auto loaded = load_config(config_path);
    if (!loaded) {
      log.event("config_invalid", {{"error", loaded.status().to_string()}});
      return 2;
    }
    config = std::move(*loaded);
  } else {
    finish_defaults(config);
  }
  // Before the ledger and the caches take their memory. Without it the
  // engine runs as before: logged, not a reason to stay down.
  if (config.huge_page_heap) {
    if (Status heap = install_huge_page_heap(config.heap_reserve_mib.value_or(0)); !heap) {
      log.event("huge_page_heap_unavailable", {{"error", heap.to_string()}});
    }
  }
  return run(config, log);
}
