// One IKE SA (RFC 7296) from either side, through its whole life: IKE_SA_INIT (with NAT
// detection, cookies and INVALID_KE_PAYLOAD), IKE_AUTH with a pre-shared key or certificates and
// the first CHILD_SA, then CREATE_CHILD_SA (CHILD_SA rekeys with or without PFS, IKE SA rekeys) and
// INFORMATIONAL (deletes, liveness checks). Each exchange lives in its own file
// (exchange_*.cpp); this one keeps what they share: message IDs and the one-request window of
// each direction (2.3), retransmissions with backoff (2.1, initiator of a request only), the
// cached response for a retransmitted request, the timers (rekeys, DPD), and the events that tell
// the caller which CHILD_SA to install or remove, and NAT keepalives.
//
// The caller moves datagrams and time: receive() and tick() queue what must be sent in the
// outbox (take_outbox), and what happened to CHILD_SAs in the events (take_events). Time is in
// milliseconds on any monotonic clock. Nothing here blocks or touches the network.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "ike/credentials.hpp"
#include "ike/key_exchange.hpp"
#include "ike/message.hpp"
#include "ike/prf.hpp"
#include "ike/proposal.hpp"
#include "ike/sk_crypto.hpp"

namespace rampart::ike {

struct PeerConfig {
  // Identities: an IPv4 address is sent as ID_IPV4_ADDR, "user@host" as ID_RFC822_ADDR, anything
  // else as ID_FQDN.
  std::string local_id, remote_id;
  Bytes psk;
  // Certificates instead of the PSK (RFC 7427 signatures), when set.
  std::shared_ptr<const Credentials> credentials;
  std::vector<Suite> ike_suites;  // the initiator's KE uses the first one's group
  std::vector<Suite> esp_suites;  // a group here means PFS on CHILD_SA rekeys
  TrafficSelector local_ts, remote_ts;  // what this side protects, and what it talks to
  // Claim to be behind a NAT, so that ESP goes in UDP even when no NAT is found (RFC 3948).
  bool force_encapsulation = false;
  // 0: never. Rekey times get up to 10% taken off at random, so two peers do not collide.
  uint64_t ike_rekey_ms = 0, child_rekey_ms = 0;
  uint64_t dpd_ms = 0;  // an INFORMATIONAL liveness check after this long without a message
  // Behind a NAT, a keepalive (RFC 3948 2.3: one 0xFF byte on 4500) after this long without
  // sending, so the NAT keeps the mapping. 0: none.
  uint64_t keepalive_ms = 20000;
  uint64_t retransmit_timeout_ms = 500;  // doubled after each try
  unsigned retransmit_tries = 5;         // then the peer is declared dead
  // A responder may answer IKE_SA_INIT with a key pair it used for other IKE SAs in the last
  // dh_reuse_ms (RFC 7296 2.12; KeyExchange::reused). 0: a fresh one each time.
  uint64_t dh_reuse_ms = 0;
  // Without a CHILD_SA (deleted by the peer, lost in a rekey race, refused at IKE_AUTH): make one
  // again (a connection that keeps its tunnel up), and delete the IKE SA after childless_ms
  // rather than keep it as a husk (0: keep it).
  bool keep_child = false;
  uint64_t childless_ms = 30000;
  // As a remote-access client does: ask for an inside address in IKE_AUTH (CP(CFG_REQUEST) with
  // an empty INTERNAL_IP4_ADDRESS or INTERNAL_IP6_ADDRESS, by local_ts's family; 3.15.1).
  bool request_address = false;
};

// IKE's UDP ports (RFC 7296 2.23): 500, and 4500 once NAT traversal moves it there (where IKE
// shares the port with ESP in UDP and follows the non-ESP marker, RFC 3948 2.2).
inline constexpr uint16_t kIkePort = 500;
inline constexpr uint16_t kIkeNatTPort = 4500;
inline constexpr uint16_t kIkePorts[] = {kIkePort, kIkeNatTPort};

// Where the IKE SA's datagrams go: addresses in network order (4 or 16 bytes).
struct Path {
  Bytes local, remote;
  uint16_t local_port = kIkePort, remote_port = kIkePort;
};

// A CHILD_SA as one side sees it: what it receives on (inbound) and sends with.
struct ChildSa {
  Suite suite;
  uint32_t inbound_spi = 0, outbound_spi = 0;
  Bytes inbound_key, outbound_key;  // encryption key followed by the 4-byte salt (AES-GCM)
  TrafficSelector local_ts, remote_ts;
};

// What the caller must do to the data plane. A rekey's new CHILD_SA comes up inbound first
// (kInboundUp) and outbound when the old one may stop (kOutboundUp); the old one then lingers
// for packets in flight. kDown: the CHILD_SA is gone (deleted, not replaced).
enum class ChildEventKind { kInboundUp, kOutboundUp, kDown };
struct ChildEvent {
  ChildEventKind kind;
  ChildSa child;
};

enum class IkeState { kIdle, kInitSent, kAuthSent, kEstablished, kClosed, kFailed };

// Counted per IKE SA; the caller sums them.
struct IkeCounters {
  uint64_t requests_sent = 0, retransmits = 0, responses_resent = 0;
  uint64_t dropped = 0;  // malformed, unauthentic, or out of the window
  uint64_t resends_refused = 0;  // copies of an answered request that were not it: no answer again
  uint64_t cp_unanswered = 0;    // CP requests (a virtual IP, DNS) this gateway does not serve yet
  uint64_t child_rekeys = 0, ike_rekeys = 0, dpd_checks = 0;
};

class IkeSa {
 public:
  static IkeSa initiator(PeerConfig config, Path path);
  static IkeSa responder(PeerConfig config, Path path);

