// Scheduling hints for the server's threads (Linux; elsewhere they do nothing and say so).
//
// The request path (gRPC's threads, the executor workers, the committer, the reply thread) and
// the calibration jobs share the cores. A fit's sweep threads run for seconds; a request's threads
// run for tens of microseconds and sleep. Linux's EEVDF scheduler (6.6+) lets a running task keep
// the core for the rest of its slice when a task of the same policy wakes, unless the woken task
// asked for a shorter slice (6.12+): without one, a label that arrives while both cores run a fit
// waits up to a slice (a few ms, whatever the fit's nice). So assayd asks for a short slice on
// the request path and leaves the fits the kernel's default (tests/bench/README.md,
// fairness_bench). Some kernels (the project's VM: HZ 250, preempt=none) do not let a wake-up take
// the core from a running fit at all, whatever the slice, nice or policy: there the fits' own
// yields bound the wait (core/base/yield.h, turned on in the fit runners).
//
// Thread safety: each call changes the calling thread only; threads it creates afterwards inherit
// the change.
#ifndef ASSAY_SERVER_RUNTIME_SCHEDULING_H_
#define ASSAY_SERVER_RUNTIME_SCHEDULING_H_

#include <cstdint>

#include "absl/time/time.h"

namespace assay::server {

// The request path's slice: long enough for a label's work on a thread (tens of µs), short
// enough that a woken request thread takes the core from a fit at once. The kernel clamps custom
// slices to [0.1 ms, 100 ms].
inline constexpr absl::Duration kRequestSlice = absl::Microseconds(100);

// Asks the kernel to run the calling thread with scheduling slice `slice` (its policy and nice
// unchanged). True if the kernel now reports that slice; false where custom slices are not
// supported (Linux before 6.12, other systems), which leaves the thread as it was.
bool RequestShortSlice(absl::Duration slice = kRequestSlice);

// The calling thread (and the threads it creates afterwards) below the request path: nice `nice`
// and the kernel's default slice. True if the kernel took it (nice is supported everywhere on
// Linux); failure costs responsiveness only.
bool RunInBackground(int nice);

// The calling thread's slice as the kernel reports it, or zero where it reports none.
absl::Duration CurrentSlice();

}  // namespace assay::server

#endif  // ASSAY_SERVER_RUNTIME_SCHEDULING_H_
