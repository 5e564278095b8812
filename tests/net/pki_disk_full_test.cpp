// The CA's files on a real, full tmpfs (files/durable_file.h): revoking a
// reader when the CRL cannot be rewritten fails naming the full disk, keeps
// the old CRL whole and valid, and leaves no temporary file; with space back
// the revocation goes through. Needs root to mount; WARNs and passes when
// mounting is refused.
#include <catch2/catch.hpp>

#include <set>

#include "engine/pki/pki.h"
#include "small_disk.h"

using namespace citycard;

namespace {

std::set<std::string> names_in(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

}  // namespace

TEST_CASE("pki: a full disk fails a revocation and keeps the old CRL whole") {
  citycard::testing::SmallDisk disk(256u << 10);
  if (!disk.mounted()) {
    WARN("disk-full CRL test skipped: " << disk.refusal());
    return;
  }
  const std::filesystem::path dir = disk.root() / "pki";
  REQUIRE(pki::init(dir).is_ok());
  REQUIRE(pki::issue_reader(dir, ReaderId{7}).is_ok());
  auto before = pki::read_crl(dir);
  REQUIRE(before.has_value());
  std::set<std::string> files_before = names_in(dir);
  files_before.insert(".crl.lock");  // the revocation's lock file, expected

  disk.fill_leaving(0);
  Status revoked = pki::revoke_reader(dir, ReaderId{7});
  CHECK(revoked.code() == StatusCode::io_error);
  CHECK(revoked.message() == "no space left on device writing " + pki::Paths{dir}.crl().string());
  auto after = pki::read_crl(dir);
  REQUIRE(after.has_value());  // still the CA's, signature and all
  CHECK(after->number == before->number);
  CHECK(after->revoked == 0);
  CHECK(names_in(dir) == files_before);  // no temporary file

  disk.free_filler();
  REQUIRE(pki::revoke_reader(dir, ReaderId{7}).is_ok());
  auto revoked_crl = pki::read_crl(dir);
  REQUIRE(revoked_crl.has_value());
  CHECK(revoked_crl->revoked == 1);
}
