// Local delivery: how the control core's own services (IKE today; RADIUS, an L2TP exception path
// later) send and receive through the gateway's ports. A service registers the UDP ports it
// listens on, as VPP's udp_register_dst_port does; workers hand the datagrams addressed to the
// gateway on those ports to the control core; take() gives them out, and send() sends a
// service's datagram (routed and resolved like any packet the control core makes). The data
// plane knows these ports only as numbers.
//
// One port is shared with the data plane itself: ESP in UDP arrives on 4500 (RFC 3948). There
// a service's datagrams follow a four-byte non-ESP marker (2.2), which delivery strips and
// send() adds, except before a NAT keepalive (the one byte 0xFF, 2.3).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "dataplane/control_output.hpp"
#include "dataplane/sa_params.hpp"

struct rte_mempool;
struct rte_mbuf;

namespace rampart::dp {

class NeighbourService;
class UpdateChannel;

inline constexpr uint16_t kEspInUdpPort = 4500;

// A datagram to or from a local service: the payload without the UDP header, nor the non-ESP
// marker on kEspInUdpPort.
struct LocalDatagram {
  IpFamily family = IpFamily::kIpv4;
  std::array<uint8_t, 16> source{}, destination{};  // network order; IPv4 in the first 4 bytes
  uint16_t source_port = 0, destination_port = 0;
  std::vector<std::byte> payload;
};

// The registered UDP ports, as workers read them: immutable, replaced whole when a service
// registers (a new set goes to the workers over their update rings, the old one is freed after
// the grace period). A handful at most, so a scan beats a hash.
class LocalPorts {
 public:
  static constexpr size_t kMax = 8;
  bool delivers(uint16_t port) const noexcept {
    for (size_t i = 0; i < count_; ++i)
      if (ports_[i] == port) return true;
    return false;
  }
  size_t size() const noexcept { return count_; }
  uint16_t operator[](size_t i) const noexcept { return ports_[i]; }
  // False if there is no room for another port.
  bool add(uint16_t port) noexcept {
    if (delivers(port)) return true;
    if (count_ == kMax) return false;
    ports_[count_++] = port;
    return true;
  }

 private:
  std::array<uint16_t, kMax> ports_{};
  size_t count_ = 0;
};

class LocalDelivery {
 public:
  // How many datagrams wait for take() at most; more are drop_control_busy.
  static constexpr size_t kMaxInbox = 256;

  LocalDelivery(UpdateChannel& updates, NeighbourService& neighbours, rte_mempool* pool, ControlOutput out,
                uint64_t (*clock)() noexcept);
  ~LocalDelivery();
  LocalDelivery(const LocalDelivery&) = delete;
  LocalDelivery& operator=(const LocalDelivery&) = delete;

  // Control core: datagrams to port on any of the gateway's addresses go to take() from the
  // workers' next pass on. Registering a port again is harmless.
  Result<void> listen_udp(uint16_t port);
  // What workers read (the current set; replaced, never changed, by listen_udp).
  const LocalPorts* ports() const noexcept { return ports_; }

  // A UDP datagram to a registered port (at its Ethernet header) a worker handed over.
  void receive(rte_mbuf* m);
  // The datagrams that came for ports (one service's), in the order they came; other services'
  // stay for them.
  std::vector<LocalDatagram> take(std::span<const uint16_t> ports);
  void send(const LocalDatagram& datagram);

 private:
  UpdateChannel& updates_;
  NeighbourService& neighbours_;
  rte_mempool* pool_;
  ControlOutput out_;
  uint64_t (*clock_)() noexcept;
  const LocalPorts* ports_;
  std::vector<LocalDatagram> inbox_;
};

}  // namespace rampart::dp
