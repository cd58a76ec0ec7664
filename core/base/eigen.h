// The project's one include of Eigen (tests/check_layering.sh enforces it): include this, not
// "Eigen/...".
//
// With -march=native on AVX-512 machines, GCC 12 (Debian 12's compiler) reports over a thousand
// false -Wmaybe-uninitialized / -Wuninitialized warnings from its own intrinsics headers
// (`__m512d __Y = __Y;` in avx512fintrin.h, GCC bug 105593, fixed in GCC 13) wherever Eigen's
// AVX-512 code is inlined. They buried every real warning of a build, so they are silenced here
// for those headers only: GCC applies diagnostic pragmas by the source location of the warning,
// and Eigen is what first includes the intrinsics headers.
#ifndef ASSAY_CORE_BASE_EIGEN_H_
#define ASSAY_CORE_BASE_EIGEN_H_

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "Eigen/Cholesky"
#include "Eigen/Core"
#pragma GCC diagnostic pop

#endif  // ASSAY_CORE_BASE_EIGEN_H_
