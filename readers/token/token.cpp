#include "token.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <p11-kit/pkcs11.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

namespace citycard::token {

// The loaded module: dlopen handle and function list. Finalised (and closed)
// with the last token that uses it, if this object initialised it.
class Module {
 public:
  static Result<std::shared_ptr<Module>> load(const TokenOptions& options) {
    if (!options.softhsm2_conf.empty()) ::setenv("SOFTHSM2_CONF", options.softhsm2_conf.c_str(), 1);
    void* handle = ::dlopen(options.module_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      return Status::unavailable(fmt::format("cannot load PKCS#11 module {}: {}", options.module_path, ::dlerror()));
    }
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
    CK_FUNCTION_LIST_PTR functions = nullptr;
    if (get_list == nullptr || get_list(&functions) != CKR_OK || functions == nullptr) {
      ::dlclose(handle);
      return Status::unavailable(fmt::format("{} is not a PKCS#11 module (no C_GetFunctionList)", options.module_path));
    }
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = functions->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      ::dlclose(handle);
      return Status::unavailable(fmt::format("{}: C_Initialize failed (CKR 0x{:X})", options.module_path, rv));
    }
    return std::shared_ptr<Module>(new Module(handle, functions, rv == CKR_OK));
  }
  ~Module() {
    if (initialised_) functions_->C_Finalize(nullptr);
    ::dlclose(handle_);
  }
  CK_FUNCTION_LIST_PTR f() const { return functions_; }

 private:
  Module(void* handle, CK_FUNCTION_LIST_PTR functions, bool initialised)
      : handle_(handle), functions_(functions), initialised_(initialised) {}
  void* handle_;
  CK_FUNCTION_LIST_PTR functions_;
  bool initialised_;
};

namespace {

std::string padded_label(const unsigned char (&label)[32]) {
  std::string text(reinterpret_cast<const char*>(label), sizeof label);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
  return text;
}

Status failed(const char* call, CK_RV rv) {
  return Status::unavailable(fmt::format("PKCS#11 {} failed (CKR 0x{:X})", call, rv));
}

bool session_lost(CK_RV rv) {
  return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED || rv == CKR_DEVICE_REMOVED ||
         rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_DEVICE_ERROR;
}

}  // namespace

std::string master_key_label(std::uint8_t version) { return fmt::format("citycard-master-v{}", version); }

Result<std::string> read_pin(const TokenOptions& options) {
  if (!options.pin_file.empty()) {
    struct stat info {};
    if (::stat(options.pin_file.c_str(), &info) != 0) {
      return Status::invalid_argument(fmt::format("PIN file {}: {}", options.pin_file, std::strerror(errno)));
    }
    if (!S_ISREG(info.st_mode)) return Status::invalid_argument(fmt::format("PIN file {} is not a regular file", options.pin_file));
    if ((info.st_mode & 077) != 0) {
      return Status::invalid_argument(fmt::format("PIN file {} has mode {:04o}: group and others must have no access (chmod 600)",
                                                  options.pin_file, info.st_mode & 07777));
    }
    std::ifstream in(options.pin_file);
    std::string pin;
    if (!in || !std::getline(in, pin)) return Status::invalid_argument(fmt::format("cannot read PIN file {}", options.pin_file));
    while (!pin.empty() && (pin.back() == '\r' || pin.back() == ' ')) pin.pop_back();
    if (pin.empty()) return Status::invalid_argument(fmt::format("PIN file {} is empty", options.pin_file));
    return pin;
  }
  if (!options.pin_env.empty()) {
    const char* value = std::getenv(options.pin_env.c_str());
    if (value == nullptr || *value == '\0') {
      return Status::invalid_argument(fmt::format("environment variable {} (the token PIN) is not set", options.pin_env));
    }
    return std::string(value);
  }
  return Status::invalid_argument("no token PIN source: set a PIN file (mode 0600) or a PIN environment variable");
}

