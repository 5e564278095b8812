#include "softhsm.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "card/bytes.h"
#include "files/durable_file.h"

namespace citycard::token {
namespace {

// PINs and the token's configuration: 0600 from the start, whole or absent,
// never over an existing file.
Status write_private_file(const std::string& path, const std::string& text) {
  Status status = files::write_file_durably(path, text, {.mode = files::mode_private, .existing = files::Existing::keep});
  if (status.code() == StatusCode::already_exists) return Status::already_exists(fmt::format("{} already exists", path));
  return status;
}

Result<std::string> random_pin() {
  card::Bytes bytes(16);
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) return Status::io_error("RAND_bytes failed");
  return card::to_hex(bytes);
}

Status failed(const char* call, CK_RV rv) {
  return Status::unavailable(fmt::format("PKCS#11 {} failed (CKR 0x{:X})", call, rv));
}

// C_InitToken on the free slot, then the user PIN through an SO session.
Status init_token(const TokenOptions& options, const std::string& so_pin, const std::string& user_pin) {
  ::setenv("SOFTHSM2_CONF", options.softhsm2_conf.c_str(), 1);
  void* handle = ::dlopen(options.module_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return Status::unavailable(fmt::format("cannot load PKCS#11 module {}: {}", options.module_path, ::dlerror()));
  struct Closer {
    void* handle;
    CK_FUNCTION_LIST_PTR f = nullptr;
    bool initialised = false;
    ~Closer() {
      if (initialised) f->C_Finalize(nullptr);
      ::dlclose(handle);
    }
  } closer{handle};
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  if (get_list == nullptr || get_list(&closer.f) != CKR_OK) return Status::unavailable("no C_GetFunctionList");
  CK_FUNCTION_LIST_PTR f = closer.f;
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = f->C_Initialize(&args);
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    return Status::unavailable("the PKCS#11 module is already in use in this process; create the token before opening one");
  }
  if (rv != CKR_OK) return failed("C_Initialize", rv);
  closer.initialised = true;

  CK_ULONG count = 0;
  if ((rv = f->C_GetSlotList(CK_TRUE, nullptr, &count)) != CKR_OK) return failed("C_GetSlotList", rv);
  std::vector<CK_SLOT_ID> slots(count);
  if ((rv = f->C_GetSlotList(CK_TRUE, slots.data(), &count)) != CKR_OK) return failed("C_GetSlotList", rv);
  CK_SLOT_ID free_slot = 0;
  bool found = false;
  for (CK_ULONG i = 0; i < count && !found; ++i) {
    CK_TOKEN_INFO info{};
    if (f->C_GetTokenInfo(slots[i], &info) == CKR_OK && (info.flags & CKF_TOKEN_INITIALIZED) == 0) {
      free_slot = slots[i];
      found = true;
    }
  }
  if (!found) return Status::unavailable("SoftHSM2 offers no free slot");
  unsigned char label[32];
  std::memset(label, ' ', sizeof label);
  std::memcpy(label, options.token_label.data(), std::min(options.token_label.size(), sizeof label));
  std::string so = so_pin;
  if ((rv = f->C_InitToken(free_slot, reinterpret_cast<CK_UTF8CHAR_PTR>(so.data()), so.size(), label)) != CKR_OK) {
    return failed("C_InitToken", rv);
  }
  // SoftHSM2 gives the initialised token a new slot id: find it by label.
  count = 0;
  if ((rv = f->C_GetSlotList(CK_TRUE, nullptr, &count)) != CKR_OK) return failed("C_GetSlotList", rv);
  slots.resize(count);
  if ((rv = f->C_GetSlotList(CK_TRUE, slots.data(), &count)) != CKR_OK) return failed("C_GetSlotList", rv);
  found = false;
  CK_SLOT_ID slot = 0;
  for (CK_ULONG i = 0; i < count && !found; ++i) {
    CK_TOKEN_INFO info{};
    if (f->C_GetTokenInfo(slots[i], &info) == CKR_OK && std::memcmp(info.label, label, sizeof label) == 0) {
      slot = slots[i];
      found = true;
    }
  }
  if (!found) return Status::unavailable("the token just initialised is not listed");
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session)) != CKR_OK) {
    return failed("C_OpenSession", rv);
  }
  rv = f->C_Login(session, CKU_SO, reinterpret_cast<CK_UTF8CHAR_PTR>(so.data()), so.size());
  std::string user = user_pin;
  if (rv == CKR_OK) rv = f->C_InitPIN(session, reinterpret_cast<CK_UTF8CHAR_PTR>(user.data()), user.size());
  f->C_Logout(session);
  f->C_CloseSession(session);
  if (rv != CKR_OK) return failed("C_Login(SO) / C_InitPIN", rv);
  return Status::ok();
}

}  // namespace

TokenOptions softhsm_options(const std::string& dir, const std::string& token_label) {
  TokenOptions options;
  options.token_label = token_label;
  options.pin_file = dir + "/user.pin";
  options.softhsm2_conf = dir + "/softhsm2.conf";
  return options;
}

Status create_softhsm_token(const std::string& dir, const std::string& token_label) {
  namespace fs = std::filesystem;
  TokenOptions options = softhsm_options(dir, token_label);
  if (fs::exists(options.softhsm2_conf)) return Status::already_exists(fmt::format("{} already holds a token", dir));
  std::error_code error;
  fs::create_directories(fs::path(dir) / "tokens", error);
  if (error) return Status::io_error(fmt::format("cannot create {}: {}", dir, error.message()));
  ::chmod(dir.c_str(), 0700);
  ::chmod((dir + "/tokens").c_str(), 0700);
  auto so_pin = random_pin();
  auto user_pin = random_pin();
  if (!so_pin || !user_pin) return Status::io_error("no randomness for the token PINs");
  if (Status s = write_private_file(dir + "/so.pin", *so_pin + "\n"); !s) return s;
  if (Status s = write_private_file(options.pin_file, *user_pin + "\n"); !s) return s;
  std::string absolute = fs::absolute(fs::path(dir) / "tokens").string();
  // Made under another name and renamed last: softhsm2.conf exists only
  // once the token in the directory is complete.
  const std::string pending = options.softhsm2_conf + ".new";
  fs::remove(pending, error);
  if (Status s = write_private_file(pending, fmt::format("directories.tokendir = {}\nobjectstore.backend = file\n"
                                                         "log.level = ERROR\nslots.removable = false\n",
                                                         absolute));
      !s) {
    return s;
  }
  TokenOptions creating = options;
  creating.softhsm2_conf = pending;
  if (Status s = init_token(creating, *so_pin, *user_pin); !s) return s;
  fs::rename(pending, options.softhsm2_conf, error);
  if (error) return Status::io_error(fmt::format("cannot rename {}: {}", pending, error.message()));
  return files::sync_directory(dir);
}

}  // namespace citycard::token
