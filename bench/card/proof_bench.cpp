// citycard-bench-proof: what a card proof costs the engine, on one core.
//  1. token CMAC: one C_SignInit + C_Sign (CKM_AES_CMAC) in a SoftHSM2 token;
//  2. first proof of a card: derive its key in the token, then verify the
//     proof with OpenSSL (what a shard does the first time it sees a card);
//  3. later proofs: verify with the card key kept in memory (a key setup and
//     one CMAC of 88 bytes per proof, the shard's reusable EVP_MAC context);
//  4. the same verification through a fresh EVP_MAC fetch per proof (the
//     obvious code), as the baseline that 3 is quoted against.
// Prints the machine, writes bench/results/proof.json (or --json).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "card/cryptogram.h"
#include "machine.h"
#include "token/softhsm.h"
#include "token/token.h"

using namespace citycard;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& what) {
  std::cerr << "citycard-bench-proof: " << what << "\n";
  std::exit(1);
}

struct Sample {
  CardId card;
  Tap tap;
  card::TapProof proof;
};

std::vector<Sample> make_samples(std::size_t count, const card::MasterKey& master) {
  std::vector<Sample> samples(count);
  for (std::size_t i = 0; i < count; ++i) {
    Sample& s = samples[i];
    std::uint8_t id[7] = {0x04, 0, 0, static_cast<std::uint8_t>(i >> 24), static_cast<std::uint8_t>(i >> 16),
                          static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
    s.card = CardId::from_bytes(id, sizeof id);
    s.tap.id = TapId{ReaderId{17}, i + 1};
    s.tap.card = s.card;
    s.tap.mode = Mode::bus_board;
    s.tap.operator_id = OperatorId{101};
    s.tap.route = 307;
    s.tap.location = 12;
    s.tap.event_time = EventTime{1772409600LL * 1'000'000 + static_cast<std::int64_t>(i)};
    s.proof.record.card_id = s.card;
    s.proof.atc = static_cast<std::uint32_t>(i + 1);
    s.proof.challenge[0] = static_cast<std::uint8_t>(i);
    card::CardKey key = card::diversify_card_key(master, s.card);
    s.proof.cryptogram = *card::compute_cryptogram(key, s.proof.record, s.proof.atc, s.proof.challenge, s.tap);
  }
  return samples;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"citycard-bench-proof: card proof verifications per second per core"};
  std::size_t token_cards = 20'000, cached_proofs = 2'000'000;
  std::string json_path = "bench/results/proof.json";
  app.add_option("--token-cards", token_cards, "cards derived through the token (default 20000)");
  app.add_option("--cached-proofs", cached_proofs, "proofs verified with cached keys (default 2000000)");
  app.add_option("--json", json_path, "results file (default bench/results/proof.json)");
  CLI11_PARSE(app, argc, argv);

  const bench::Machine machine = bench::describe_machine();
  std::cout << "machine: " << bench::machine_line(machine) << "\n";
  const std::string dir = (std::filesystem::temp_directory_path() / ("citycard-bench-proof-" + std::to_string(::getpid()))).string();
  const card::MasterKey master{*card::parse_key_hex("000102030405060708090A0B0C0D0E0F"), 1};
  if (Status made = token::create_softhsm_token(dir + "/token"); !made) die(made.to_string());
  auto opened = token::Token::open(token::softhsm_options(dir + "/token"));
  if (!opened) die(opened.status().to_string());
  if (Status imported = (*opened)->import_master_key(1, master.bytes); !imported) die(imported.to_string());
  token::TokenKeySource keys(*opened);

  const std::vector<Sample> samples = make_samples(std::max(token_cards, std::size_t{100'000}), master);
  nlohmann::json results;
  results["machine"] = nlohmann::json::parse(bench::machine_json(machine));

  // 1. token CMAC alone.
  auto start = Clock::now();
  for (std::size_t i = 0; i < token_cards; ++i) {
    if (!(*opened)->cmac(1, card::diversification_input(samples[i].card))) die("token CMAC failed");
  }
  double token_s = seconds_since(start);
  double token_rate = static_cast<double>(token_cards) / token_s;

  // 2. derive in the token + verify.
  card::CmacContext context;
  start = Clock::now();
  for (std::size_t i = 0; i < token_cards; ++i) {
    auto key = keys.card_key(1, samples[i].card);
    if (!key || !card::verify_tap_proof(*key, samples[i].tap, samples[i].proof, &context)) die("derive+verify failed");
  }
  double derive_s = seconds_since(start);
  double derive_rate = static_cast<double>(token_cards) / derive_s;

  // 3. verify with cached keys (the shard's path after a card's first proof).
  std::vector<card::CardKey> cached(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) cached[i] = card::diversify_card_key(master, samples[i].card);
  start = Clock::now();
  for (std::size_t n = 0; n < cached_proofs; ++n) {
    std::size_t i = n % samples.size();
    if (!card::verify_tap_proof(cached[i], samples[i].tap, samples[i].proof, &context)) die("verify failed");
  }
  double cached_s = seconds_since(start);
  double cached_rate = static_cast<double>(cached_proofs) / cached_s;

  // 4. baseline: a fresh EVP_MAC fetch and context per proof.
  std::size_t fresh_proofs = cached_proofs / 4;
  start = Clock::now();
  for (std::size_t n = 0; n < fresh_proofs; ++n) {
    std::size_t i = n % samples.size();
    if (!card::verify_tap_proof(cached[i], samples[i].tap, samples[i].proof)) die("verify failed");
  }
  double fresh_s = seconds_since(start);
  double fresh_rate = static_cast<double>(fresh_proofs) / fresh_s;

  std::printf("token CMAC (C_SignInit + C_Sign, SoftHSM2): %.0f /s (%.1f us each)\n", token_rate, 1e6 / token_rate);
  std::printf("first proof of a card, derive in the token + verify: %.0f /s (%.1f us each)\n", derive_rate, 1e6 / derive_rate);
  std::printf("proof with the cached card key (reused EVP_MAC context): %.0f /s (%.2f us each) = %.1fx derive+verify\n",
              cached_rate, 1e6 / cached_rate, cached_rate / derive_rate);
  std::printf("proof with a fresh EVP_MAC fetch per proof (baseline): %.0f /s (%.2f us each); the reused context is %.2fx\n",
              fresh_rate, 1e6 / fresh_rate, cached_rate / fresh_rate);
  results["token_cmac_per_second"] = token_rate;
  results["derive_in_token_and_verify_per_second"] = derive_rate;
  results["verify_cached_key_per_second"] = cached_rate;
  results["verify_fresh_evp_mac_per_second"] = fresh_rate;
  results["ratio_cached_to_derive"] = cached_rate / derive_rate;
  results["ratio_cached_to_fresh_evp_mac"] = cached_rate / fresh_rate;
  results["token_cards"] = token_cards;
  results["cached_proofs"] = cached_proofs;
  std::filesystem::create_directories(std::filesystem::path(json_path).parent_path());
  std::ofstream(json_path) << results.dump(2) << "\n";
  std::cout << "results: " << json_path << "\n";
  opened->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
