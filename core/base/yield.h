// Cooperative yielding, for long computations that share the cores with latency-sensitive threads.
//
// On some kernels and virtual machines a thread woken to serve a request waits for a core until the
// scheduler's next tick (4 ms at HZ = 250) when every core runs a long computation, whatever that
// computation's nice or policy: the wake-up does not preempt it. Measured on the project's machine
// (tests/bench/README.md, "One server shared by teams"): request threads' waits for a core lasted
// up to a tick (3.9-4.1 ms), half of those over 1 ms behind a fit's threads, at nice 10 and under
// SCHED_IDLE alike. A computation that gives up its core every few tens of microseconds bounds the
// wait by that instead.
//
// Long loops report their work with YieldPoint(units) (the fits' sweeps, E-steps and report, and
// the loading of their matrix); on a thread where yielding is on, it yields
// (std::this_thread::yield) once the thread has done kYieldUnits units since its last yield. A
// unit is the loop's natural cost unit (a response cell, a pattern × quadrature node): about a
// nanosecond each, so a yield every few tens of microseconds. Off by default (an offline fit has
// nothing to yield to); ThreadTeam's threads take the setting of the thread that created the team.
//
// Thread safety: the state is per thread.
#ifndef ASSAY_CORE_BASE_YIELD_H_
#define ASSAY_CORE_BASE_YIELD_H_

#include <cstdint>
#include <thread>

namespace assay {

inline constexpr int64_t kYieldUnits = int64_t{1} << 15;

namespace yield_internal {
inline thread_local bool enabled = false;
inline thread_local int64_t done = 0;  // units since the last yield
}  // namespace yield_internal

// Turns yielding on or off for the calling thread (and the ThreadTeams it creates afterwards).
inline void SetYieldOften(bool on) {
  yield_internal::enabled = on;
  yield_internal::done = 0;
}
inline bool YieldOften() { return yield_internal::enabled; }

// Counts `units` of work done on the calling thread; yields its core every kYieldUnits when on.
inline void YieldPoint(int64_t units) {
  if (!yield_internal::enabled) return;
  yield_internal::done += units;
  if (yield_internal::done >= kYieldUnits) {
    yield_internal::done = 0;
    std::this_thread::yield();
  }
}

}  // namespace assay

#endif  // ASSAY_CORE_BASE_YIELD_H_
