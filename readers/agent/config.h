// The reader agent's configuration, from a TOML file (flags may override).
//
//   [reader]
//   id = 17                       # ReaderId, required, 1..2^32-1
//   operator = 3                  # OperatorId the taps are for, required
//   mode = "bus_board"            # a citycard::Mode name, required
//   route = 307                   # bus route / metro line, 0 = none (default 0)
//   location = 12                 # stop / station / venue / shop / door code (default 0)
//   amount_minor = 0              # device-given amount for mode pay/top_up (default 0)
//   pcsc_reader = "Test Reader 00 00"   # PC/SC reader name (default: the first reader)
//   state_dir = "var/reader-17"   # sequence file, tap journal, deny list (required)
//
//   [token]                       # the card master keys: a PKCS#11 token (a SAM on real devices)
//   pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so"   # default SoftHSM2's
//   token_label = "citycard"      # default "citycard"
//   pin_file = "/etc/citycard/token.pin"   # user PIN, mode 0600; or
//   pin_env = "CITYCARD_TOKEN_PIN"         # the variable holding it (one of the two is required)
//   softhsm2_conf = ""            # SoftHSM2 only: its config file (SOFTHSM2_CONF)
//
//   [engine]                      # used by the TLS uplink; unused with --offline
//   address = "engine.example:7443"
//   ca_file = ""  cert_file = ""  key_file = ""
//   timeout_ms = 150              # online decision deadline; default 150 (tap budget 300)
//   deny_list_refresh_ms = 60000  # online: fetch deny list deltas this often; default 60000
//   upload_timeout_ms = 5000      # online: deadline of one queue upload (one batch); default 5000
//
//   [queue]
//   taps_max = 100000             # offline queue capacity (default 100000)
//   upload_batch_taps = 512       # taps per upload (default 512 = limits::batch_taps_max)
//   backoff_initial_ms = 500      # default 500
//   backoff_max_ms = 60000        # default 60000
//   sequence_block = 1000         # sequence numbers reserved per fsync (default 1000)
//   sequence_first = 0            # where numbering starts without a sequence file;
//                                 # 0 (default): the wall clock in microseconds
//   disk_reserve_bytes = 1048576  # room kept in state_dir for admitting riders on a
//                                 # full disk (space_reserve.h); 0: none. Default 1 MiB
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "citycard/ids.h"
#include "citycard/status.h"
#include "citycard/tap.h"
#include "token/token.h"

namespace citycard::agent {

struct AgentConfig {
  ReaderId reader;
  OperatorId operator_id;
  Mode mode = Mode::identify;
  std::uint32_t route = 0;
  std::uint32_t location = 0;
  std::int64_t amount_minor = 0;
  std::string pcsc_reader;
  std::string state_dir;
  token::TokenOptions token;      // where the card master keys are

  std::string engine_address;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::chrono::milliseconds engine_timeout{150};
  std::chrono::milliseconds deny_list_refresh{60000};
  std::chrono::milliseconds upload_timeout{5000};

  std::size_t queue_taps_max = 100'000;
  std::size_t upload_batch_taps = 512;
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{60000};
  std::uint64_t sequence_block = 1000;
  // Where numbering starts when the state has no sequence file (a new reader,
  // or lost state); 0: the wall clock in microseconds, above any number used
  // before. Tests set 1 for readable ids. Default 0.
  std::uint64_t sequence_first = 0;
  // Bytes kept allocated in state_dir/space.reserve and given up when a
  // write that admits a rider finds the disk full (space_reserve.h): ~6000
  // journaled taps and the sequence reservations they need. Default 1 MiB.
  std::uint64_t disk_reserve_bytes = 1 << 20;

  // Checks required fields and ranges; invalid_argument names the key.
  Status validate() const;
};

// Parses TOML text; invalid_argument names the key and the problem.
Result<AgentConfig> parse_config(const std::string& toml_text, const std::string& source_name);
Result<AgentConfig> load_config(const std::string& path);

}  // namespace citycard::agent
