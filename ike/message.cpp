#include "ike/message.hpp"

#include <algorithm>

#include "common/wire.hpp"

namespace rampart::ike {

namespace {

constexpr uint16_t kAttributeKeyLength = 14;
constexpr uint16_t kAttributeFormatTv = 0x8000;
constexpr uint8_t kCriticalBit = 0x80;

ParseError syntax(std::string what) { return {Notify::kInvalidSyntax, std::move(what)}; }

Bytes copy(std::span<const std::byte> s) { return Bytes(s.begin(), s.end()); }

bool known(uint8_t type) {
  return (type >= static_cast<uint8_t>(PayloadType::kSa) && type <= static_cast<uint8_t>(PayloadType::kEap));
}

// Each body parser reads exactly its payload's bytes; false (with why) on any inconsistency.
bool parse_sa(WireReader r, SaPayload& out, std::string& why) {
  for (uint8_t more = 2; more == 2;) {
    auto last = r.u8();
    (void)r.u8();
    auto length = r.be16();
    if (!last || !length || (*last != 0 && *last != 2) || *length < 8) return (why = "SA: bad proposal header"), false;
    auto body = r.sub(*length - 4u);
    if (!body) return (why = "SA: proposal runs past the payload"), false;
    Proposal p;
    auto number = body->u8(), protocol = body->u8(), spi_size = body->u8(), count = body->u8();
    if (!count) return (why = "SA: short proposal"), false;
    p.number = *number;
    p.protocol = *protocol;
    auto spi = body->bytes(*spi_size);
    if (!spi) return (why = "SA: SPI runs past the proposal"), false;
    p.spi = copy(*spi);
    for (unsigned t = 0; t < *count; ++t) {
      auto t_last = body->u8();
      (void)body->u8();
      auto t_length = body->be16();
      if (!t_last || !t_length || *t_length < 8 || (*t_last != 0 && *t_last != 3) || ((*t_last == 0) != (t + 1 == *count)))
        return (why = "SA: bad transform header"), false;
      auto tr = body->sub(*t_length - 4u);
      if (!tr) return (why = "SA: transform runs past the proposal"), false;
      auto type = tr->u8();
      (void)tr->u8();
      auto id = tr->be16();
      if (!id) return (why = "SA: short transform"), false;
      Transform x{static_cast<TransformType>(*type), *id, 0};
      while (tr->remaining() > 0) {  // attributes (3.3.5): TV, or TLV skipped
        auto a_type = tr->be16(), a_value = tr->be16();
        if (!a_value) return (why = "SA: short attribute"), false;
        if (*a_type & kAttributeFormatTv) {
          if ((*a_type & ~kAttributeFormatTv) == kAttributeKeyLength) x.key_length = *a_value;
        } else if (!tr->skip(*a_value)) {
          return (why = "SA: attribute runs past the transform"), false;
        }
      }
      p.transforms.push_back(x);
    }
    if (!body->at_end()) return (why = "SA: bytes after the last transform"), false;
    out.proposals.push_back(std::move(p));
    more = *last;
  }
  if (!r.at_end()) return (why = "SA: bytes after the last proposal"), false;
  return true;
}

bool parse_ts(WireReader r, TsPayload& out, std::string& why) {
  auto count = r.u8();
  if (!count || !r.skip(3)) return (why = "TS: short header"), false;
  for (unsigned i = 0; i < *count; ++i) {
    TrafficSelector ts;
    auto type = r.u8(), protocol = r.u8();
    auto length = r.be16();
    auto start_port = r.be16(), end_port = r.be16();
    if (!end_port) return (why = "TS: short selector"), false;
    ts.type = *type;
    ts.protocol = *protocol;
    ts.start_port = *start_port;
    ts.end_port = *end_port;
    unsigned address = *type == 7 ? 4 : *type == 8 ? 16 : 0;
    if (address == 0 || *length != 8 + 2 * address) return (why = "TS: unknown type or bad length"), false;
    auto start = r.bytes(address), end = r.bytes(address);
    if (!end) return (why = "TS: selector runs past the payload"), false;
    ts.start = copy(*start);
    ts.end = copy(*end);
    out.selectors.push_back(std::move(ts));
  }
  if (!r.at_end()) return (why = "TS: bytes after the last selector"), false;
  return true;
}

bool parse_body(PayloadType type, WireReader r, Payload& out, std::string& why) {
  switch (type) {
    case PayloadType::kSa: {
      SaPayload sa;
      if (!parse_sa(r, sa, why)) return false;
      out.body = std::move(sa);
      return true;
    }
    case PayloadType::kKe: {
      auto group = r.be16();
      if (!group || !r.skip(2)) return (why = "KE: short"), false;
      out.body = KePayload{*group, copy(*r.bytes(r.remaining()))};
      return true;
    }
    case PayloadType::kIdi:
    case PayloadType::kIdr: {
      auto id_type = r.u8();
      if (!id_type || !r.skip(3)) return (why = "ID: short"), false;
      out.body = IdPayload{*id_type, copy(*r.bytes(r.remaining()))};
      return true;
    }
    case PayloadType::kCert:
    case PayloadType::kCertReq: {
      auto encoding = r.u8();
      if (!encoding) return (why = "CERT: short"), false;
      out.body = CertPayload{*encoding, copy(*r.bytes(r.remaining()))};
      return true;
    }
    case PayloadType::kAuth: {
      auto method = r.u8();
      if (!method || !r.skip(3)) return (why = "AUTH: short"), false;
      out.body = AuthPayload{*method, copy(*r.bytes(r.remaining()))};
      return true;
    }
    case PayloadType::kNonce: {
      if (r.remaining() < 16 || r.remaining() > 256) return (why = "Nonce: not 16 to 256 bytes (2.10)"), false;
      out.body = RawPayload{copy(*r.bytes(r.remaining()))};
      return true;
    }
    case PayloadType::kNotify: {
      auto protocol = r.u8(), spi_size = r.u8();
      auto notify_type = r.be16();
      if (!notify_type) return (why = "Notify: short"), false;
      auto spi = r.bytes(*spi_size);
      if (!spi) return (why = "Notify: SPI runs past the payload"), false;
      out.body = NotifyPayload{*protocol, copy(*spi), *notify_type, copy(*r.bytes(r.remaining()))};
      return true;
    }
    case PayloadType::kDelete: {
      auto protocol = r.u8(), spi_size = r.u8();
      auto count = r.be16();
      if (!count) return (why = "Delete: short"), false;
      DeletePayload d{*protocol, *spi_size, {}};
      for (unsigned i = 0; i < *count; ++i) {
        auto spi = r.bytes(*spi_size);
        if (!spi) return (why = "Delete: SPIs run past the payload"), false;
        d.spis.push_back(copy(*spi));
      }
      if (!r.at_end()) return (why = "Delete: bytes after the SPIs"), false;
      out.body = std::move(d);
      return true;
    }
    case PayloadType::kTsi:
    case PayloadType::kTsr: {
      TsPayload ts;
      if (!parse_ts(r, ts, why)) return false;
      out.body = std::move(ts);
      return true;
    }
    case PayloadType::kVendorId:
    case PayloadType::kCp:
    case PayloadType::kEap:
      out.body = RawPayload{copy(*r.bytes(r.remaining()))};
      return true;
    case PayloadType::kSk:
    case PayloadType::kNone:
      break;
  }
  return (why = "unexpected payload"), false;
}

}  // namespace

Bytes be32_bytes(uint32_t v) {
  return {std::byte(static_cast<uint8_t>(v >> 24)), std::byte(static_cast<uint8_t>(v >> 16)),
          std::byte(static_cast<uint8_t>(v >> 8)), std::byte(static_cast<uint8_t>(v))};
}

uint32_t be32_value(const Bytes& b) {
  if (b.size() != 4) return 0;
  return uint32_t(std::to_integer<uint8_t>(b[0])) << 24 | uint32_t(std::to_integer<uint8_t>(b[1])) << 16 |
         uint32_t(std::to_integer<uint8_t>(b[2])) << 8 | std::to_integer<uint8_t>(b[3]);
}

std::variant<std::vector<Payload>, ParseError> parse_payloads(PayloadType first, std::span<const std::byte> data) {
  std::vector<Payload> out;
  WireReader r(data);
  uint8_t next = static_cast<uint8_t>(first);
  while (next != 0) {
    uint8_t type = next;
    auto following = r.u8(), flags = r.u8();
    auto length = r.be16();
    if (!length) return syntax("payload header past the end");
    if (*length < 4) return syntax("payload length below 4");
    auto body = r.sub(*length - 4u);
    if (!body) return syntax("payload " + std::to_string(type) + " runs past the end");
    bool critical = (*flags & kCriticalBit) != 0;
    next = *following;
    if (!known(type)) {
      // 2.5: an unknown payload is skipped, unless its sender marked it critical.
      if (critical) return ParseError{Notify::kUnsupportedCriticalPayload, "unknown critical payload", type};
      continue;
    }
    Payload p{static_cast<PayloadType>(type), critical, RawPayload{}};
    if (p.type == PayloadType::kSk) {
      // 3.14: SK comes last; its "next payload" names the first payload inside it.
      p.body = SkPayload{static_cast<PayloadType>(next), copy(*body->bytes(body->remaining()))};
      if (!r.at_end()) return syntax("bytes after the SK payload");
      out.push_back(std::move(p));
      return out;
    }
    std::string why;
    if (!parse_body(p.type, *body, p, why)) return syntax(why);
    out.push_back(std::move(p));
  }
  if (!r.at_end()) return syntax("bytes after the last payload");
  return out;
}

namespace {
bool allowed(ExchangeType exchange, PayloadType type) {
  using P = PayloadType;
  auto any_of = [type](std::initializer_list<P> list) { return std::find(list.begin(), list.end(), type) != list.end(); };
  switch (exchange) {
    case ExchangeType::kIkeSaInit: return any_of({P::kSa, P::kKe, P::kNonce, P::kNotify, P::kCertReq, P::kVendorId});
    case ExchangeType::kIkeAuth:
      return any_of({P::kIdi, P::kIdr, P::kCert, P::kCertReq, P::kAuth, P::kSa, P::kTsi, P::kTsr, P::kNotify, P::kCp,
                     P::kEap, P::kVendorId});
    case ExchangeType::kCreateChildSa: return any_of({P::kSa, P::kNonce, P::kKe, P::kTsi, P::kTsr, P::kNotify, P::kVendorId});
    case ExchangeType::kInformational: return any_of({P::kNotify, P::kDelete, P::kCp, P::kVendorId});
  }
  return false;
}
}  // namespace

std::optional<std::string> check_payloads(ExchangeType exchange, const std::vector<Payload>& outer) {
  if (exchange == ExchangeType::kIkeSaInit) return check_inner_payloads(exchange, outer);
  if (outer.size() != 1 || outer[0].type != PayloadType::kSk) return "everything after IKE_SA_INIT travels in one SK payload";
  return std::nullopt;
}

std::optional<std::string> check_inner_payloads(ExchangeType exchange, const std::vector<Payload>& inner) {
  for (const Payload& p : inner)
    if (!allowed(exchange, p.type))
      return "payload " + std::to_string(static_cast<unsigned>(p.type)) + " has no place in exchange " +
             std::to_string(static_cast<unsigned>(exchange));
  return std::nullopt;
}

std::variant<Message, ParseError> parse_message(std::span<const std::byte> datagram) {
  WireReader r(datagram);
  Message m;
  auto spi_i = r.be64(), spi_r = r.be64();
  auto next = r.u8(), version = r.u8(), exchange = r.u8(), flags = r.u8();
  auto id = r.be32(), length = r.be32();
  if (!length) return ParseError{Notify::kNone, "shorter than the IKE header"};
  // 2.5: a later major version gets INVALID_MAJOR_VERSION; anything older is dropped.
  if ((*version >> 4) > 2) return ParseError{Notify::kInvalidMajorVersion, "major version above 2"};
  if ((*version >> 4) < 2) return ParseError{Notify::kNone, "major version below 2"};
  if (*length != datagram.size()) return ParseError{Notify::kNone, "length field disagrees with the datagram"};
  m.header = {*spi_i, *spi_r, static_cast<PayloadType>(*next), *version, static_cast<ExchangeType>(*exchange),
              *flags, *id, *length};
  auto payloads = parse_payloads(m.header.next_payload, datagram.subspan(kHeaderLength));
  if (auto* e = std::get_if<ParseError>(&payloads)) return *e;
  m.payloads = std::move(std::get<std::vector<Payload>>(payloads));
  return m;
}

namespace {

// Appends a payload body; the generic header is written by the caller.
void write_body(const Payload& p, Bytes& out) {
  auto u8 = [&](unsigned v) { out.push_back(std::byte(static_cast<uint8_t>(v))); };
  auto be16 = [&](unsigned v) { u8(v >> 8); u8(v); };
  auto bytes = [&](const Bytes& b) { out.insert(out.end(), b.begin(), b.end()); };
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, SaPayload>) {
          for (size_t i = 0; i < body.proposals.size(); ++i) {
            const Proposal& p = body.proposals[i];
            size_t at = out.size();
            u8(i + 1 == body.proposals.size() ? 0 : 2);
            u8(0);
            be16(0);  // length, below
            u8(p.number);
            u8(p.protocol);
            u8(static_cast<unsigned>(p.spi.size()));
            u8(static_cast<unsigned>(p.transforms.size()));
            bytes(p.spi);
            for (size_t t = 0; t < p.transforms.size(); ++t) {
              const Transform& x = p.transforms[t];
              u8(t + 1 == p.transforms.size() ? 0 : 3);
              u8(0);
              be16(x.key_length ? 12 : 8);
              u8(static_cast<unsigned>(x.type));
              u8(0);
              be16(x.id);
              if (x.key_length) {
                be16(kAttributeFormatTv | kAttributeKeyLength);
                be16(x.key_length);
              }
            }
            size_t length = out.size() - at;
            out[at + 2] = std::byte(static_cast<uint8_t>(length >> 8));
            out[at + 3] = std::byte(static_cast<uint8_t>(length));
          }
        } else if constexpr (std::is_same_v<T, KePayload>) {
          be16(body.group);
          be16(0);
          bytes(body.data);
        } else if constexpr (std::is_same_v<T, IdPayload> || std::is_same_v<T, AuthPayload>) {
          if constexpr (std::is_same_v<T, IdPayload>) u8(body.type); else u8(body.method);
          u8(0);
          be16(0);
          bytes(body.data);
        } else if constexpr (std::is_same_v<T, CertPayload>) {
          u8(body.encoding);
          bytes(body.data);
        } else if constexpr (std::is_same_v<T, NotifyPayload>) {
          u8(body.protocol);
          u8(static_cast<unsigned>(body.spi.size()));
          be16(body.type);
          bytes(body.spi);
          bytes(body.data);
        } else if constexpr (std::is_same_v<T, DeletePayload>) {
          u8(body.protocol);
          u8(body.spi_size);
          be16(static_cast<unsigned>(body.spis.size()));
          for (const Bytes& spi : body.spis) bytes(spi);
        } else if constexpr (std::is_same_v<T, TsPayload>) {
          u8(static_cast<unsigned>(body.selectors.size()));
          u8(0);
          be16(0);
          for (const TrafficSelector& ts : body.selectors) {
            u8(ts.type);
            u8(ts.protocol);
            be16(static_cast<unsigned>(8 + ts.start.size() + ts.end.size()));
            be16(ts.start_port);
            be16(ts.end_port);
            bytes(ts.start);
            bytes(ts.end);
          }
        } else if constexpr (std::is_same_v<T, RawPayload>) {
          bytes(body.data);
        } else if constexpr (std::is_same_v<T, SkPayload>) {
          bytes(body.body);
        }
      },
      p.body);
}

}  // namespace

