// Continuous monitoring of a deployed model: an e-detector (Shiryaev–Roberts or CUSUM over every
// start time, mixed uniformly over a grid of post-change accuracies below τ) that alarms when the
// accuracy falls below τ after any change point. Under no change (every label has P(Y=1) ≥ τ) the
// SR statistic minus t is a supermartingale, so the average run length to a false alarm is ≥ 1/α.
// Unlike the audit's model-null product, which drifts to 0 on a long good stream and then cannot
// react, the detector restarts at every step. After an alarm the detector resets and keeps
// watching. Update: O(grid). Not thread safe.
#ifndef ASSAY_CORE_AUDIT_MONITOR_H_
#define ASSAY_CORE_AUDIT_MONITOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/eigen.h"

namespace assay::audit {

struct MonitorConfig {
  double tau = 0.85;
  // Alarm threshold 1/α; the average run length to a false alarm under no change is ≥ 1/α. The
  // default asks for ≥ 1,000 labels between false alarms: α = 0.05 would allow one every 20.
  double alpha = 0.001;
  std::vector<double> alternatives = {0.8, 0.7, 0.5};  // post-change accuracies, each in (0, τ)
  bool cusum = false;                                  // CUSUM instead of Shiryaev–Roberts
  absl::Status Validate() const;                       // InvalidArgument naming the field
};

class Monitor {
 public:
  static absl::StatusOr<Monitor> Create(const MonitorConfig& config);

  // Adds one score in [0,1]; returns true when this score raises an alarm.
  // InvalidArgument for y outside [0,1] (state unchanged).
  absl::StatusOr<bool> Update(double y);

  int64_t t() const { return t_; }
  int64_t alarms() const { return alarms_; }
  int64_t last_alarm() const { return last_alarm_; }  // t of the last alarm, 0 if none
  double e_value() const;                             // current detector value

  std::string Serialize() const;
  static absl::StatusOr<Monitor> Deserialize(absl::string_view bytes);

 private:
  explicit Monitor(const MonitorConfig& config);
  MonitorConfig config_;
  Eigen::ArrayXd log_stat_;  // per alternative: log R (SR) or log C (CUSUM)
  int64_t t_ = 0, alarms_ = 0, last_alarm_ = 0;
};

}  // namespace assay::audit

#endif  // ASSAY_CORE_AUDIT_MONITOR_H_
