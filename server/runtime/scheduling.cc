#include "server/runtime/scheduling.h"

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace assay::server {

#ifdef __linux__
namespace {

// The kernel's struct sched_attr, first version (48 bytes; <linux/sched/types.h> clashes with
// glibc's <sched.h>).
struct sched_attr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
};
static_assert(sizeof(sched_attr) == 48, "SCHED_ATTR_SIZE_VER0");

bool GetAttr(sched_attr& attr) {
  attr = {};
  return syscall(SYS_sched_getattr, 0, &attr, sizeof(attr), 0) == 0;
}

// Sets the calling thread's attributes, with no flags (nothing reset on fork, nothing kept).
bool SetAttr(sched_attr attr) {
  attr.size = sizeof(attr);
  attr.sched_flags = 0;
  return syscall(SYS_sched_setattr, 0, &attr, 0) == 0;
}

}  // namespace

bool RequestShortSlice(absl::Duration slice) {
  sched_attr before;
  if (!GetAttr(before)) return false;
  // For the fair policies the kernel reads sched_runtime as the requested slice (6.12+); older
  // kernels ignore it, which the read-back detects.
  sched_attr attr = before;
  attr.sched_runtime = static_cast<uint64_t>(absl::ToInt64Nanoseconds(slice));
  if (SetAttr(attr) && CurrentSlice() == slice) return true;
  SetAttr(before);  // not supported: leave the thread as it was
  return false;
}

bool RunInBackground(int nice) {
  sched_attr attr;
  if (GetAttr(attr)) {
    attr.sched_nice = nice;
    attr.sched_runtime = 0;  // the kernel's default slice
    if (SetAttr(attr)) return true;
  }
  return setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), nice) == 0;
}

absl::Duration CurrentSlice() {
  sched_attr attr;
  if (!GetAttr(attr)) return absl::ZeroDuration();
  return absl::Nanoseconds(static_cast<int64_t>(attr.sched_runtime));
}

#else

bool RequestShortSlice(absl::Duration) { return false; }
bool RunInBackground(int) { return false; }
absl::Duration CurrentSlice() { return absl::ZeroDuration(); }

#endif

}  // namespace assay::server
