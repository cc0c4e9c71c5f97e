// What workers look up per packet that the control core may replace as a whole: the SPD of each
// direction and the routing table. Built aside on the control core, published to the workers as
// one pointer over their update rings, never changed after, and freed through the QSBR grace
// period. Two generations may share an SPD or a route table, hence shared_ptr (released on the
// control core only).
#pragma once

#include <memory>

#include "dataplane/routes.hpp"
#include "dataplane/spd.hpp"

namespace rampart::dp {

struct Tables {
  std::shared_ptr<const Spd> spd_out;
  std::shared_ptr<const Spd> spd_in;
  std::shared_ptr<const RouteTable> routes;
};

}  // namespace rampart::dp
