#include "console/client_io.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

namespace rampart::console {

namespace {
long now_ms() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
}  // namespace

bool read_until(int fd, std::string_view end, size_t max, int timeout_ms, std::string& out) {
  char buffer[512];
  const long deadline = now_ms() + timeout_ms;
  while (out.size() < max) {
    long left = deadline - now_ms();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return !out.empty();  // a client may close instead of sending the end
    out.append(buffer, static_cast<size_t>(n));
    if (auto at = out.find(end); at != std::string::npos) {
      out.resize(at);
      return true;
    }
  }
  return false;
}

void write_all(int fd, std::string_view text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;  // the client went away or stopped reading: nothing to do
    done += static_cast<size_t>(n);
  }
}

void limit_send_time(int fd, int seconds) {
  timeval timeout{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

}  // namespace rampart::console
