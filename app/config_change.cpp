#include "app/config_change.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "app/gateway_from_config.hpp"
#include "common/log.hpp"

namespace rampart::app {

namespace {

// One item of a section from a console argument: settings = the inside of its group.
template <typename T>
Result<T> one_item(const std::string& section, const std::string& settings, const std::string& command,
                   std::vector<T> cfg::Config::*list) {
  auto fragment = cfg::load_config_fragment(section + " = ( { " + settings + " } );", command);
  if (!fragment) return fragment.error();
  if (((*fragment).*list).size() != 1) return make_error(Errc::kInvalidArgument, command + ": give one item");
  return ((*fragment).*list)[0];
}

std::string plural(size_t n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

}  // namespace

Result<std::string> apply_config(dp::Gateway& gateway, IkeService* ike, RunningConfig& running, cfg::Config next) {
  auto now = gateway_from_config(running.config);
  auto want = gateway_from_config(next);
  if (!now) return now.error();
  if (!want) return want.error();
  // What only a restart can change is refused by name, with nothing changed.
  const cfg::Config& was = running.config;
  std::vector<std::string> fixed;
  auto fixed_if = [&](bool differs, const char* what) {
    if (differs) fixed.push_back(what);
  };
  fixed_if(now->ports != want->ports, "interfaces");
  fixed_if(was.dataplane.worker_lcores != next.dataplane.worker_lcores, "dataplane.workers");
  fixed_if(now->burst != want->burst, "dataplane.burst");
  fixed_if(now->mbufs != want->mbufs, "dataplane.mbufs");
  fixed_if(now->max_sas != want->max_sas, "dataplane.max_sas");
  fixed_if(was.dataplane.memory_mb != next.dataplane.memory_mb, "dataplane.memory_mb");
  fixed_if(was.dataplane.hugepages != next.dataplane.hugepages, "dataplane.hugepages");
  fixed_if(now->neighbours != want->neighbours, "neighbours");
  fixed_if(was.console_socket != next.console_socket, "console.socket");
  fixed_if(was.metrics_listen != next.metrics_listen, "console.metrics");
  if (!fixed.empty()) {
    std::string names;
    for (const std::string& f : fixed) names += (names.empty() ? "" : ", ") + f;
    return make_error(Errc::kUnsupported, next.source + ": " + names + (fixed.size() == 1 ? " changes" : " change") +
                                              " only with a restart; nothing was changed");
  }
  // The new connections are checked (proposals, credentials) before anything changes.
  std::optional<IkeService> connections;
  if (next.connections != was.connections) {
    if (ike == nullptr) return make_error(Errc::kUnsupported, next.source + ": connections: this gateway runs no IKE");
    auto checked = IkeService::create(next);
    if (!checked) return make_error(checked.code(), checked.message() + "\nnothing was changed");
    connections.emplace(std::move(*checked));
  }
  std::map<std::string, const dp::SaParams*> before;
  for (const dp::SaParams& p : now->sas) before[p.name] = &p;
  std::vector<const dp::SaParams*> install;
  for (auto direction : {dp::SaDirection::kInbound, dp::SaDirection::kOutbound})  // inbound first
    for (const dp::SaParams& p : want->sas) {
      auto it = before.find(p.name);
      if (p.direction == direction && (it == before.end() || !(*it->second == p))) install.push_back(&p);
    }
  std::vector<std::string> remove;
  for (const auto& [name, p] : before)
    if (std::none_of(want->sas.begin(), want->sas.end(), [&](const dp::SaParams& q) { return q.name == name; }))
      remove.push_back(name);

  size_t done = 0;
  auto partly = [&](const Error& e, const std::string& what) {
    return make_error(e.code, what + ": " + e.message + (done ? " (the changes before it were applied)" : ""));
  };
  // Connections first: one that goes takes its CHILD_SAs (NAME-in, NAME-out) with it, and an SA
  // of the file may take such a name over in the same reload.
  std::string ike_summary = "connections unchanged";
  if (connections) {
    IkeReconfigured r = ike->reconfigure(gateway, std::move(*connections));
    ike_summary = "connections: " + std::to_string(r.added) + " added, " + std::to_string(r.removed) + " removed, " +
                  std::to_string(r.restarted) + " restarted, " + std::to_string(r.unchanged) + " unchanged";
    ++done;
  }
  for (const dp::SaParams* p : install) {
    if (auto r = gateway.install_sa(*p); !r) return partly(r.error(), "SA " + p->name);
    ++done;
  }
  bool policies = gateway.policies(dp::kConfigPolicies) != want->policies;
  if (policies) {
    if (auto r = gateway.set_policies(dp::kConfigPolicies, want->policies); !r) return partly(r.error(), "policies");
    ++done;
  }
  bool routes = now->routes != want->routes;
  if (routes) {
    if (auto r = gateway.set_routes(want->routes); !r) return partly(r.error(), "routes");
    ++done;
  }
  for (const std::string& name : remove)
    if (auto r = gateway.remove_sa(name); !r) return partly(r.error(), "SA " + name);
  set_log_level(next.log_level);
  running.config = std::move(next);
  std::string summary = plural(install.size(), "SA") + " installed, " + plural(remove.size(), "SA") + " removed, " +
                        (policies ? "policies replaced" : "policies unchanged") + ", " +
                        (routes ? "routes replaced" : "routes unchanged") + ", " + ike_summary + "\n";
  LOG_INFO("config", "applied %s: %s", running.config.source.c_str(), summary.c_str());
  return summary;
}

Result<std::string> add_sa(dp::Gateway& gateway, RunningConfig& running, const std::string& settings) {
  auto sa = one_item("sas", settings, "sa add", &cfg::Config::sas);
  if (!sa) return sa.error();
  cfg::Config next = running.config;
  auto same = std::find_if(next.sas.begin(), next.sas.end(), [&](const cfg::SaConfig& s) { return s.name == sa->name; });
  if (same != next.sas.end())
    *same = *sa;  // a rekey by hand
  else
    next.sas.push_back(*sa);
  if (auto r = cfg::check_config(next, "sa add"); !r) return r.error();
  return apply_config(gateway, nullptr, running, std::move(next));
}

Result<std::string> delete_sa(dp::Gateway& gateway, RunningConfig& running, const std::string& name) {
  cfg::Config next = running.config;
  auto gone = std::remove_if(next.sas.begin(), next.sas.end(), [&](const cfg::SaConfig& s) { return s.name == name; });
  if (gone == next.sas.end()) return make_error(Errc::kNotFound, "no SA named \"" + name + "\"");
  next.sas.erase(gone, next.sas.end());
  if (auto r = cfg::check_config(next, running.config.source); !r)
    return make_error(r.code(), r.message() + "\n(delete or change the policies that name it first)");
  return apply_config(gateway, nullptr, running, std::move(next));
}

Result<std::string> add_policy(dp::Gateway& gateway, RunningConfig& running, const std::string& settings) {
  auto policy = one_item("policies", settings, "policy add", &cfg::Config::policies);
  if (!policy) return policy.error();
  if (policy->name.empty()) return make_error(Errc::kInvalidArgument, "policy add: give the policy a name");
  cfg::Config next = running.config;
  if (std::any_of(next.policies.begin(), next.policies.end(), [&](const auto& p) { return p.name == policy->name; }))
    return make_error(Errc::kExists, "policy add: a policy named \"" + policy->name + "\" exists");
  next.policies.push_back(*policy);
  if (auto r = cfg::check_config(next, "policy add"); !r) return r.error();
  return apply_config(gateway, nullptr, running, std::move(next));
}

Result<std::string> delete_policy(dp::Gateway& gateway, RunningConfig& running, const std::string& name) {
  cfg::Config next = running.config;
  auto gone = std::remove_if(next.policies.begin(), next.policies.end(), [&](const auto& p) { return p.name == name; });
  if (gone == next.policies.end()) return make_error(Errc::kNotFound, "no policy named \"" + name + "\"");
  next.policies.erase(gone, next.policies.end());
  return apply_config(gateway, nullptr, running, std::move(next));
}

Result<std::string> add_route(dp::Gateway& gateway, RunningConfig& running, const std::string& settings) {
  auto route = one_item("routes", settings, "route add", &cfg::Config::routes);
  if (!route) return route.error();
  cfg::Config next = running.config;
  auto same = std::find_if(next.routes.begin(), next.routes.end(),
                           [&](const cfg::RouteConfig& r) { return r.destination == route->destination; });
  if (same != next.routes.end())
    *same = *route;
  else
    next.routes.push_back(*route);
  if (auto r = cfg::check_config(next, "route add"); !r) return r.error();
  return apply_config(gateway, nullptr, running, std::move(next));
}

Result<std::string> delete_route(dp::Gateway& gateway, RunningConfig& running, const std::string& destination) {
  auto prefix = cfg::parse_ip_prefix(destination);
  if (!prefix) return make_error(Errc::kInvalidArgument, "\"" + destination + "\" is not a prefix like 203.0.113.0/24");
  cfg::Config next = running.config;
  auto gone = std::remove_if(next.routes.begin(), next.routes.end(),
                             [&](const cfg::RouteConfig& r) { return r.destination == *prefix; });
  if (gone == next.routes.end()) return make_error(Errc::kNotFound, "no route to " + destination);
  next.routes.erase(gone, next.routes.end());
  return apply_config(gateway, nullptr, running, std::move(next));
}

Result<std::string> reload_config(dp::Gateway& gateway, IkeService* ike, RunningConfig& running, const std::string& path) {
  std::string file = path.empty() ? running.path : path;
  auto next = cfg::load_config_file(file);
  if (!next) return make_error(next.code(), next.message() + "\nnothing was changed");
  auto applied = apply_config(gateway, ike, running, std::move(*next));
  if (applied) running.path = file;
  return applied;
}

}  // namespace rampart::app
