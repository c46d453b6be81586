// The module API (DESIGN §5). A module is a shared object under lib/parley/modules/, loaded by
// name from the configuration. Everything it registers goes through its ModuleContext, which
// removes it all on unload. The smallest module:
//
//   #include "core/module.h"
//   struct Ping {
//     explicit Ping(parley::ModuleContext& ctx) {
//       ctx.iq("urn:xmpp:ping", "ping", parley::IqType::Get, parley::IqScope::Host,
//              [](const parley::IqRequest& iq) { iq.reply(); });
//     }
//   };
//   PARLEY_MODULE(Ping)
//
// A module with options declares `struct Config { static Config parse(const ConfigSection&); }`
// and a constructor (ModuleContext&, const Config&). Dependencies: a static
// `std::vector<std::string> depends()`. Services: ctx.provide<T>() / ctx.service<T>().
#pragma once

#include <boost/version.hpp>

#include <any>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <typeindex>
#include <vector>

#include "core/config.h"
#include "core/events.h"
#include "core/features.h"
#include "core/log.h"
#include "core/registration.h"
#include "core/server.h"
#include "router/iq.h"

namespace parley {

class ModuleHost;

class ModuleContext {
 public:
  ModuleContext(Server& server, ModuleHost& host, std::string name);
  ~ModuleContext();  // releases every registration, in reverse order
  ModuleContext(const ModuleContext&) = delete;
  ModuleContext& operator=(const ModuleContext&) = delete;

  Server& server() { return server_; }
  const std::string& name() const { return name_; }

  template <class E>
  void on(int priority, std::function<Flow(E&)> handler) {
    hooks_.push_back(server_.hooks().on<E>(priority, std::move(handler), name_));
  }
  // An IQ handler; its namespace becomes a disco feature of the scope unless advertise=false.
  void iq(std::string xmlns, std::string name, IqType type, IqScope scope, IqHandler handler,
          bool advertise = true);
  void feature(std::string var, FeatureScope scope = FeatureScope::Host);
  void identity(Identity identity, FeatureScope scope = FeatureScope::Host);
  void extension(xml::Element form, FeatureScope scope = FeatureScope::Host);  // XEP-0128
  void disco_item(DiscoItem item);  // listed in the host's disco#items (XEP-0030 §4)
  void stream_feature(StreamStage stage, xml::Element feature);
  void every(std::chrono::milliseconds period, std::function<void()> fn);
  // Hosts a service on a domain of its own (router/components.h): every stanza to `domain` or
  // to a JID at it goes to `handler`. The domain must not be a user host.
  void component(std::string domain, std::function<void(StanzaToComponent&)> handler);
  void keep(Registration registration);  // any other registration to release on unload

  // Services between modules: one module provides, another (that depends on it) uses.
  template <class T>
  void provide(std::shared_ptr<T> service) {
    provide_erased(typeid(T), std::move(service));
  }
  template <class T>
  std::shared_ptr<T> service() const {
    return std::static_pointer_cast<T>(service_erased(typeid(T)));
  }

 private:
  void provide_erased(std::type_index type, std::shared_ptr<void> service);
  std::shared_ptr<void> service_erased(std::type_index type) const;

  Server& server_;
  ModuleHost& host_;
  std::string name_;
  std::vector<HookToken> hooks_;
  std::vector<Registration> registrations_;
};

// What a module shared object exports (parley_module_v1).
struct ModuleDef {
  const char* name;
  std::vector<std::string> (*depends)();
  // Validates the config (throws ConfigError) and creates the instance. The returned object is
  // destroyed before the context, on unload.
  std::shared_ptr<void> (*create)(ModuleContext& ctx, const ConfigSection& config);
};

namespace detail {
template <class T, class = void>
struct has_config : std::false_type {};
template <class T>
struct has_config<T, std::void_t<typename T::Config>> : std::true_type {};
template <class T, class = void>
struct has_depends : std::false_type {};
template <class T>
struct has_depends<T, std::void_t<decltype(T::depends())>> : std::true_type {};

template <class T>
std::shared_ptr<void> create(ModuleContext& ctx, const ConfigSection& section) {
  if constexpr (has_config<T>::value) {
    auto config = T::Config::parse(section);
    section.finish();
    return std::make_shared<T>(ctx, config);
  } else {
    section.finish();
    return std::make_shared<T>(ctx);
  }
}
template <class T>
std::vector<std::string> depends() {
  if constexpr (has_depends<T>::value)
    return T::depends();
  else
    return {};
}
}  // namespace detail

#define PARLEY_STRINGIFY2(x) #x
#define PARLEY_STRINGIFY(x) PARLEY_STRINGIFY2(x)
// Everything that must match between parleyd and a module for the C++ ABI to be compatible.
#define PARLEY_MODULE_ABI                                                     \
  "parley-module-abi=1;compiler=" __VERSION__ ";libstdc++=" PARLEY_STRINGIFY( \
      _GLIBCXX_RELEASE) ";boost=" PARLEY_STRINGIFY(BOOST_VERSION) ";build=" PARLEY_BUILD_TYPE

// The ABI string is placed in its own ELF section so the loader can read it from the file
// before dlopen runs any of the module's code.
#define PARLEY_MODULE(Class)                                                                    \
  extern "C" __attribute__((visibility("default"), used, section(".parley_abi")))               \
  const char parley_module_abi[] = PARLEY_MODULE_ABI;                                           \
  extern "C" __attribute__((visibility("default"))) const ::parley::ModuleDef*                  \
  parley_module_v1() {                                                                          \
    static const ::parley::ModuleDef def{PARLEY_MODULE_NAME, &::parley::detail::depends<Class>, \
                                         &::parley::detail::create<Class>};                     \
    return &def;                                                                                \
  }

}  // namespace parley