struct Token::State {
  std::shared_ptr<Module> module;
  TokenOptions options;
  std::string pin;
  CK_SLOT_ID slot = 0;
  std::mutex mutex;
  std::atomic<int> foreground_waiting{0};   // cmac() callers wanting the mutex
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  std::map<std::uint8_t, CK_OBJECT_HANDLE> keys;   // found by label, per session

  CK_FUNCTION_LIST_PTR f() const { return module->f(); }

  Status find_slot() {
    CK_ULONG count = 0;
    if (CK_RV rv = f()->C_GetSlotList(CK_TRUE, nullptr, &count); rv != CKR_OK) return failed("C_GetSlotList", rv);
    std::vector<CK_SLOT_ID> slots(count);
    if (CK_RV rv = f()->C_GetSlotList(CK_TRUE, slots.data(), &count); rv != CKR_OK) return failed("C_GetSlotList", rv);
    slots.resize(count);
    for (CK_SLOT_ID candidate : slots) {
      CK_TOKEN_INFO info{};
      if (f()->C_GetTokenInfo(candidate, &info) != CKR_OK) continue;
      if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
      if (padded_label(info.label) == options.token_label) {
        slot = candidate;
        return Status::ok();
      }
    }
    return Status::not_found(fmt::format("no PKCS#11 token labelled '{}' in {} (SOFTHSM2_CONF={})", options.token_label,
                                         options.module_path, std::getenv("SOFTHSM2_CONF") ? std::getenv("SOFTHSM2_CONF") : ""));
  }

