// `citycard keys ...`: the card master keys in the PKCS#11 token, for the card
// office. Keys are generated inside the token and never leave it; `export`
// writes the diversified card keys the card bureau personalises cards with
// (and the emulator and load generator use), each derived in the token.
//
//   citycard keys [--token-dir DIR | --module SO --token-label L (--pin-file F | --pin-env VAR)]
//       init-token | generate --version N | list | export --cards CSV --out FILE [--version N]
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "card/bytes.h"
#include "card/crypto.h"
#include "commands.h"
#include "files/durable_file.h"
#include "token/softhsm.h"
#include "token/token.h"

namespace citycard::cli {
namespace {

struct KeysOptions {
  std::string token_dir;          // a SoftHSM2 token directory (default ./var/token unless --module)
  token::TokenOptions token;      // an explicit token
  unsigned version = 1;
  std::string cards_csv;
  std::string out;
};

token::TokenOptions token_options(const KeysOptions& options) {
  if (!options.token.pin_file.empty() || !options.token.pin_env.empty()) return options.token;
  return token::softhsm_options(options.token_dir.empty() ? "./var/token" : options.token_dir, options.token.token_label);
}

std::shared_ptr<token::Token> open_token(const KeysOptions& options) {
  auto opened = token::Token::open(token_options(options));
  if (!opened) fail(opened.status().to_string());
  return *opened;
}

std::uint8_t version_of(const KeysOptions& options) {
  if (options.version < 1 || options.version > 255) fail("--version must be 1..255", 2);
  return static_cast<std::uint8_t>(options.version);
}

}  // namespace

void add_keys_commands(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<KeysOptions>();
  CLI::App* keys = app.add_subcommand("keys", "card master keys in the PKCS#11 token");
  keys->require_subcommand(1);
  keys->add_option("--token-dir", options->token_dir, "SoftHSM2 token directory (default ./var/token)");
  keys->add_option("--module", options->token.module_path, "PKCS#11 module of another token");
  keys->add_option("--token-label", options->token.token_label, "token label (default citycard)");
  keys->add_option("--pin-file", options->token.pin_file, "user PIN file, mode 0600 (another token)");
  keys->add_option("--pin-env", options->token.pin_env, "environment variable holding the user PIN (another token)");

  keys->add_subcommand("init-token", "create a SoftHSM2 token in --token-dir (PINs in files of mode 0600)")
      ->callback([options] {
        std::string dir = options->token_dir.empty() ? "./var/token" : options->token_dir;
        Status made = token::create_softhsm_token(dir, options->token.token_label);
        if (!made) fail(made.to_string(), made.code() == StatusCode::already_exists ? 3 : 1);
        std::cout << "token '" << options->token.token_label << "' created in " << dir << " (user PIN in " << dir
                  << "/user.pin, mode 0600)\n";
      });

  CLI::App* generate = keys->add_subcommand("generate", "generate master key version N inside the token");
  generate->add_option("--version", options->version, "key version 1..255")->required();
  generate->callback([options] {
    auto token = open_token(*options);
    std::uint8_t version = version_of(*options);
    Status made = token->generate_master_key(version);
    if (!made) fail(made.to_string(), made.code() == StatusCode::already_exists ? 3 : 1);
    std::cout << token::master_key_label(version) << " generated in the token (sensitive, not extractable)\n";
  });

  keys->add_subcommand("list", "the master keys in the token")->callback([options, &context] {
    auto token = open_token(*options);
    auto listed = token->list_master_keys();
    if (!listed) fail(listed.status().to_string());
    for (const auto& key : *listed) {
      if (context.json) {
        std::cout << "{\"version\":" << int{key.version} << ",\"label\":\"" << key.label << "\",\"sensitive\":"
                  << (key.sensitive ? "true" : "false") << ",\"extractable\":" << (key.extractable ? "true" : "false")
                  << "}\n";
      } else {
        std::cout << "v" << int{key.version} << "  " << key.label << (key.sensitive ? "  sensitive" : "  NOT SENSITIVE")
                  << (key.extractable ? "  EXTRACTABLE" : "  not extractable") << "\n";
      }
    }
    if (listed->empty()) std::cerr << "citycard: the token holds no citycard master key\n";
  });

  CLI::App* exported = keys->add_subcommand(
      "export", "personalisation export: each card's diversified key, derived in the token (card,key_version,card_key)");
  exported->add_option("--cards", options->cards_csv, "CSV whose first column is the card id (a roster; header line skipped)")
      ->required();
  exported->add_option("--out", options->out, "output CSV, created with mode 0600")->required();
  exported->add_option("--version", options->version, "master key version (default 1)");
  exported->callback([options] {
    std::uint8_t version = version_of(*options);
    std::ifstream in(options->cards_csv);
    if (!in) fail("cannot read " + options->cards_csv);
    auto token = open_token(*options);
    token::TokenKeySource keys(token);
    // Card keys: 0600 from the start, and the file appears whole or not at all.
    auto out = files::DurableFile::create(options->out, {.mode = files::mode_private});
    if (!out) fail(out.status().to_string());
    std::ostringstream text;
    text << "card,key_version,card_key\n";
    std::string line;
    std::size_t count = 0, line_number = 0;
    while (std::getline(in, line)) {
      ++line_number;
      std::string first = line.substr(0, line.find(','));
      auto card = CardId::parse(first);
      if (!card) {
        if (line_number == 1) continue;   // the header
        fail(options->cards_csv + ":" + std::to_string(line_number) + ": '" + first + "' is not a card id");
      }
      auto key = keys.card_key(version, *card);
      if (!key) fail(key.status().to_string());
      text << card->to_string() << "," << int{version} << "," << card::to_hex(key->bytes) << "\n";
      ++count;
    }
    Status written = out->append(text.str());
    if (written) written = out->commit();
    if (!written) fail(written.to_string());
    std::cout << count << " card keys (master key v" << int{version} << ") -> " << options->out << "\n";
  });
}

}  // namespace citycard::cli
