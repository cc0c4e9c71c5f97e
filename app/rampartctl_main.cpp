// rampartctl: the operator's command line for a running rampartd.
//   rampartctl [-s SOCKET] show counters|drops|sa|interfaces|policy [--json]
// Talks to the daemon's console socket (console/PROTOCOL.md). Exit status: 0 when the daemon
// answered the command, 1 when it refused it, 2 when it could not be reached or on bad usage.
#include <cstdio>
#include <string>

#include "console/server.hpp"

int main(int argc, char** argv) {
  std::string socket = "/run/rampart/rampartd.sock";
  std::string line;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-s" || a == "--socket") && i + 1 < argc) {
      socket = argv[++i];
    } else if (a == "-h" || a == "--help") {
      std::printf("usage: rampartctl [-s SOCKET] show counters|drops|sa|interfaces|policy [--json]\n");
      return 0;
    } else {
      line += (line.empty() ? "" : " ") + a;
    }
  }
  if (line.empty()) {
    std::fprintf(stderr, "usage: rampartctl [-s SOCKET] show counters|drops|sa|interfaces|policy [--json]\n");
    return 2;
  }
  auto reply = rampart::console::request(socket, line);
  if (!reply) {
    std::fprintf(stderr, "rampartctl: %s\n", reply.message().c_str());
    return 2;
  }
  std::fputs(reply->text.c_str(), reply->ok ? stdout : stderr);
  return reply->ok ? 0 : 1;
}
