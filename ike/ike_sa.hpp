// One IKE SA and its first CHILD_SA, from either side: IKE_SA_INIT (RFC 7296 1.2: SA, KE, nonces;
// the keys of 2.14) and IKE_AUTH with pre-shared keys (2.15: AUTH over the first message, the
// peer's nonce and the MAC of the identity) carrying the first CHILD_SA's proposal and traffic
// selectors (2.9 narrowing), whose keys come from 2.17. Everything after IKE_SA_INIT travels in
// the SK payload. Messages go in and out as datagrams; the caller moves them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "ike/key_exchange.hpp"
#include "ike/message.hpp"
#include "ike/prf.hpp"
#include "ike/proposal.hpp"

namespace rampart::ike {

struct PeerConfig {
  std::string local_id, remote_id;  // FQDN identities (ID type 2)
  Bytes psk;
  std::vector<Suite> ike_suites;    // the initiator's KE uses the first one's group
  std::vector<Suite> esp_suites;
  TrafficSelector local_ts, remote_ts;  // what this side protects, and what it talks to
};

// The negotiated CHILD_SA as one side sees it: what it receives on (inbound) and sends with.
struct ChildSa {
  Suite suite;
  uint32_t inbound_spi = 0, outbound_spi = 0;
  Bytes inbound_key, outbound_key;  // encryption key followed by the 4-byte salt (AES-GCM)
  TrafficSelector local_ts, remote_ts;
};

enum class IkeState { kIdle, kInitSent, kAuthSent, kEstablished, kFailed };

class IkeSa {
 public:
  static IkeSa initiator(PeerConfig config);
  static IkeSa responder(PeerConfig config);

  // Initiator: the IKE_SA_INIT request.
  Result<Bytes> start();
  // A datagram for this SA. Returns what to send back (a response, or the initiator's next
  // request), nothing when the exchange is over, or an error (the SA has failed or the datagram
  // was dropped: failure() says which).
  Result<std::optional<Bytes>> receive(ByteView datagram);

  IkeState state() const noexcept { return state_; }
  const std::optional<ChildSa>& child() const noexcept { return child_; }
  uint64_t initiator_spi() const noexcept { return spi_i_; }
  uint64_t responder_spi() const noexcept { return spi_r_; }
  const Suite& suite() const noexcept { return suite_; }

 private:
  IkeSa(PeerConfig config, bool initiator);
  Result<std::optional<Bytes>> respond_init(const Message& request, ByteView datagram);
  Result<std::optional<Bytes>> initiator_auth(const Message& response, ByteView datagram);
  Result<std::optional<Bytes>> respond_auth(ByteView datagram);
  Result<std::optional<Bytes>> finish_auth(ByteView datagram);
  Result<void> derive_keys(ByteView shared_secret);
  Bytes auth_value(bool of_initiator, const IdPayload& id) const;
  Result<std::pair<Bytes, Bytes>> child_keys(const Suite& esp) const;
  Result<Bytes> seal(ExchangeType exchange, uint32_t message_id, bool response, const std::vector<Payload>& inner);
  Error fail(const std::string& why);

  PeerConfig config_;
  bool initiator_;
  IkeState state_ = IkeState::kIdle;
  uint64_t spi_i_ = 0, spi_r_ = 0;
  Suite suite_;
  std::optional<KeyExchange> dh_;
  Bytes ni_, nr_;
  Bytes init_request_, init_response_;  // as sent, for AUTH (2.15)
  IkeKeys keys_;
  uint32_t child_spi_ = 0;  // our inbound ESP SPI
  std::optional<ChildSa> child_;
};

}  // namespace rampart::ike
