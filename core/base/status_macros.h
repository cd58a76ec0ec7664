// Status-propagation macros, under the names current Abseil uses (absl/status/status_macros.h),
// which Debian 12's Abseil (20220623) does not have yet.
#ifndef ASSAY_CORE_BASE_STATUS_MACROS_H_
#define ASSAY_CORE_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ASSAY_STATUS_MACROS_CONCAT_INNER(a, b) a##b
#define ASSAY_STATUS_MACROS_CONCAT(a, b) ASSAY_STATUS_MACROS_CONCAT_INNER(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function if it is not OK.
// (The variable's name is per line so that a lambda inside `expr` may use the macro too.)
#define RETURN_IF_ERROR(expr) \
  ASSAY_RETURN_IF_ERROR_IMPL(ASSAY_STATUS_MACROS_CONCAT(assay_status_, __LINE__), expr)
#define ASSAY_RETURN_IF_ERROR_IMPL(status, expr) \
  do {                                           \
    ::absl::Status status = (expr);              \
    if (!status.ok()) return status;             \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from the enclosing
// function, otherwise move-assigns the value to `lhs` (which may be a declaration: `auto x`).
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ASSAY_ASSIGN_OR_RETURN_IMPL(ASSAY_STATUS_MACROS_CONCAT(assay_statusor_, __LINE__), lhs, rexpr)

#define ASSAY_ASSIGN_OR_RETURN_IMPL(statusor, lhs, rexpr)  \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // ASSAY_CORE_BASE_STATUS_MACROS_H_
