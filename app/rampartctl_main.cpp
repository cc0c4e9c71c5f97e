// rampartctl: the operator's command line for a running rampartd.
//   rampartctl [-s SOCKET] [--watch] show counters|drops|sa|interfaces|policy|routes|neighbors|workers [--json]
//   rampartctl [-s SOCKET] counters clear | metrics | config reload [FILE]
//   rampartctl [-s SOCKET] sa|policy|route add SETTINGS | sa del NAME | policy del NAME | route del PREFIX
//   rampartctl [-s SOCKET] ike initiate|terminate|rekey-child|rekey-ike CONNECTION
//   rampartctl [-s SOCKET] trace N [--json]
// Talks to the daemon's console socket (console/PROTOCOL.md). Exit status: 0 when the daemon
// answered the command, 1 when it refused it, 2 when it could not be reached or on bad usage.
// --watch asks again every second and redraws, until interrupted.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "console/server.hpp"

int main(int argc, char** argv) {
  std::string socket = "/run/rampart/rampartd.sock";
  std::string line;
  bool watch = false;
  const char* usage =
      "usage: rampartctl [-s SOCKET] [--watch] show counters|drops|interfaces|policy|routes|neighbors|workers [--json]\n"
      "       rampartctl [-s SOCKET] show sa [NAME|SPI] [--show-keys] [--json]\n"
      "       rampartctl [-s SOCKET] show ike [--show-keys] [--json]\n"
      "       rampartctl [-s SOCKET] ike initiate|terminate|rekey-child|rekey-ike CONNECTION\n"
      "       rampartctl [-s SOCKET] counters clear | metrics | config reload [FILE]\n"
      "       rampartctl [-s SOCKET] sa add SETTINGS | sa del NAME | policy add SETTINGS | policy del NAME\n"
      "       rampartctl [-s SOCKET] route add SETTINGS | route del PREFIX\n"
      "       rampartctl [-s SOCKET] trace N [--json]   (follow the next N packets; prints them as they are in, 5 s at most)\n"
      "       rampartctl [-s SOCKET] help   (the gateway's own list of the commands it answers)\n"
      "SETTINGS: the inside of one group of the config file, quoted as one argument (console/PROTOCOL.md)\n";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-s" || a == "--socket") && i + 1 < argc) {
      socket = argv[++i];
    } else if (a == "--watch") {
      watch = true;
    } else if (a == "-h" || a == "--help") {
      std::printf("%s", usage);
      return 0;
    } else {
      line += (line.empty() ? "" : " ") + a;
    }
  }
  if (line.empty()) {
    std::fprintf(stderr, "%s", usage);
    return 2;
  }
  // "trace N": arm the trace, then ask for it until N packets are in or 5 s have passed.
  if (line.rfind("trace ", 0) == 0) {
    bool json = line.size() > 7 && line.compare(line.size() - 7, 7, " --json") == 0;
    std::string count_text = line.substr(6, json ? line.size() - 13 : std::string::npos);
    auto armed = rampart::console::request(socket, "trace " + count_text);
    if (!armed) {
      std::fprintf(stderr, "rampartctl: %s\n", armed.message().c_str());
      return 2;
    }
    if (!armed->ok) {
      std::fputs(armed->text.c_str(), stderr);
      return 1;
    }
    size_t want = std::strtoul(count_text.c_str(), nullptr, 10);
    for (int waited = 0;; waited += 100) {
      auto trace = rampart::console::request(socket, json ? "show trace --json" : "show trace");
      if (!trace || !trace->ok) return 2;
      size_t have = 0;
      for (size_t at = 0; (at = trace->text.find(json ? "{\"worker\"" : "\n", at)) != std::string::npos; ++at) ++have;
      if (!json && have > 0) --have;  // the header line
      if (have >= want || waited >= 5000) {
        std::fputs(trace->text.c_str(), stdout);
        return 0;
      }
      usleep(100 * 1000);
    }
  }
  for (;;) {
    auto reply = rampart::console::request(socket, line);
    if (!reply) {
      std::fprintf(stderr, "rampartctl: %s\n", reply.message().c_str());
      return 2;
    }
    if (watch) std::printf("\033[H\033[2J%s  (every second; Ctrl-C to stop)\n\n", line.c_str());
    std::fputs(reply->text.c_str(), reply->ok ? stdout : stderr);
    std::fflush(stdout);
    if (!watch || !reply->ok) return reply->ok ? 0 : 1;
    sleep(1);
  }
}
