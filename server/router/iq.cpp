#include "router/iq.h"

#include <algorithm>
#include <exception>

#include "core/log.h"
#include "core/server.h"
#include "router/router.h"

namespace parley {

namespace {
const xml::Element kNoPayload;
}

IqRequest::IqRequest(Server& server, std::shared_ptr<const xml::Element> stanza, Jid from, Jid to,
                     SessionPtr origin)
    : server_(&server),
      stanza_(std::move(stanza)),
      payload_(stanza_->first_child()),
      type_(stanza_->get("type") == "set" ? IqType::Set : IqType::Get),
      from_(std::move(from)),
      to_(std::move(to)),
      origin_(std::move(origin)),
      answered_(std::make_shared<std::atomic<bool>>(false)) {
  // The router checks RFC 6120 §8.2.3 (exactly one child) first; this only guards misuse.
  if (!payload_) payload_ = &kNoPayload;
}

bool IqRequest::claim() const {
  return !answered_->exchange(true);
}

void IqRequest::send(xml::Element response) const {
  // Answered by the entity the request was addressed to (RFC 6120 §8.2.3), which is also the
  // right 'from' when the client left 'to' out (§10.3.3: its own account).
  response.set("from", to_.str());
  response.set("to", from_.str());
  server_->router().route(std::move(response));
}

void IqRequest::reply() const {
  if (claim()) send(stanza::iq_result(*stanza_));
}

void IqRequest::reply(xml::Element payload) const {
  if (claim()) send(stanza::iq_result(*stanza_, std::move(payload)));
}

void IqRequest::error(std::string_view condition, std::string_view text) const {
  error(stanza::default_type(condition), condition, text);
}

void IqRequest::error(stanza::ErrorType type, std::string_view condition,
                      std::string_view text) const {
  if (claim()) send(stanza::error_reply(*stanza_, type, condition, text));
}

void IqRequest::error(stanza::ErrorType type, std::string_view condition,
                      xml::Element app_condition, std::string_view text) const {
  if (!claim()) return;
  auto reply = stanza::error_reply(*stanza_, type, condition, text);
  if (auto* e = reply.child("error")) e->add(std::move(app_condition));
  send(std::move(reply));
}

Registration IqRouter::add(std::string xmlns, std::string name, IqType type, IqScope scope,
                           IqHandler handler, std::string owner) {
  std::lock_guard lock(mutex_);
  uint64_t id = next_id_++;
  entries_.push_back(Entry{id, std::move(xmlns), std::move(name), type, scope, std::move(handler),
                           std::move(owner)});
  return Registration([this, id] {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [id](const Entry& e) { return e.id == id; });
  });
}

bool IqRouter::dispatch(const IqRequest& request, IqScope scope) const {
  const auto& payload = request.payload();
  IqHandler handler;
  std::string owner;
  {
    std::lock_guard lock(mutex_);
    auto matches = [&](const Entry& e, IqScope s) {
      return e.scope == s && e.type == request.type() && e.xmlns == payload.xmlns() &&
             (e.name.empty() || e.name == payload.name());
    };
    // A Self lookup (the sender's own account) prefers Self handlers and falls back to Account
    // ones: an Account handler serves every account, the sender's own included. An Account
    // lookup never reaches a Self handler: those serve only the account's own resources.
    const Entry* found = nullptr;
    for (const auto& e : entries_)
      if (matches(e, scope)) {
        found = &e;
        break;
      }
    if (!found && scope == IqScope::Self)
      for (const auto& e : entries_)
        if (matches(e, IqScope::Account)) {
          found = &e;
          break;
        }
    if (!found) return false;
    handler = found->handler;
    owner = found->owner;
  }
  try {
    handler(request);
  } catch (const std::exception& e) {
    PLOG(Error, "iq") << owner << " failed on " << payload.xmlns() << " from "
                      << request.from().str() << ": " << e.what();
    request.error("internal-server-error");
  } catch (...) {
    PLOG(Error, "iq") << owner << " failed on " << payload.xmlns() << " from "
                      << request.from().str();
    request.error("internal-server-error");
  }
  return true;
}

std::vector<std::string> IqRouter::namespaces(IqScope scope) const {
  std::vector<std::string> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& e : entries_) {
      bool account_like = e.scope == IqScope::Account || e.scope == IqScope::Self;
      if (scope == IqScope::Host ? e.scope == IqScope::Host : account_like) out.push_back(e.xmlns);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace parley
