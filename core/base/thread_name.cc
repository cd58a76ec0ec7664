#include "core/base/thread_name.h"

#include <pthread.h>

namespace assay {

namespace {
constexpr size_t kMaxLength = 15;  // Linux's TASK_COMM_LEN − 1
}  // namespace

void NameCurrentThread(absl::string_view name) {
#if defined(__linux__)
  const std::string cut(name.substr(0, kMaxLength));
  pthread_setname_np(pthread_self(), cut.c_str());
#else
  (void)name;
#endif
}

std::string CurrentThreadName() {
#if defined(__linux__)
  char buffer[kMaxLength + 1] = {};
  if (pthread_getname_np(pthread_self(), buffer, sizeof buffer) == 0) return buffer;
#endif
  return "";
}

}  // namespace assay
