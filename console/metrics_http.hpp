// An HTTP listener for Prometheus scrapes: "GET /metrics" answered with the text exposition the
// caller renders. Bound to loopback unless the config names another address. Served from the
// control core between passes like the console socket: one request per connection, a request
// must arrive within 200 ms and fit in 4 KB, a client that stops reading is dropped after 1 s.
#pragma once

#include <functional>
#include <string>

#include "common/result.hpp"

namespace rampart::console {

class MetricsListener {
 public:
  // address: "127.0.0.1:9464", "[::1]:9464", or ":9464" (loopback).
  static Result<MetricsListener> listen(const std::string& address);
  MetricsListener(MetricsListener&& other) noexcept;
  MetricsListener& operator=(MetricsListener&&) = delete;
  ~MetricsListener();

  // Answers every client waiting now; never blocks for long (see above).
  void poll(const std::function<std::string()>& metrics);
  uint16_t port() const noexcept { return port_; }  // the bound port (useful with port 0)

 private:
  MetricsListener(int fd, uint16_t port) : fd_(fd), port_(port) {}
  int fd_;
  uint16_t port_;
};

}  // namespace rampart::console