  // Initiator: sends IKE_SA_INIT.
  Result<void> start(uint64_t now_ms);
  // A datagram for this SA from `from` (its source: where replies go). An error says why it was
  // dropped, or why the SA failed (state() then says kFailed).
  Result<void> receive(ByteView datagram, const Path& from, uint64_t now_ms);
  // Retransmissions, rekeys and liveness checks that are due.
  void tick(uint64_t now_ms);

  // Operator and lifetime actions, queued behind any exchange in flight.
  void rekey_child();
  void rekey_ike();
  void close();  // INFORMATIONAL Delete of the IKE SA (and so of its CHILD_SA)
  // INFORMATIONAL Delete of the CHILD_SA alone (swanctl --terminate --child); it leaves the data
  // plane at once (kDown). The IKE SA stands, and may make another (PeerConfig::keep_child).
  void delete_child();

  // What to send, in order. A NAT keepalive is the one-byte datagram {0xFF}; everything else is
  // an IKE message (on 4500 it goes after the non-ESP marker).
  std::vector<Bytes> take_outbox() {
    if (!outbox_.empty()) last_sent_ms_ = now_ms_;
    return std::exchange(outbox_, {});
  }
  std::vector<ChildEvent> take_events() { return std::exchange(events_, {}); }

  IkeState state() const noexcept { return state_; }
  const std::string& failure() const noexcept { return failure_; }
  const std::optional<ChildSa>& child() const noexcept { return child_; }
  uint64_t initiator_spi() const noexcept { return gen_.spi_i; }
  uint64_t responder_spi() const noexcept { return gen_.spi_r; }
  bool is_initiator() const noexcept { return gen_.initiator; }
  const Suite& suite() const noexcept { return gen_.suite; }
  // The current generation's keys, for an operator who asks (Wireshark's IKEv2 decryption table).
  const IkeKeys& keys() const noexcept { return gen_.keys; }
  const Path& path() const noexcept { return path_; }
  // NAT found on either side, or forced: IKE has moved to 4500 and ESP goes in UDP.
  bool udp_encapsulation() const noexcept { return nat_local_ || nat_remote_ || config_.force_encapsulation; }
  bool nat_local() const noexcept { return nat_local_; }
  bool nat_remote() const noexcept { return nat_remote_; }
  const IkeCounters& counters() const noexcept { return counters_; }
  // Does this datagram belong to this SA (its SPIs, the current or the retiring generation)?
  bool owns(ByteView datagram) const;

