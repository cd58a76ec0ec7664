#ifndef ASSAY_CORE_BASE_THREAD_NAME_H_
#define ASSAY_CORE_BASE_THREAD_NAME_H_

#include <string>

#include "absl/strings/string_view.h"

namespace assay {

// Names the calling thread for the operating system, so that `top -H`, `perf report --sort
// comm`, `gdb` and /proc/PID/task/TID/comm tell the server's threads apart (the committer, the
// reply thread, executor workers, fit sweeps). Linux keeps at most 15 bytes: longer names are cut.
// Best effort: a platform without thread names ignores it.
void NameCurrentThread(absl::string_view name);

// The calling thread's name as the operating system holds it ("" where it keeps none).
std::string CurrentThreadName();

}  // namespace assay

#endif  // ASSAY_CORE_BASE_THREAD_NAME_H_