  Status open_session() {
    keys.clear();
    if (session != CK_INVALID_HANDLE) f()->C_CloseSession(session);
    session = CK_INVALID_HANDLE;
    CK_RV rv = f()->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session);
    if (rv != CKR_OK) {
      session = CK_INVALID_HANDLE;
      return failed("C_OpenSession", rv);
    }
    rv = f()->C_Login(session, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(pin.data()), pin.size());
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED) {
      return Status::invalid_argument(fmt::format("token '{}' refused the PIN (CKR 0x{:X})", options.token_label, rv));
    }
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) return failed("C_Login", rv);
    return Status::ok();
  }

  // The key handle of a version: not_found if the token has none.
  Result<CK_OBJECT_HANDLE> key(std::uint8_t version) {
    if (auto found = keys.find(version); found != keys.end()) return found->second;
    std::string label = master_key_label(version);
    CK_OBJECT_CLASS key_class = CKO_SECRET_KEY;
    CK_ATTRIBUTE query[] = {{CKA_CLASS, &key_class, sizeof key_class}, {CKA_LABEL, label.data(), label.size()}};
    CK_RV rv = f()->C_FindObjectsInit(session, query, 2);
    if (rv != CKR_OK) return failed("C_FindObjectsInit", rv);
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    CK_ULONG found = 0;
    rv = f()->C_FindObjects(session, &handle, 1, &found);
    f()->C_FindObjectsFinal(session);
    if (rv != CKR_OK) return failed("C_FindObjects", rv);
    if (found == 0) return Status::not_found(fmt::format("token '{}' has no master key {}", options.token_label, label));
    keys[version] = handle;
    return handle;
  }

  Result<card::Block> sign(std::uint8_t version, card::ByteView data) {
    auto handle = key(version);
    if (!handle) return handle.status();
    CK_MECHANISM mechanism{CKM_AES_CMAC, nullptr, 0};
    CK_RV rv = f()->C_SignInit(session, &mechanism, *handle);
    if (rv != CKR_OK) return failed("C_SignInit", rv);
    card::Block out{};
    CK_ULONG length = out.size();
    rv = f()->C_Sign(session, const_cast<CK_BYTE_PTR>(data.data()), data.size(), out.data(), &length);
    if (rv != CKR_OK) return failed("C_Sign", rv);
    if (length != out.size()) return Status::unavailable(fmt::format("token CMAC returned {} bytes", length));
    return out;
  }

  Status create_key(std::uint8_t version, const card::Block* value) {
    if (auto existing = key(version); existing) {
      return Status::already_exists(fmt::format("token '{}' already has {}", options.token_label, master_key_label(version)));
    } else if (existing.status().code() != StatusCode::not_found) {
      return existing.status();
    }
    std::string label = master_key_label(version);
    CK_OBJECT_CLASS key_class = CKO_SECRET_KEY;
    CK_KEY_TYPE key_type = CKK_AES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG length = 16;
    std::vector<CK_ATTRIBUTE> attributes = {
        {CKA_CLASS, &key_class, sizeof key_class}, {CKA_KEY_TYPE, &key_type, sizeof key_type},
        {CKA_TOKEN, &yes, sizeof yes},             {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},         {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_SIGN, &yes, sizeof yes},              {CKA_VERIFY, &yes, sizeof yes},
        {CKA_ENCRYPT, &no, sizeof no},             {CKA_DECRYPT, &no, sizeof no},
        {CKA_WRAP, &no, sizeof no},                {CKA_UNWRAP, &no, sizeof no},
        {CKA_DERIVE, &no, sizeof no},              {CKA_LABEL, label.data(), label.size()}};
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    CK_RV rv;
    if (value == nullptr) {
      attributes.push_back({CKA_VALUE_LEN, &length, sizeof length});
      CK_MECHANISM mechanism{CKM_AES_KEY_GEN, nullptr, 0};
      rv = f()->C_GenerateKey(session, &mechanism, attributes.data(), attributes.size(), &handle);
      if (rv != CKR_OK) return failed("C_GenerateKey", rv);
    } else {
      card::Block copy = *value;
      attributes.push_back({CKA_VALUE, copy.data(), copy.size()});
      rv = f()->C_CreateObject(session, attributes.data(), attributes.size(), &handle);
      if (rv != CKR_OK) return failed("C_CreateObject", rv);
    }
    keys[version] = handle;
    return Status::ok();
  }

  // Runs op; if the session was lost, reopens it once and runs op again.
  template <typename Op>
  auto with_session(Op op) -> decltype(op()) {
    foreground_waiting.fetch_add(1, std::memory_order_acq_rel);
    std::unique_lock lock(mutex);
    foreground_waiting.fetch_sub(1, std::memory_order_acq_rel);
    return locked(lock, op);
  }
  template <typename Op>
  auto with_session_when_idle(Op op) -> decltype(op()) {
    for (;;) {
      while (foreground_waiting.load(std::memory_order_acquire) > 0) std::this_thread::yield();
      std::unique_lock lock(mutex);
      // One that arrived between the check and the lock goes first too.
      if (foreground_waiting.load(std::memory_order_acquire) == 0) return locked(lock, op);
    }
  }
  template <typename Op>
  auto locked(std::unique_lock<std::mutex>&, Op& op) -> decltype(op()) {
    if (session == CK_INVALID_HANDLE) {
      if (Status opened = open_session(); !opened) return opened;
    }
    auto result = op();
    if (result_ok(result)) return result;
    CK_SESSION_INFO info{};
    CK_RV rv = f()->C_GetSessionInfo(session, &info);
    if (rv == CKR_OK && (info.state == CKS_RW_USER_FUNCTIONS || info.state == CKS_RO_USER_FUNCTIONS)) return result;
    if (rv != CKR_OK && !session_lost(rv)) return result;
    if (Status opened = open_session(); !opened) return opened;
    return op();
  }
  static bool result_ok(const Status& status) { return status.is_ok(); }
  template <typename T>
  static bool result_ok(const Result<T>& result) { return result.has_value(); }
};

Token::Token(std::unique_ptr<State> state) : state_(std::move(state)) {}

Token::~Token() {
  if (state_->session != CK_INVALID_HANDLE) {
    state_->f()->C_Logout(state_->session);
    state_->f()->C_CloseSession(state_->session);
  }
}