 private:
  enum class Task : uint8_t { kInit, kAuth, kCreateChild, kRekeyChild, kRekeyIke, kDeleteChild, kDeleteIke, kDpd };
  // A request in flight and what its response needs.
  struct Request {
    Task task;
    uint32_t id = 0;
    Bytes datagram;
    unsigned sent = 1;
    uint64_t resend_at = 0;
    Bytes nonce;                     // CREATE_CHILD_SA: our Ni
    std::optional<KeyExchange> dh;   // with PFS, and IKE rekeys
    uint32_t new_spi = 0;            // CHILD_SA rekey: our new inbound SPI
    uint64_t new_ike_spi = 0;        // IKE rekey: our new SPI
    uint32_t rekeyed_spi = 0;        // the CHILD_SA being rekeyed or deleted (our inbound SPI)
    Suite esp;                       // the suite we propose
  };
  // One IKE SA's keys and message counters. A rekey makes a new generation; the old one lives on
  // only to carry its Delete.
  struct Generation {
    uint64_t spi_i = 0, spi_r = 0;
    bool initiator = false;  // of this generation (after an IKE rekey: whoever started it)
    Suite suite;
    IkeKeys keys;
    uint32_t next_id = 0;       // our next request
    uint32_t peer_next_id = 0;  // the peer's next request
    std::optional<uint32_t> last_response_id;
    Bytes last_response;
    Bytes last_request;  // the request last_response answers, as it arrived
    std::optional<Request> pending;
    std::deque<Request> queued;  // task and rekeyed_spi filled in
    uint64_t retire_by = 0;  // a retiring generation is dropped then, Delete or not
  };
  // A CHILD_SA rekey of ours that collided with the peer's (2.8.1), waiting to be resolved.
  struct PeerRekey {
    uint32_t rekeyed_spi;  // our inbound SPI of the CHILD_SA both rekeyed
    ChildSa child;
    Bytes ni, nr;
  };

  IkeSa(PeerConfig config, Path path, bool initiator);

  // ike_sa.cpp: the window, sending, dispatch.
  Result<void> dispatch(Generation& gen, const Message& m, ByteView datagram);
  void send_request(Generation& gen, Task task, Request request, ExchangeType exchange, const std::vector<Payload>& inner);
  void send_response(Generation& gen, const Message& request, const std::vector<Payload>& inner);
  void send_plain(Bytes datagram) { outbox_.push_back(std::move(datagram)); }
  void start_next(Generation& gen, uint64_t now_ms);
  Result<Bytes> seal(const Generation& gen, ExchangeType exchange, uint32_t message_id, bool response,
                     const std::vector<Payload>& inner);
  std::variant<std::vector<Payload>, SkFailure> open(const Generation& gen, ByteView datagram, bool from_initiator);
  Error fail(const std::string& why);
  void established(uint64_t now_ms);
  void children_down();

