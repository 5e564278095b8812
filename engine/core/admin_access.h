// Who may use the admin API. A connection signs in as a clerk before
// anything but ping: it asks for a challenge, signs it with the key of a
// clerk certificate from the installation's CA, and sends the certificate
// and the signature (engine/pki/clerk_credentials.h). The socket's file mode
// (0600) stays, but it is no longer the only lock. Every later request on
// the connection acts as that clerk and is checked against the role table
// (include/citycard/clerk.h).
//
//   -> {"op":"sign_in_challenge"}          <- {"ok":true,"challenge":"<64 hex>"}
//   -> {"op":"sign_in","certificate":PEM,"signature":"<hex>"}
//                                          <- {"ok":true,"clerk":NAME,"role":ROLE}
// A challenge is good for one sign_in on its connection. The certificate is
// checked against the CA and the CRL on disk at each sign-in, so a revoked
// clerk cannot sign in again once the CRL lists him; a connection already
// signed in keeps going until it closes (at most admin_idle_timeout idle).
//
// Threading: one AdminSession per connection, used by that connection only.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "citycard/clerk.h"
#include "citycard/status.h"

namespace citycard::engine {

// The role-table action an admin op needs; nullopt for ops anyone may send
// (ping, sign-in) and for unknown ops (the API names them).
std::optional<ClerkAction> admin_op_action(std::string_view op);

// The request's "op" if it is an object with a string op, else "".
std::string admin_op_of(const nlohmann::json& request);

class AdminSession {
 public:
  explicit AdminSession(std::filesystem::path pki_dir) : pki_dir_(std::move(pki_dir)) {}

  // The reply to sign_in_challenge or sign_in; nullopt for any other op.
  std::optional<nlohmann::json> sign_in_step(const nlohmann::json& request);
  // ok when `op` may be sent now: it needs no role, or the signed-in clerk's
  // role allows it. refused naming the clerk, role and action otherwise.
  Status allow(std::string_view op) const;
  const std::optional<Clerk>& clerk() const { return clerk_; }

 private:
  std::filesystem::path pki_dir_;
  std::string challenge_;  // empty: none outstanding
  std::optional<Clerk> clerk_;
};

}  // namespace citycard::engine
