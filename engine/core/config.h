// citycard-engine's configuration: a TOML file (docs/engine.md lists every
// key with its default and unit), or the embedded default when there is
// none. Loading checks types, ranges and unknown keys and names the key.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "citycard/status.h"
#include "engine.h"
#include "tap_retention.h"

namespace citycard::engine {

struct EngineConfig {
  std::string data_dir = "./var";
  std::string rules_file = "rules/city.toml";
  std::string ledger_dir;          // default <data_dir>/ledger
  std::size_t ledger_write_buffer_bytes = 64u << 20;
  std::uint64_t ledger_free_bytes_min = 0;  // 0: 4 x write_buffer_bytes (ledger::Options::free_bytes_min)
  std::size_t ledger_block_cache_bytes = 256u << 20;
  std::uint64_t ledger_delete_bytes_per_s = 32u << 20;  // ledger::Options::delete_bytes_per_s; 0: at once
  std::string pki_dir;             // default <data_dir>/pki
  std::string settlement_dir;      // [settlement] dir: the day's files; default <data_dir>/settlement
  std::string settlement_key_dir;  // [settlement] key_dir: the signing key; default <data_dir>/settlement-keys
  std::vector<std::string> engine_hosts{"localhost", "127.0.0.1"};
  std::chrono::hours crl_lifetime{24 * 30};              // pki.crl_days: CRLs the engine signs
  std::chrono::milliseconds crl_check_interval{3600000};  // pki.crl_check_interval_ms
  std::string listen_address = "127.0.0.1";
  std::uint16_t tap_port = 7443;
  std::uint16_t metrics_port = 9464;
  bool metrics_enabled = true;
  std::string admin_socket;        // default <data_dir>/engine.sock
  std::string ports_file;          // default <data_dir>/engine.ports
  // [card]: card proofs and where the master keys are (docs/engine.md).
  bool require_card_proof = true;   // a tap without a valid proof is refused
  bool warm_card_keys = true;       // derive the cards' keys in the background after start (key_warmer.h)
  // A SoftHSM2 token in this directory, made with master key v1 on first
  // start (token/softhsm.h). Unset: <data_dir>/token, unless
  // card_pkcs11_module names a token of its own; "" = none.
  std::optional<std::string> card_token_dir;
  std::string card_pkcs11_module;   // a token of the operator's own: the PKCS#11 module
  std::string card_token_label = "citycard";
  std::string card_pin_file;        // its user PIN in a file of mode 0600, or
  std::string card_pin_env;         // in this environment variable
  std::string card_softhsm2_conf;   // SoftHSM2 only: SOFTHSM2_CONF for the module
  EngineOptions pipeline;          // shards, batching, queues (engine.h)
  bool huge_page_heap = true;      // [pipeline] huge_page_heap: the process's heap on huge pages (huge_page_heap.h)
  // [pipeline] heap_reserve_mib: of it, made resident while the engine starts,
  // ahead of the growth of its first minutes at load (huge_page_heap.h).
  // Unset: heap_reserve_mib_for(the ledger's memory) (finish_defaults).
  std::optional<std::size_t> heap_reserve_mib;
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds frame_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  std::chrono::milliseconds heartbeat_interval{10000};
  std::uint16_t inflight_batches_max = 8;
  std::size_t connections_max = 4096;
  std::size_t pending_connections_max = 1024;
  std::size_t pending_per_address_max = 64;
  std::size_t fd_reserve = 256;
  std::chrono::milliseconds drain_timeout{10000};
  std::chrono::milliseconds admin_idle_timeout{60000};
  // [records]: how long tap records keep their card and how long they are
  // kept at all (tap_retention.h); applied by the admin op records_retain.
  TapRetentionPolicy records_retention;
  std::string records_token_key_file;  // [records] token_key_file; default <data_dir>/records-token.key
};

// Fills the derived paths (ledger_dir, pki_dir, admin_socket, ports_file, records_token_key_file).
void finish_defaults(EngineConfig& config);
// What the heap grows by in its first minutes at load, by default: three
// memtables of each of the ledger's column families (the one filling, one
// flushing, one more while a flush lags) and the block cache.
std::size_t heap_reserve_mib_for(std::size_t write_buffer_bytes, std::size_t block_cache_bytes);

Result<EngineConfig> parse_config(std::string_view toml_text, const std::string& file_name);
Result<EngineConfig> load_config(const std::string& path);

}  // namespace citycard::engine
