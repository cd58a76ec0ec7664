// A tiny logger: one line per call on stderr, "2026-11-22T12:00:00.123Z I message".
// Thread safe (lines never interleave). Debian 12's Abseil has no absl/log.
#ifndef ASSAY_SERVER_RUNTIME_LOG_H_
#define ASSAY_SERVER_RUNTIME_LOG_H_

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace assay::server {

enum class LogLevel { kInfo, kWarning, kError };

void LogLine(LogLevel level, absl::string_view message);

template <typename... Args>
void Log(LogLevel level, const absl::FormatSpec<Args...>& format, const Args&... args) {
  LogLine(level, absl::StrFormat(format, args...));
}

}  // namespace assay::server

#endif  // ASSAY_SERVER_RUNTIME_LOG_H_
