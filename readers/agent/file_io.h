// Small durable-file helpers for the agent's state (POSIX).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "card/bytes.h"
#include "citycard/status.h"

namespace citycard::agent {

// The agent's state is the reader's own business: its group may read it, no one else.
inline constexpr std::uint32_t agent_state_mode = 0640;

// Replaces path (mode agent_state_mode) with contents so that after a crash the file holds
// either the old or the new contents, never a mix: files::write_file_durably.
Status write_file_atomically(const std::string& path, card::ByteView contents);
// The whole file; nullopt if it does not exist.
Result<std::optional<card::Bytes>> read_file(const std::string& path);
std::string parent_directory(const std::string& path);
// Creates dir (one level) if it is missing, durably (the parent is synced).
Status ensure_directory(const std::string& dir);

}  // namespace citycard::agent
