// The certificate authority's files: the CRL re-signed with its entries
// kept, read back and checked against the CA; a reader key made on the
// reader (citycard-reader keygen) and its CSR signed by the CA into a
// certificate the tap server accepts; CSRs that must be refused.
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/pki/pki.h"
#include "readers/agent/keygen.h"
#include "tls_fixture.h"

using namespace citycard;
using namespace citycard::net::testing;
using namespace std::chrono_literals;

namespace {

struct ScratchDir {
  ScratchDir() {
    char pattern[] = "/tmp/citycard-pki-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::filesystem::path path;
};

// Serial (hex) -> revocation date, as stock OpenSSL reads the file.
std::map<std::string, std::string> revoked_entries(const std::filesystem::path& crl_path) {
  std::map<std::string, std::string> entries;
  FILE* file = std::fopen(crl_path.c_str(), "r");
  REQUIRE(file != nullptr);
  X509_CRL* crl = PEM_read_X509_CRL(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  REQUIRE(crl != nullptr);
  STACK_OF(X509_REVOKED)* list = X509_CRL_get_REVOKED(crl);
  for (int i = 0; i < sk_X509_REVOKED_num(list); ++i) {
    const X509_REVOKED* entry = sk_X509_REVOKED_value(list, i);
    BIGNUM* serial = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(entry), nullptr);
    char* hex = BN_bn2hex(serial);
    BIO* out = BIO_new(BIO_s_mem());
    ASN1_TIME_print(out, X509_REVOKED_get0_revocationDate(entry));
    char* text = nullptr;
    long length = BIO_get_mem_data(out, &text);
    entries[hex] = std::string(text, static_cast<std::size_t>(length));
    BIO_free(out);
    OPENSSL_free(hex);
    BN_free(serial);
  }
  X509_CRL_free(crl);
  return entries;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("re-signing the CRL keeps every revoked entry and its date, counts up and moves nextUpdate") {
  ScratchDir dir;
  std::filesystem::path pki_dir = dir.path / "pki";
  REQUIRE(pki::init(pki_dir).is_ok());
  for (std::uint32_t r = 1; r <= 3; ++r) REQUIRE(pki::issue_reader(pki_dir, ReaderId{r}).is_ok());
  pki::Validity short_lived = pki::crl_validity(std::chrono::hours(24));
  REQUIRE(pki::revoke_reader(pki_dir, ReaderId{1}, short_lived).is_ok());
  REQUIRE(pki::revoke_reader(pki_dir, ReaderId{3}, short_lived).is_ok());
  auto before = pki::read_crl(pki_dir);
  REQUIRE(before);
  CHECK(before->revoked == 2);
  CHECK(before->number == 3);  // init, two revokes
  auto entries_before = revoked_entries(pki::Paths{pki_dir}.crl());
  REQUIRE(entries_before.size() == 2);

  auto after = pki::resign_crl(pki_dir);  // 30 days
  INFO(after.status().to_string());
  REQUIRE(after);
  CHECK(after->number == before->number + 1);
  CHECK(after->revoked == 2);
  CHECK(after->next_update > before->next_update + std::chrono::hours(24 * 28));
  CHECK(revoked_entries(pki::Paths{pki_dir}.crl()) == entries_before);
  auto reread = pki::read_crl(pki_dir);
  REQUIRE(reread);
  CHECK(reread->number == after->number);
  CHECK(reread->next_update == after->next_update);

  // Stock openssl agrees: 1 and 3 are revoked, 2 is not.
  pki::Paths paths{pki_dir};
  auto verify = [&](std::uint32_t reader) {
    std::string command = "openssl verify -crl_check -CAfile " + paths.ca_certificate().string() + " -CRLfile " +
                          paths.crl().string() + " " + paths.reader_certificate(ReaderId{reader}).string() + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    std::string output;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    return pclose(pipe) == 0 ? std::string("OK") : output;
  };
  CHECK(verify(1).find("certificate revoked") != std::string::npos);
  CHECK(verify(2) == "OK");
  CHECK(verify(3).find("certificate revoked") != std::string::npos);
}

TEST_CASE("an expired CRL is re-signed like any other, and is due long before it expires") {
  ScratchDir dir;
  std::filesystem::path pki_dir = dir.path / "pki";
  REQUIRE(pki::init(pki_dir, pki::ca_validity(), pki::Validity{-std::chrono::hours(48), std::chrono::hours(24)}).is_ok());
  auto now = std::chrono::system_clock::now();
  auto expired = pki::read_crl(pki_dir);
  REQUIRE(expired);
  CHECK(expired->expired_at(now));
  CHECK(expired->due_for_resigning_at(now));
  auto fresh = pki::resign_crl(pki_dir);
  REQUIRE(fresh);
  CHECK_FALSE(fresh->expired_at(now));
  CHECK_FALSE(fresh->due_for_resigning_at(now));
  // Due once less than a third of its validity is left, not before.
  CHECK_FALSE(fresh->due_for_resigning_at(now + std::chrono::hours(24 * 19)));
  CHECK(fresh->due_for_resigning_at(now + std::chrono::hours(24 * 21)));
}

TEST_CASE("a missing CRL or one the CA did not sign is an error, never an empty list") {
  ScratchDir dir;
  std::filesystem::path ours = dir.path / "ours";
  std::filesystem::path theirs = dir.path / "theirs";
  REQUIRE(pki::init(ours).is_ok());
  REQUIRE(pki::init(theirs).is_ok());
  std::filesystem::copy_file(pki::Paths{theirs}.crl(), pki::Paths{ours}.crl(),
                             std::filesystem::copy_options::overwrite_existing);
  auto foreign = pki::read_crl(ours);
  CHECK(foreign.status().code() == StatusCode::invalid_argument);
  CHECK(foreign.status().message().find("by this CA") != std::string::npos);  // both CAs have the same name: the signature tells them apart
  CHECK(pki::resign_crl(ours).status().code() == StatusCode::invalid_argument);

  std::filesystem::remove(pki::Paths{ours}.crl());
  CHECK(pki::read_crl(ours).status().code() == StatusCode::not_found);
  auto resigned = pki::resign_crl(ours);
  CHECK(resigned.status().code() == StatusCode::not_found);
  CHECK(resigned.status().message().find("--new") != std::string::npos);
  CHECK(pki::revoke_reader(ours, ReaderId{1}).code() == StatusCode::not_found);
  auto started = pki::new_empty_crl(ours);
  REQUIRE(started);
  CHECK(started->revoked == 0);
  CHECK(pki::new_empty_crl(ours).status().code() == StatusCode::already_exists);
}

TEST_CASE("a key made on the reader and its CSR signed by the CA give a certificate the server accepts") {
  ScratchDir dir;
  constexpr ReaderId reader{31};
  std::filesystem::path key = dir.path / "reader.key";
  std::filesystem::path csr = dir.path / "reader.csr";
  REQUIRE(agent::generate_reader_key(key, csr, reader).is_ok());
  struct stat info{};
  REQUIRE(::stat(key.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  std::string key_text = read_text(key);
  // A key is never replaced.
  CHECK(agent::generate_reader_key(key, csr, reader).code() == StatusCode::already_exists);
  CHECK(read_text(key) == key_text);

  std::filesystem::path certificate = dir.path / "reader.crt";
  Status signed_status = pki::sign_reader(TestPki::get().dir, csr, reader, {}, certificate);
  INFO(signed_status.to_string());
  REQUIRE(signed_status.is_ok());
  CHECK(pki::sign_reader(TestPki::get().dir, csr, reader, {}, certificate).code() == StatusCode::already_exists);
  // The CA wrote no key anywhere.
  CHECK_FALSE(std::filesystem::exists(pki::Paths{TestPki::get().dir}.reader_key(reader)));

  TestServer server;
  auto options = client_options(server.server->port(), good_reader);
  options.certificate = certificate.string();
  options.private_key = key.string();
  options.reader = reader;
  uplink::Uplink client(options);
  Status connected = client.connect();
  INFO(connected.to_string());
  REQUIRE(connected.is_ok());
  auto reply = client.submit(make_batch(reader, 1, 1, 2));
  REQUIRE(reply);
  CHECK(reply->decisions.decisions.size() == 2);
}

TEST_CASE("a tampered CSR, one for another reader or for another kind of key is refused and nothing is written") {
  ScratchDir dir;
  constexpr ReaderId reader{32};
  std::filesystem::path key = dir.path / "reader.key";
  std::filesystem::path csr = dir.path / "reader.csr";
  REQUIRE(agent::generate_reader_key(key, csr, reader).is_ok());
  std::filesystem::path out = dir.path / "reader.crt";
  auto refused = [&](const std::filesystem::path& request, ReaderId as) {
    Status status = pki::sign_reader(TestPki::get().dir, request, as, {}, out);
    CHECK_FALSE(std::filesystem::exists(out));
    return status;
  };

  SECTION("another reader id") {
    Status status = refused(csr, ReaderId{33});
    CHECK(status.code() == StatusCode::invalid_argument);
    CHECK(status.message().find("is for CN 'reader-32', but --reader-id is 33") != std::string::npos);
  }
  SECTION("the subject altered after signing") {
    // The DER of the CSR, with CN reader-32 turned into reader-33: still a
    // well-formed request, but its signature no longer covers what it says.
    FILE* file = std::fopen(csr.c_str(), "r");
    X509_REQ* request = PEM_read_X509_REQ(file, nullptr, nullptr, nullptr);
    std::fclose(file);
    REQUIRE(request != nullptr);
    unsigned char* der = nullptr;
    int length = i2d_X509_REQ(request, &der);
    X509_REQ_free(request);
    REQUIRE(length > 0);
    std::string bytes(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    auto at = bytes.find("reader-32");
    REQUIRE(at != std::string::npos);
    bytes[at + 8] = '3';
    const unsigned char* cursor = reinterpret_cast<const unsigned char*>(bytes.data());
    X509_REQ* tampered = d2i_X509_REQ(nullptr, &cursor, length);
    REQUIRE(tampered != nullptr);
    std::filesystem::path tampered_path = dir.path / "tampered.csr";
    file = std::fopen(tampered_path.c_str(), "w");
    REQUIRE(PEM_write_X509_REQ(file, tampered) == 1);
    std::fclose(file);
    X509_REQ_free(tampered);
    Status status = refused(tampered_path, ReaderId{33});
    CHECK(status.code() == StatusCode::invalid_argument);
    CHECK(status.message().find("signature does not verify") != std::string::npos);
  }
  SECTION("not a CSR at all") {
    std::filesystem::path garbage = dir.path / "garbage.csr";
    std::ofstream(garbage) << "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
    Status status = refused(garbage, reader);
    CHECK(status.code() == StatusCode::invalid_argument);
    CHECK(status.message().find("holds no certificate signing request") != std::string::npos);
  }
  SECTION("an RSA key") {
    std::filesystem::path rsa = dir.path / "rsa.csr";
    std::string command = "openssl req -new -newkey rsa:2048 -nodes -keyout " + (dir.path / "rsa.key").string() +
                          " -subj /CN=reader-32 -out " + rsa.string() + " >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
    Status status = refused(rsa, reader);
    CHECK(status.code() == StatusCode::invalid_argument);
    CHECK(status.message().find("not for an EC P-256 key") != std::string::npos);
  }
  SECTION("a request for another reader's URI") {
    std::filesystem::path other = dir.path / "other.csr";
    std::string command = "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
                          (dir.path / "other.key").string() +
                          " -subj /CN=reader-32 -addext subjectAltName=URI:citycard:reader:7 -out " + other.string() +
                          " >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
    Status status = refused(other, reader);
    CHECK(status.code() == StatusCode::invalid_argument);
    CHECK(status.message().find("asks for URI citycard:reader:7") != std::string::npos);
  }
}
