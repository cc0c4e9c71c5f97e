// A connection's CHILD_SA in the data plane: its two SAs (named CONNECTION-in and -out) turned
// from what IKE agreed into dp::SaParams, and its traffic selectors into protect policies under
// an owner of the connection's own ("ike/CONNECTION"), so no change here touches another
// owner's policies. Make-before-break: inbound first, so the peer's first ESP packet finds its
// SA; outbound when IKE says so; the policies with the first outbound SA. Installing under the
// same name replaces an SA and lets the replaced inbound one linger (dp::SaStore::install_sa).
#pragma once

#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "dataplane/gateway.hpp"
#include "ike/ike_sa.hpp"

namespace rampart::app {

// A configured prefix as a selector's range: the first and last address, all ports and protocols.
ike::TrafficSelector selector_of(const cfg::IpPrefix& prefix);

class ChildSaInstaller {
 public:
  // local and remote: the outer addresses (one family); lifetime: of each SA; local_ts and
  // remote_ts: the configured selectors, which a trap policy protects.
  // spread: the outbound SA is sealed by every worker (SaParams::spread).
  ChildSaInstaller(std::string connection, cfg::IpAddress local, cfg::IpAddress remote, dp::SaLifetime lifetime,
                   ike::TrafficSelector local_ts, ike::TrafficSelector remote_ts, bool spread = false)
      : connection_(std::move(connection)), local_(local), remote_(remote), lifetime_(lifetime),
        local_ts_(std::move(local_ts)), remote_ts_(std::move(remote_ts)), spread_(spread) {}

  // One CHILD_SA event: an inbound or outbound SA up (installed; with the first outbound SA the
  // policies for the agreed selectors), or the CHILD_SA down (removed, trap policy kept when
  // keep_trap). Returns whether it installed an SA.
  bool apply(dp::Gateway& gateway, const ike::ChildEvent& event, bool nat, uint16_t remote_port, bool keep_trap);
  // Removes both SAs and the policies; with keep_trap, the outbound policy stays (its slot
  // empty) so that traffic asks IKE for the SA again.
  void remove(dp::Gateway& gateway, bool keep_trap);
  // The trap policy alone (outbound, the configured selectors, no SA yet): traffic it meets
  // starts IKE. Returns whether it is in place.
  bool install_trap(dp::Gateway& gateway) { return set_policies(gateway, local_ts_, remote_ts_, false, true); }
  // Replaces the connection's policies: protect local -> remote with the -out SA and, with
  // inbound_too, remote -> local with the -in SA. Without inbound_too only a trap keeps an
  // outbound policy; otherwise none stay.
  bool set_policies(dp::Gateway& gateway, const ike::TrafficSelector& local, const ike::TrafficSelector& remote,
                    bool inbound_too, bool trap);
  // Every policy of the connection's owner goes.
  void clear_policies(dp::Gateway& gateway);

  uint32_t inbound_spi() const noexcept { return inbound_spi_; }
  uint32_t outbound_spi() const noexcept { return outbound_spi_; }
  bool policies_installed() const noexcept { return policies_installed_; }
  std::string policy_owner() const { return "ike/" + connection_; }

  // The SaParams for one half of a CHILD_SA, as apply installs them.
  dp::SaParams sa_params(const ike::ChildSa& child, bool outbound, bool nat, uint16_t remote_port) const;

 private:
  std::string connection_;
  cfg::IpAddress local_, remote_;
  dp::SaLifetime lifetime_;
  ike::TrafficSelector local_ts_, remote_ts_;
  bool spread_ = false;
  uint32_t inbound_spi_ = 0, outbound_spi_ = 0;  // what the data plane has installed
  bool policies_installed_ = false;
};

}  // namespace rampart::app
