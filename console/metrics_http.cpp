#include "console/metrics_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "console/client_io.hpp"

namespace rampart::console {

namespace {

constexpr size_t kMaxRequest = 4096;
constexpr int kClientTimeoutMs = 200;

std::string response(const char* status, const std::string& type, const std::string& body) {
  return std::string("HTTP/1.0 ") + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

Result<MetricsListener> MetricsListener::listen(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return make_error(Errc::kInvalidArgument, "metrics: \"" + address + "\" has no :port");
  std::string host = address.substr(0, colon);
  char* end = nullptr;
  unsigned long port = std::strtoul(address.c_str() + colon + 1, &end, 10);
  if (*end != 0 || port > 65535 || colon + 1 == address.size())
    return make_error(Errc::kInvalidArgument, "metrics: \"" + address + "\" has no port number");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";
  sockaddr_storage storage{};
  socklen_t length;
  int family;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    family = v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    length = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    family = v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    length = sizeof *v6;
  } else {
    return make_error(Errc::kInvalidArgument, "metrics: \"" + host + "\" is not an IP address");
  }
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::kIo, std::string("metrics socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&storage), length) != 0 || ::listen(fd, 16) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return make_error(Errc::kIo, "metrics listener " + address + ": " + why);
  }
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  uint16_t bound = ntohs(family == AF_INET ? v4->sin_port : v6->sin6_port);
  return MetricsListener(fd, bound);
}

MetricsListener::MetricsListener(MetricsListener&& other) noexcept : fd_(other.fd_), port_(other.port_) {
  other.fd_ = -1;
}

MetricsListener::~MetricsListener() {
  if (fd_ >= 0) ::close(fd_);
}

void MetricsListener::poll(const std::function<std::string()>& metrics) {
  for (;;) {
    int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;  // EAGAIN: nobody else waiting
    limit_send_time(client, 1);
    std::string head;
    if (read_until(client, "\r\n\r\n", kMaxRequest, kClientTimeoutMs, head)) {
      std::string line = head.substr(0, head.find("\r\n"));
      if (line.rfind("GET /metrics ", 0) == 0 || line == "GET /metrics")
        write_all(client, response("200 OK", "text/plain; version=0.0.4", metrics()));
      else if (line.rfind("GET ", 0) == 0)
        write_all(client, response("404 Not Found", "text/plain", "only /metrics here\n"));
      else
        write_all(client, response("405 Method Not Allowed", "text/plain", "GET /metrics\n"));
    }
    ::close(client);
  }
}

}  // namespace rampart::console