Result<std::shared_ptr<Token>> Token::open(const TokenOptions& options) {
  auto pin = read_pin(options);
  if (!pin) return pin.status();
  auto module = Module::load(options);
  if (!module) return module.status();
  auto state = std::make_unique<State>();
  state->module = std::move(*module);
  state->options = options;
  state->pin = std::move(*pin);
  if (Status found = state->find_slot(); !found) return found;
  if (Status opened = state->open_session(); !opened) return opened;
  return std::shared_ptr<Token>(new Token(std::move(state)));
}

Result<card::Block> Token::cmac(std::uint8_t version, card::ByteView data) {
  return state_->with_session([&]() { return state_->sign(version, data); });
}

Result<card::Block> Token::cmac_when_idle(std::uint8_t version, card::ByteView data) {
  return state_->with_session_when_idle([&]() { return state_->sign(version, data); });
}

Status Token::generate_master_key(std::uint8_t version) {
  return state_->with_session([&]() { return state_->create_key(version, nullptr); });
}

Status Token::import_master_key(std::uint8_t version, const card::Block& value) {
  return state_->with_session([&]() { return state_->create_key(version, &value); });
}

Result<std::vector<MasterKeyInfo>> Token::list_master_keys() {
  return state_->with_session([&]() -> Result<std::vector<MasterKeyInfo>> {
    State& s = *state_;
    CK_OBJECT_CLASS key_class = CKO_SECRET_KEY;
    CK_ATTRIBUTE query[] = {{CKA_CLASS, &key_class, sizeof key_class}};
    CK_RV rv = s.f()->C_FindObjectsInit(s.session, query, 1);
    if (rv != CKR_OK) return failed("C_FindObjectsInit", rv);
    std::vector<CK_OBJECT_HANDLE> handles(256);
    CK_ULONG found = 0;
    rv = s.f()->C_FindObjects(s.session, handles.data(), handles.size(), &found);
    s.f()->C_FindObjectsFinal(s.session);
    if (rv != CKR_OK) return failed("C_FindObjects", rv);
    std::vector<MasterKeyInfo> keys;
    for (CK_ULONG i = 0; i < found; ++i) {
      char label[64] = {};
      CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
      CK_ATTRIBUTE attributes[] = {{CKA_LABEL, label, sizeof label - 1},
                                   {CKA_SENSITIVE, &sensitive, sizeof sensitive},
                                   {CKA_EXTRACTABLE, &extractable, sizeof extractable}};
      if (s.f()->C_GetAttributeValue(s.session, handles[i], attributes, 3) != CKR_OK) continue;
      std::string text(label, attributes[0].ulValueLen);
      for (int version = 1; version <= 255; ++version) {
        if (text != master_key_label(static_cast<std::uint8_t>(version))) continue;
        keys.push_back({static_cast<std::uint8_t>(version), text, sensitive == CK_TRUE, extractable == CK_TRUE});
      }
    }
    std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    return keys;
  });
}

Status Token::read_key_value(std::uint8_t version, card::Block& out) {
  return state_->with_session([&]() -> Status {
    auto handle = state_->key(version);
    if (!handle) return handle.status();
    CK_ATTRIBUTE attribute{CKA_VALUE, out.data(), out.size()};
    CK_RV rv = state_->f()->C_GetAttributeValue(state_->session, *handle, &attribute, 1);
    if (rv != CKR_OK) return Status::refused(fmt::format("token withholds CKA_VALUE (CKR 0x{:X})", rv));
    return Status::ok();
  });
}

void Token::drop_session_for_test() {
  std::lock_guard lock(state_->mutex);
  state_->f()->C_CloseAllSessions(state_->slot);
}

Result<card::CardKey> TokenKeySource::card_key(std::uint8_t key_version, const CardId& card_id) {
  auto mac = token_->cmac(key_version, card::diversification_input(card_id));
  if (!mac) return mac.status();
  return card::CardKey{*mac};
}

Result<card::CardKey> TokenKeySource::card_key_when_idle(std::uint8_t key_version, const CardId& card_id) {
  auto mac = token_->cmac_when_idle(key_version, card::diversification_input(card_id));
  if (!mac) return mac.status();
  return card::CardKey{*mac};
}

}  // namespace citycard::token
