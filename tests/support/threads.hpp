// Threads for tests that run workers: std::thread inherits the EAL main thread's affinity (its
// one CPU), so workers started from a test would all share CPU 0 and rarely run at the same
// moment. These may run on every online CPU, so that races have their chance.
#pragma once

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <thread>
#include <utility>

namespace rampart::test {

template <typename F>
std::thread any_cpu_thread(F&& f) {
  return std::thread([f = std::forward<F>(f)]() mutable {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    for (long cpu = 0; cpu < sysconf(_SC_NPROCESSORS_ONLN) && cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &cpus);
    pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
    f();
  });
}

}  // namespace rampart::test
