// ModuleContext: everything a module registers goes through here and is released, newest
// first, when the module unloads (DESIGN §5).
#include "core/module.h"

#include "core/module_host.h"

namespace parley {

ModuleContext::ModuleContext(Server& server, ModuleHost& host, std::string name)
    : server_(server), host_(host), name_(std::move(name)) {}

ModuleContext::~ModuleContext() {
  // Event handlers first, so no new event reaches the module while the rest is taken down;
  // then every other registration, newest first (a later one may depend on an earlier one).
  while (!hooks_.empty()) hooks_.pop_back();
  while (!registrations_.empty()) registrations_.pop_back();
}

namespace {
// Self handlers serve the sender's own account, so they are account features (XEP-0030 §3.1:
// an account's disco#info lists what its server answers on its behalf).
FeatureScope feature_scope(IqScope scope) {
  return scope == IqScope::Host ? FeatureScope::Host : FeatureScope::Account;
}
}  // namespace

void ModuleContext::iq(std::string xmlns, std::string name, IqType type, IqScope scope,
                       IqHandler handler, bool advertise) {
  if (advertise) feature(xmlns, feature_scope(scope));
  registrations_.push_back(
      server_.iq().add(std::move(xmlns), std::move(name), type, scope, std::move(handler), name_));
}

void ModuleContext::feature(std::string var, FeatureScope scope) {
  registrations_.push_back(server_.features().add(scope, std::move(var)));
}

void ModuleContext::identity(Identity identity, FeatureScope scope) {
  registrations_.push_back(server_.features().add_identity(scope, std::move(identity)));
}

void ModuleContext::extension(xml::Element form, FeatureScope scope) {
  registrations_.push_back(server_.features().add_extension(scope, std::move(form)));
}

void ModuleContext::disco_item(DiscoItem item) {
  registrations_.push_back(server_.features().add_disco_item(std::move(item)));
}

void ModuleContext::stream_feature(StreamStage stage, xml::Element feature) {
  registrations_.push_back(server_.features().add_stream_feature(stage, std::move(feature)));
}

void ModuleContext::every(std::chrono::milliseconds period, std::function<void()> fn) {
  registrations_.push_back(server_.every(period, std::move(fn)));
}

void ModuleContext::component(std::string domain, std::function<void(StanzaToComponent&)> handler) {
  if (server_.is_local(domain))
    throw ConfigError(name_ + ": " + domain + " is a user host, not a free domain for a service");
  registrations_.push_back(server_.components().add(std::move(domain), std::move(handler)));
}

void ModuleContext::keep(Registration registration) {
  registrations_.push_back(std::move(registration));
}

void ModuleContext::provide_erased(std::type_index type, std::shared_ptr<void> service) {
  host_.provide(type, std::move(service));
  // Withdrawn with the module's other registrations: a dependent module is unloaded first
  // (reverse load order), so nobody asks for it afterwards.
  registrations_.emplace_back([host = &host_, type] { host->withdraw(type); });
}

std::shared_ptr<void> ModuleContext::service_erased(std::type_index type) const {
  return host_.service(type);
}

}  // namespace parley