Bytes serialize_payloads(const std::vector<Payload>& payloads) {
  Bytes out;
  for (size_t i = 0; i < payloads.size(); ++i) {
    const Payload& p = payloads[i];
    uint8_t next = 0;
    if (const auto* sk = std::get_if<SkPayload>(&p.body))
      next = static_cast<uint8_t>(sk->first_inner);
    else if (i + 1 < payloads.size())
      next = static_cast<uint8_t>(payloads[i + 1].type);
    size_t at = out.size();
    out.push_back(std::byte(next));
    out.push_back(std::byte(p.critical ? kCriticalBit : 0));
    out.push_back(std::byte{0});
    out.push_back(std::byte{0});
    write_body(p, out);
    size_t length = out.size() - at;
    out[at + 2] = std::byte(static_cast<uint8_t>(length >> 8));
    out[at + 3] = std::byte(static_cast<uint8_t>(length));
  }
  return out;
}

Bytes serialize_message(const Message& message) {
  Bytes body = serialize_payloads(message.payloads);
  Bytes out(kHeaderLength);
  WireWriter w(out);
  const Header& h = message.header;
  uint8_t next = message.payloads.empty() ? 0 : static_cast<uint8_t>(message.payloads.front().type);
  bool ok = w.be64(h.initiator_spi) && w.be64(h.responder_spi) && w.u8(next) && w.u8(h.version) &&
            w.u8(static_cast<uint8_t>(h.exchange)) && w.u8(h.flags) && w.be32(h.message_id) &&
            w.be32(static_cast<uint32_t>(kHeaderLength + body.size()));
  (void)ok;  // 28 bytes always fit
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

}  // namespace rampart::ike
