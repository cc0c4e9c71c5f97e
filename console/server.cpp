#include "console/server.hpp"

#include "console/client_io.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace rampart::console {

namespace {

constexpr size_t kMaxRequest = 1024;
constexpr int kClientTimeoutMs = 200;  // a slow client is dropped, not waited for

Result<sockaddr_un> address_of(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    return make_error(Errc::kInvalidArgument, "console socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

}  // namespace

Result<Server> Server::listen(const std::string& path) {
  auto address = address_of(path);
  if (!address) return address.error();
  std::error_code ec;
  auto directory = std::filesystem::path(path).parent_path();
  if (!directory.empty()) {
    std::filesystem::create_directories(directory, ec);
    ::chmod(directory.c_str(), 0700);
  }
  ::unlink(path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::kIo, std::string("console socket: ") + std::strerror(errno));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0 || ::listen(fd, 16) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return make_error(Errc::kIo, "console socket " + path + ": " + why);
  }
  ::chmod(path.c_str(), 0600);
  return Server(fd, path);
}

Server::Server(Server&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }

Server::~Server() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(path_.c_str());
}

void Server::poll(const Handler& handler) {
  for (;;) {
    int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;  // EAGAIN: nobody else waiting
    limit_send_time(client, 1);  // a client that stops reading must not hold the control core
    std::string line;
    if (read_until(client, "\n", kMaxRequest, kClientTimeoutMs, line)) {
      Reply reply = handler(line);
      write_all(client, (reply.ok ? "ok\n" : "error\n") + reply.text);
    }
    ::close(client);
  }
}

Result<Reply> request(const std::string& path, const std::string& line) {
  auto address = address_of(path);
  if (!address) return address.error();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::kIo, std::strerror(errno));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return make_error(Errc::kIo, "cannot reach rampartd at " + path + ": " + why);
  }
  write_all(fd, line + "\n");
  std::string answer;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) answer.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  auto first = answer.find('\n');
  if (first == std::string::npos) return make_error(Errc::kIo, "rampartd closed the connection without answering");
  return Reply{answer.substr(0, first) == "ok", answer.substr(first + 1)};
}

}  // namespace rampart::console
