// IKE on the control core: the configured connections (rampart.conf "connections") and their IKE
// SAs; each connection's ChildSaInstaller puts the CHILD_SAs they agree on into the data plane.
// Datagrams come from and go to the gateway's own ports through its local delivery (IKE listens
// on UDP 500, and 4500 after NAT detection), over IPv4 or IPv6. One CHILD_SA (IPv4 or IPv6
// selectors) per connection, its policies under an owner of their own in the data plane;
// an initiating connection starts again 5 s after its IKE SA failed or was deleted; a trap
// connection starts when traffic meets its outbound policy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/child_sa_installer.hpp"
#include "common/result.hpp"
#include "config/config.hpp"
#include "dataplane/gateway.hpp"
#include "ike/cookie_guard.hpp"
#include "ike/ike_sa.hpp"

namespace rampart::app {

struct IkeConnectionStatus {
  std::string name;
  std::string state;  // "idle", "connecting", "established", "closed", "failed"
  std::string why;    // for "failed" and "closed"
  bool initiator;     // of the current IKE SA
  uint64_t initiator_spi, responder_spi;
  uint32_t inbound_spi, outbound_spi;
  std::string suite;
  std::string remote;  // address:port IKE talks to
  bool nat;            // ESP in UDP
  ike::IkeCounters counters;
  ike::IkeKeys keys;  // for "show ike --show-keys" only
};

struct IkeTotals {
  uint64_t unknown_peer = 0;   // datagrams from an address no connection names
  uint64_t unknown_spi = 0;    // for no IKE SA of the connection
  uint64_t cookies_sent = 0;
  uint64_t bad_init = 0;       // IKE_SA_INIT requests malformed or refused (no state kept)
};

// What a reload did to the connections.
struct IkeReconfigured {
  size_t added = 0, removed = 0, restarted = 0, unchanged = 0;
};

class IkeService {
 public:
  // Checks every connection's proposals; errors name the file, line and setting.
  static Result<IkeService> create(const cfg::Config& config);
  // Has the gateway hand IKE's ports (500, and 4500 after the non-ESP marker) to this service:
  // once, before the first poll.
  static Result<void> listen(dp::Gateway& gateway);
  // One pass on the control core: datagrams in, timers, initiations, replies out, CHILD_SAs in.
  void poll(dp::Gateway& gateway);
  std::vector<IkeConnectionStatus> status() const;
  const IkeTotals& totals() const noexcept { return totals_; }
  // IKE datagrams waiting for the workers to take the SAs they announce (make-before-break).
  size_t held_datagrams() const noexcept { return held_.size(); }

  // Operator commands (rampartctl ike ...). Errors name what is wrong.
  Result<void> initiate(const std::string& connection);
  Result<void> terminate(const std::string& connection);
  Result<void> rekey(const std::string& connection, bool ike_sa);

  // Runs the connections of `next` (made by create from the new config) instead, as swanctl
  // --load-conns does: a connection whose settings did not change is not touched (its IKE SA and
  // CHILD_SA go on); a removed one is ended (Delete sent, SAs and policies removed); a changed one
  // is ended and starts again as the new settings say; a new one starts per its start action.
  IkeReconfigured reconfigure(dp::Gateway& gateway, IkeService next);
  // Shutting down, as strongSwan does: every IKE SA is deleted (the peers hear it), every
  // connection ended. Returns how many Deletes went out; closing() says some still wait for
  // their answer (keep polling a short while for them).
  size_t close_all(dp::Gateway& gateway);
  bool closing() const noexcept { return !closing_.empty(); }

 private:
  struct Connection {
    cfg::ConnectionConfig config;  // as loaded: a reload compares it
    std::string name;
    cfg::IpAddress local, remote;  // IKE's and the CHILD_SA's outer addresses (one family)
    bool initiate = false;  // start at once, and again whenever the IKE SA dies
    bool trap = false;      // start when traffic meets the connection's outbound policy
    bool trap_installed = false;
    ike::PeerConfig peer;
    std::optional<ChildSaInstaller> child;  // always there once created; its CHILD_SA in the data plane
    std::optional<ike::IkeSa> sa;         // the current IKE SA
    std::optional<ike::IkeSa> half_open;  // a peer's new IKE SA, until IKE_AUTH completes
    uint64_t half_open_since = 0;          // ms
    bool stopped = false;  // terminated by the operator: no automatic restart
    uint64_t retry_at = 0;  // ms
  };
  IkeService() = default;
  Connection* find(const std::string& name);
  static bool same_settings(const cfg::ConnectionConfig& a, const cfg::ConnectionConfig& b);
  void end(dp::Gateway& gateway, Connection&& c);
  void send_outbox(dp::Gateway& gateway, const Connection& c, ike::IkeSa& sa);
  bool to_closing(dp::Gateway& gateway, const dp::LocalDatagram& d);
  void tick_closing(dp::Gateway& gateway);
  void handle(dp::Gateway& gateway, Connection& c, const dp::LocalDatagram& d, uint64_t now);
  void drain(dp::Gateway& gateway, Connection& c, ike::IkeSa& sa);
  void release_held(dp::Gateway& gateway);
  void start(dp::Gateway& gateway, Connection& c, const char* why);
  size_t half_open() const;

  std::vector<Connection> connections_;
  std::vector<Connection> closing_;  // ended by a reload: their IKE SA's Delete still in flight
  std::vector<dp::LocalDatagram> held_;  // IKE's sends that wait for the workers to take new SAs
  uint64_t held_since_ = 0;            // ms
  ike::CookieGuard cookies_;
  IkeTotals totals_;
  struct {
    uint64_t unknown_peer = 0, bad_init = 0, cp_unanswered = 0;
  } quiet_until_;  // ms: rate limits of the log lines a peer can cause
  uint64_t now_ms_ = 0;
};

}  // namespace rampart::app
