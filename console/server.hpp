// The console's server side: a Unix stream socket on the control core. One request per
// connection, a line of text ("show counters --json"), answered by the handler and closed.
// Polled from the control core's loop, never blocking it: a client that sends nothing, sends
// garbage or goes away costs one bounded read. The protocol is in console/PROTOCOL.md.
#pragma once

#include <functional>
#include <string>

#include "common/result.hpp"

namespace rampart::console {

// The answer to one request. ok false makes rampartctl exit with status 1.
struct Reply {
  bool ok = true;
  std::string text;
};

using Handler = std::function<Reply(const std::string& request)>;

class Server {
 public:
  // Creates the socket at path (root-only: the directory 0700, the socket 0600), replacing a
  // stale one left by a process that died.
  static Result<Server> listen(const std::string& path);
  Server(Server&& other) noexcept;
  Server& operator=(Server&&) = delete;
  ~Server();

  // Serves every client waiting now, then returns.
  void poll(const Handler& handler);
  const std::string& path() const { return path_; }

 private:
  Server(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

// The client side, for rampartctl and tests: sends one request and returns the reply.
Result<Reply> request(const std::string& path, const std::string& line);

}  // namespace rampart::console
