#include "core/audit/monitor.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/audit/bet.h"
#include "core/base/bytes.h"
#include "core/base/status_macros.h"

namespace assay::audit {
namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
}  // namespace

absl::Status MonitorConfig::Validate() const {
  if (!(tau > 0 && tau < 1))
    return absl::InvalidArgumentError(
        absl::StrCat("tau: must be strictly inside (0, 1), got ", tau));
  if (!(alpha > 0 && alpha < 1))
    return absl::InvalidArgumentError(absl::StrCat("alpha: must be in (0, 1), got ", alpha));
  if (alternatives.empty()) return absl::InvalidArgumentError("alternatives: must not be empty");
  for (size_t k = 0; k < alternatives.size(); ++k) {
    if (!(alternatives[k] > 0 && alternatives[k] < tau)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "alternatives[", k, "]: must be in (0, tau=", tau, "), got ", alternatives[k]));
    }
  }
  return absl::OkStatus();
}

Monitor::Monitor(const MonitorConfig& config)
    : config_(config),
      log_stat_(Eigen::ArrayXd::Constant(static_cast<Eigen::Index>(config.alternatives.size()),
                                         kNegInf)) {}

absl::StatusOr<Monitor> Monitor::Create(const MonitorConfig& config) {
  RETURN_IF_ERROR(config.Validate());
  return Monitor(config);
}

double Monitor::e_value() const {
  // Uniform mixture over the alternatives.
  return log_stat_.exp().mean();
}

absl::StatusOr<bool> Monitor::Update(double y) {
  if (!(y >= 0 && y <= 1))
    return absl::InvalidArgumentError(absl::StrCat("score: must be in [0, 1], got ", y));
  ++t_;
  for (Eigen::Index k = 0; k < log_stat_.size(); ++k) {
    const double log_l = LogBetFactor(y, config_.alternatives[static_cast<size_t>(k)], config_.tau);
    double& s = log_stat_[k];
    if (config_.cusum) {
      s = log_l + std::max(s, 0.0);  // C_t = L_t max(C_{t−1}, 1)
    } else {
      s = log_l +
          (s == kNegInf
               ? 0.0
               : std::max(s, 0.0) + std::log1p(std::exp(-std::abs(s))));  // R_t = L_t (R_{t−1} + 1)
    }
  }
  if (e_value() >= 1 / config_.alpha) {
    ++alarms_;
    last_alarm_ = t_;
    log_stat_.setConstant(kNegInf);  // restart watching
    return true;
  }
  return false;
}

std::string Monitor::Serialize() const {
  ByteWriter w;
  w.F64(config_.tau);
  w.F64(config_.alpha);
  w.F64s(config_.alternatives.data(), static_cast<int64_t>(config_.alternatives.size()));
  w.U8(config_.cusum ? 1 : 0);
  w.F64s(log_stat_.data(), log_stat_.size());
  w.I64(t_);
  w.I64(alarms_);
  w.I64(last_alarm_);
  return w.Take();
}

absl::StatusOr<Monitor> Monitor::Deserialize(absl::string_view bytes) {
  ByteReader r(bytes);
  MonitorConfig c;
  uint8_t cusum;
  if (!r.F64(c.tau) || !r.F64(c.alpha) || !r.F64s(c.alternatives) || !r.U8(cusum)) {
    return absl::DataLossError("monitor snapshot: truncated config");
  }
  c.cusum = cusum != 0;
  if (!c.Validate().ok()) return absl::DataLossError("monitor snapshot: invalid config");
  Monitor m(c);
  std::vector<double> stat;
  if (!r.F64s(stat) || stat.size() != c.alternatives.size() || !r.I64(m.t_) || !r.I64(m.alarms_) ||
      !r.I64(m.last_alarm_) || !r.done()) {
    return absl::DataLossError("monitor snapshot: truncated state");
  }
  m.log_stat_ =
      Eigen::Map<const Eigen::ArrayXd>(stat.data(), static_cast<Eigen::Index>(stat.size()));
  return m;
}

}  // namespace assay::audit
