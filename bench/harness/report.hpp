// rampart-bench's output: rows as a terminal table, as JSON with the machine's description, and
// as a PNG plot drawn by gnuplot (Debian's gnuplot-nox): throughput against packet size, one line
// per system, the crypto ceiling among them.
#pragma once

#include <string>
#include <vector>

namespace rampart::bench {

struct Row {
  std::string system;     // "rampart", "rampart-esp", "rampart-clear", "rte_ipsec", "ipsec-mb"
  std::string direction;  // "outbound", "inbound"
  std::string size;       // "64", "imix"
  double mean_size = 0;   // IP bytes per packet, for the plot's x axis
  unsigned sas = 1;
  double mpps = 0, gbps_l3 = 0, gbps_l2 = 0, cycles_per_packet = 0;
  double of_ceiling = 0;    // this row's Mpps / ipsec-mb's in the same run (0: not measured)
  double vs_rte_ipsec = 0;  // this row's Mpps / rte_ipsec's (0: not measured)
  unsigned long long sent = 0, received = 0, dropped = 0;
  // --workers rows: how many, aggregate against the one-worker row of the same run, packets
  // handed between workers per packet, and what a hand-off costs (cycles per handed packet).
  unsigned workers = 1;
  double vs_one_worker = 0, handed_per_packet = 0, handoff_cycles = 0;
};

// The CPU, its crypto-relevant flags, ipsec-mb's version and chosen code path, core count,
// DPDK, compiler and kernel versions, as a JSON object.
std::string machine_json();
std::string machine_summary();  // one line for the terminal

void print_header();
void print_row(const Row& row);
void print_scaling_header();
void print_scaling_row(const Row& row);
std::string rows_json(const std::vector<Row>& rows);
// Writes a gnuplot script and data beside png and runs gnuplot; false (with a message) if it
// cannot (gnuplot missing, say).
bool plot(const std::vector<Row>& rows, const std::string& png, const std::string& title);

}  // namespace rampart::bench
