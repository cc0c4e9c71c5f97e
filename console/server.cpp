#include "console/server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
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

// Reads one line of at most kMaxRequest bytes, waiting at most kClientTimeoutMs in all.
bool read_line(int fd, std::string& line) {
  char buffer[256];
  while (line.size() < kMaxRequest) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kClientTimeoutMs) <= 0) return false;
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return !line.empty();  // a client may close instead of sending a newline
    line.append(buffer, static_cast<size_t>(n));
    if (auto end = line.find('\n'); end != std::string::npos) {
      line.resize(end);
      return true;
    }
  }
  return false;
}

void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;  // the client went away: nothing to do
    done += static_cast<size_t>(n);
  }
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
    // A client that stops reading must not hold the control core: a send waits 1 s at most.
    timeval send_timeout{1, 0};
    ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    std::string line;
    if (read_line(client, line)) {
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
