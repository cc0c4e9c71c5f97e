#include "dataplane/burst.hpp"

#include <rte_mbuf.h>

namespace rampart::dp {

void free_dropped(Burst& burst, uint16_t good) noexcept {
  rte_pktmbuf_free_bulk(burst.pkts + good, burst.count - good);
  burst.count = good;
}

}  // namespace rampart::dp