  // exchange_init.cpp: IKE_SA_INIT.
  Bytes init_request() const;
  void send_init();
  Result<void> respond_init(const Message& request, ByteView datagram);
  Result<void> finish_init(const Message& response, ByteView datagram);
  std::vector<Payload> nat_detection(uint64_t spi_r) const;
  void check_nat(const std::vector<Payload>& payloads, uint64_t spi_r);
  // exchange_auth.cpp: IKE_AUTH.
  Result<void> send_auth();
  Result<void> respond_auth(const Message& request, const std::vector<Payload>& inner);
  Result<void> finish_auth(const std::vector<Payload>& inner);
  Bytes signed_octets(bool of_initiator, const IdPayload& id) const;
  Result<std::vector<Payload>> authentication(bool of_initiator, const IdPayload& id) const;
  Result<void> check_authentication(bool of_initiator, const std::vector<Payload>& inner, const IdPayload& id) const;
  // exchange_child.cpp: CREATE_CHILD_SA.
  Result<Request> child_rekey_request(std::vector<Payload>& inner);
  // exchange_child_create.cpp: a CHILD_SA made anew when the IKE SA has none.
  Result<Request> child_request(std::vector<Payload>& inner, const TrafficSelector& local, const TrafficSelector& remote);
  Result<void> respond_new_child(Generation& gen, const Message& request, const std::vector<Payload>& inner);
  Result<void> finish_child_create(Generation& gen, const Request& request, const std::vector<Payload>& inner);
  void watch_childless();
  Result<Request> ike_rekey_request(std::vector<Payload>& inner);
  Result<void> respond_create_child(Generation& gen, const Message& request, const std::vector<Payload>& inner);
  struct ChildAccepted {
    Suite suite;
    uint32_t peer_spi;
    Bytes nr, shared;
  };
  std::optional<ChildAccepted> accepted_child(const Request& request, const std::vector<Payload>& inner) const;
  // The CHILD_SA agreed and our nonce; nullopt when refused (the notify sent).
  using ChildAnswer = std::optional<std::pair<ChildSa, Bytes>>;
  Result<ChildAnswer> answer_child(Generation& gen, const Message& request, const std::vector<Payload>& inner,
                                   const TrafficSelector& local, const TrafficSelector& remote);
  Result<void> respond_ike_rekey(Generation& gen, const Message& request, const std::vector<Payload>& inner);
  Result<void> finish_child_rekey(Generation& gen, const Request& request, const std::vector<Payload>& inner);
  Result<void> finish_ike_rekey(const Request& request, const std::vector<Payload>& inner);
  Result<std::pair<Bytes, Bytes>> child_keys(const Generation& gen, const Suite& esp, ByteView shared, ByteView ni,
                                             ByteView nr, bool we_initiated) const;
  void make_current(ChildSa child, Bytes min_nonce);
  void take_from_peer(ChildSa child, Bytes min_nonce);
  void promote(PeerRekey theirs);
  void rearm_child_rekey();
  void queue(Generation& gen, Task task, uint32_t spi = 0);
  void end_retiring();
  // exchange_info.cpp: INFORMATIONAL.
  Result<void> respond_informational(Generation& gen, const Message& request, const std::vector<Payload>& inner);
  void finish_informational(Generation& gen, const Request& request, const std::vector<Payload>& inner);

  PeerConfig config_;
  Path path_;
  IkeState state_ = IkeState::kIdle;
  std::string failure_;
  Generation gen_;
  std::optional<Generation> retiring_;
  // IKE_SA_INIT and IKE_AUTH: the nonces, the DH, both first messages as sent (AUTH signs them).
  std::shared_ptr<const KeyExchange> dh_;
  Bytes ni_, nr_;
  Bytes init_request_, init_response_;
  Bytes peer_cookie_;  // an initiator sends IKE_SA_INIT again with it (2.6)
  bool nat_local_ = false, nat_remote_ = false;
  uint32_t first_child_spi_ = 0;
  std::optional<ChildSa> child_;            // the current CHILD_SA
  Bytes child_min_nonce_;                   // the lowest nonce of the exchange that made it (2.8.1)
  bool child_from_peer_ = false;            // made by the peer's CREATE_CHILD_SA, not ours
  std::vector<ChildSa> replaced_;           // rekeyed away; their Deletes still to come
  std::optional<ChildSa> outbound_waiting_;  // a responder's rekey: outbound after the old one's Delete
  uint64_t outbound_waiting_since_ = 0;
  std::optional<PeerRekey> collision_;
  uint64_t last_heard_ms_ = 0, last_sent_ms_ = 0, child_rekey_at_ = 0, ike_rekey_at_ = 0, now_ms_ = 0;
  uint64_t childless_since_ = 0, child_create_at_ = 0;  // established without a CHILD_SA
  std::vector<Bytes> outbox_;
  std::vector<ChildEvent> events_;
  IkeCounters counters_;
  bool authentic_ = false;  // the datagram dispatch() took passed its integrity check
  ByteView current_datagram_;  // the one dispatch() is handling: a response keeps a copy
  std::vector<uint16_t> peer_hashes_;  // SIGNATURE_HASH_ALGORITHMS from the peer's IKE_SA_INIT
  static std::vector<uint16_t> signature_hashes(const std::vector<Payload>& payloads);
};

}  // namespace rampart::ike
