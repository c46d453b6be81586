// The module loader (DESIGN §5): finds <name>.so, checks its ABI signature by reading the file
// (no module code runs before the check), resolves dependencies depth-first, creates each
// module with its configuration, and unloads in reverse order.
#include "core/module_host.h"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>

#include "core/log.h"

namespace parley {

namespace {

constexpr std::string_view kAbiSection = ".parley_abi";
constexpr uint64_t kMaxAbiBytes = 4096;      // the signature is ~100 bytes
constexpr uint64_t kMaxSections = 1u << 16;  // far above any real shared object

// A read-only file we do not trust: every read is bounds-checked against its size.
class File {
 public:
  explicit File(const std::string& path) {
    // O_NONBLOCK: opening a FIFO planted at the path must not hang the loader.
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) return;
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  bool ok() const { return fd_ >= 0; }
  uint64_t size() const { return size_; }
  bool contains(uint64_t offset, uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }
  bool read(uint64_t offset, void* out, uint64_t length) const {
    if (!contains(offset, length)) return false;
    auto* p = static_cast<char*>(out);
    while (length > 0) {
      ssize_t n = ::pread(fd_, p, length, static_cast<off_t>(offset));
      if (n <= 0) return false;
      p += n;
      offset += static_cast<uint64_t>(n);
      length -= static_cast<uint64_t>(n);
    }
    return true;
  }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
};

struct AbiRead {
  std::optional<std::string> abi;
  std::string error;  // why there is none
};

// Reads the .parley_abi section of an ELF64 file of this machine's byte order (ELF gABI:
// header -> section header table -> section name string table -> the section by name).
AbiRead read_abi_section(const std::string& path) {
  File f(path);
  if (!f.ok()) return {std::nullopt, "cannot open it as a regular file"};

  Elf64_Ehdr eh{};
  if (!f.read(0, &eh, sizeof eh)) return {std::nullopt, "too short for an ELF header"};
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return {std::nullopt, "not an ELF file"};
  if (eh.e_ident[EI_CLASS] != ELFCLASS64) return {std::nullopt, "not a 64-bit ELF file"};
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  constexpr unsigned char kHostData = ELFDATA2LSB;
#else
  constexpr unsigned char kHostData = ELFDATA2MSB;
#endif
  if (eh.e_ident[EI_DATA] != kHostData) return {std::nullopt, "ELF byte order of another machine"};
  if (eh.e_shoff == 0) return {std::nullopt, "no section header table"};
  if (eh.e_shentsize != sizeof(Elf64_Shdr)) return {std::nullopt, "unexpected section header size"};

  auto section = [&](uint64_t index, Elf64_Shdr& out) {
    // index < 2^16 (checked below) and shentsize is fixed, so this cannot overflow.
    return f.read(eh.e_shoff + index * sizeof(Elf64_Shdr), &out, sizeof out);
  };
  // More than SHN_LORESERVE sections, or a string table index beyond it, are stored in
  // section 0's sh_size / sh_link (ELF gABI "Sections").
  uint64_t count = eh.e_shnum;
  uint64_t strndx = eh.e_shstrndx;
  if (count == 0 || strndx == SHN_XINDEX) {
    Elf64_Shdr zero{};
    if (!section(0, zero)) return {std::nullopt, "section header table outside the file"};
    if (count == 0) count = zero.sh_size;
    if (strndx == SHN_XINDEX) strndx = zero.sh_link;
  }
  if (count == 0 || count > kMaxSections) return {std::nullopt, "implausible section count"};
  if (!f.contains(eh.e_shoff, count * sizeof(Elf64_Shdr)))
    return {std::nullopt, "section header table outside the file"};
  if (strndx >= count) return {std::nullopt, "section name table index out of range"};

  Elf64_Shdr names{};
  if (!section(strndx, names) || names.sh_type != SHT_STRTAB ||
      !f.contains(names.sh_offset, names.sh_size))
    return {std::nullopt, "section name table outside the file"};

  for (uint64_t i = 0; i < count; ++i) {
    Elf64_Shdr sh{};
    if (!section(i, sh)) return {std::nullopt, "section header table outside the file"};
    // The name must lie inside the string table, with room for the terminating NUL.
    if (sh.sh_name >= names.sh_size || names.sh_size - sh.sh_name < kAbiSection.size() + 1)
      continue;
    char name[kAbiSection.size() + 1];
    if (!f.read(names.sh_offset + sh.sh_name, name, sizeof name)) continue;
    if (std::string_view(name, sizeof name) != std::string(kAbiSection) + '\0') continue;

    if (sh.sh_type == SHT_NOBITS || sh.sh_size == 0 || sh.sh_size > kMaxAbiBytes ||
        !f.contains(sh.sh_offset, sh.sh_size))
      return {std::nullopt, "corrupt .parley_abi section"};
    std::string abi(sh.sh_size, '\0');
    if (!f.read(sh.sh_offset, abi.data(), sh.sh_size))
      return {std::nullopt, "corrupt .parley_abi section"};
    abi.resize(std::strlen(abi.c_str()));  // the array's NUL and any padding
    return {std::move(abi), {}};
  }
  return {std::nullopt,
          "no .parley_abi section (not a Parley module, or built without "
          "PARLEY_MODULE)"};
}

// Module names are folder names: they become file names, so no path characters.
bool valid_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string type_name(std::type_index type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && demangled ? demangled : type.name();
  std::free(demangled);
  return out;
}

struct DlClose {
  void operator()(void* handle) const {
    if (handle) ::dlclose(handle);
  }
};

}  // namespace

struct ModuleHost::Loaded {
  std::string name;
  std::string path;
  // Declaration order is destruction order in reverse: instance, then context (releasing
  // every registration), then the shared object.
  std::unique_ptr<void, DlClose> handle;
  const ModuleDef* def = nullptr;
  std::unique_ptr<ModuleContext> context;
  std::shared_ptr<void> instance;
};

ModuleHost::ModuleHost(Server& server) : server_(server) {}

ModuleHost::~ModuleHost() {
  unload_all();
}

const char* ModuleHost::expected_abi() {
  return PARLEY_MODULE_ABI;
}

std::optional<std::string> ModuleHost::read_abi(const std::string& path) {
  return read_abi_section(path).abi;
}

std::string ModuleHost::modules_dir() const {
  if (!server_.config().modules_dir.empty()) return server_.config().modules_dir;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "lib/parley/modules";
  return (exe.parent_path() / ".." / "lib" / "parley" / "modules").lexically_normal().string();
}

void ModuleHost::load_all(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    std::vector<std::string> stack;
    load(name, stack);
  }
}

