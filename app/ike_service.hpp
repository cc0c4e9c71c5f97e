// IKE on the control core: the configured connections (rampart.conf "connections"), their IKE
// SAs, and the CHILD_SAs they agree on installed into the data plane (inbound SA first, then
// outbound, then the policies for the agreed selectors). Datagrams come from and go to the
// gateway's ports on UDP 500. PSK, IPv4, one CHILD_SA per connection so far; an initiator whose
// IKE SA failed tries again after 5 s.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"
#include "dataplane/gateway.hpp"
#include "ike/ike_sa.hpp"

namespace rampart::app {

struct IkeConnectionStatus {
  std::string name;
  std::string state;  // "idle", "connecting", "established", "failed"
  uint64_t initiator_spi, responder_spi;
  uint32_t inbound_spi, outbound_spi;
  std::string suite;
};

class IkeService {
 public:
  // Checks every connection's proposals; errors name the file, line and setting.
  static Result<IkeService> create(const cfg::Config& config);
  // One pass on the control core: datagrams in, initiations and retries, replies out, CHILD_SAs in.
  void poll(dp::Gateway& gateway);
  std::vector<IkeConnectionStatus> status() const;

 private:
  struct Connection {
    std::string name;
    uint32_t local = 0, remote = 0;  // host order
    bool initiate = false;
    ike::PeerConfig peer;
    std::optional<ike::IkeSa> sa;
    bool installed = false;
    uint64_t retry_at = 0;  // TSC
  };
  void handle(dp::Gateway& gateway, Connection& c, const dp::IkeDatagram& d);
  void install(dp::Gateway& gateway, Connection& c);
  std::vector<Connection> connections_;
};

}  // namespace rampart::app