void ModuleHost::load(const std::string& name, std::vector<std::string>& stack) {
  if (loaded(name)) return;
  if (auto it = std::find(stack.begin(), stack.end(), name); it != stack.end()) {
    std::string cycle;
    for (; it != stack.end(); ++it) cycle += *it + " -> ";
    throw ConfigError("modules: dependency cycle " + cycle + name);
  }
  if (!valid_name(name))
    throw ConfigError("modules: '" + name + "' is not a module name (letters, digits, _ and -)");

  std::string path = modules_dir() + "/" + name + ".so";
  std::error_code exists_error;
  if (!std::filesystem::exists(path, exists_error))
    throw ConfigError("modules: no module '" + name + "' (looked for " + path + ")");

  // The ABI check runs on the file: a mismatched module's constructors never run.
  AbiRead abi = read_abi_section(path);
  if (!abi.abi)
    throw std::runtime_error("module '" + name + "' (" + path + ") refused: " + abi.error);
  if (*abi.abi != expected_abi())
    throw std::runtime_error("module '" + name + "' (" + path +
                             ") refused: built for another ABI\n  module: " + *abi.abi +
                             "\n  server: " + expected_abi() +
                             "\n  rebuild the module against this server's headers");

  // RTLD_NODELETE keeps the code mapped after dlclose: a callback a module handed out (a timer
  // being cancelled, a queued database job, a pending send_iq) may be destroyed by its owner a
  // moment after the module is gone, and destroying it runs code from this object.
  auto loaded = std::make_unique<Loaded>();
  loaded->name = name;
  loaded->path = path;
  loaded->handle.reset(::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE));
  if (!loaded->handle) {
    const char* err = ::dlerror();
    throw std::runtime_error("module '" + name + "': " + (err ? err : "dlopen failed"));
  }
  using Entry = const ModuleDef* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(loaded->handle.get(), "parley_module_v1"));
  if (!entry)
    throw std::runtime_error("module '" + name + "' (" + path +
                             "): no parley_module_v1 entry point");
  loaded->def = entry();
  if (!loaded->def || !loaded->def->name || !loaded->def->create || !loaded->def->depends)
    throw std::runtime_error("module '" + name + "' (" + path + "): incomplete module definition");
  if (name != loaded->def->name)
    throw std::runtime_error("module '" + name + "' (" + path + ") calls itself '" +
                             loaded->def->name + "'");

  stack.push_back(name);
  for (const auto& dep : loaded->def->depends()) load(dep, stack);
  stack.pop_back();

  loaded->context = std::make_unique<ModuleContext>(server_, *this, name);
  const auto& sections = server_.config().module_config;
  auto section = sections.find(name);
  try {
    loaded->instance = loaded->def->create(
        *loaded->context, section != sections.end() ? section->second : ConfigSection());
  } catch (const ConfigError& e) {
    throw ConfigError("module '" + name + "': " + e.what());
  } catch (const std::exception& e) {
    throw std::runtime_error("module '" + name + "' failed to start: " + e.what());
  }
  PLOG(Info, "modules") << "loaded " << name;
  loaded_.push_back(std::move(loaded));
}

void ModuleHost::unload_all() {
  while (!loaded_.empty()) {
    auto& m = *loaded_.back();
    m.instance.reset();
    m.context.reset();
    PLOG(Debug, "modules") << "unloaded " << m.name;
    loaded_.pop_back();  // dlclose
  }
}

bool ModuleHost::loaded(const std::string& name) const {
  return std::any_of(loaded_.begin(), loaded_.end(),
                     [&](const auto& m) { return m->name == name; });
}

std::vector<std::string> ModuleHost::names() const {
  std::vector<std::string> out;
  for (const auto& m : loaded_) out.push_back(m->name);
  return out;
}

void ModuleHost::provide(std::type_index type, std::shared_ptr<void> service) {
  std::lock_guard lock(services_mutex_);
  if (!services_.emplace(type, std::move(service)).second)
    throw std::runtime_error("service " + type_name(type) + " is already provided");
}

std::shared_ptr<void> ModuleHost::service(std::type_index type) const {
  std::lock_guard lock(services_mutex_);
  auto it = services_.find(type);
  return it == services_.end() ? nullptr : it->second;
}

void ModuleHost::withdraw(std::type_index type) {
  std::lock_guard lock(services_mutex_);
  services_.erase(type);
}

}  // namespace parley
