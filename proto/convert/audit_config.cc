#include "proto/convert/audit_config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace assay::convert {

absl::StatusOr<audit::AuditConfig> AuditConfigFromProto(const v1::AuditConfig& p) {
  audit::AuditConfig c;
  if (p.has_tau()) c.tau = p.tau();
  if (p.has_alpha()) c.alpha = p.alpha();
  if (p.has_budget()) c.budget = p.budget();
  switch (p.method()) {
    case v1::AUDIT_METHOD_UNSPECIFIED:
    case v1::AUDIT_METHOD_SR:
      c.method = audit::Method::kSr;
      break;
    case v1::AUDIT_METHOD_LR:
      c.method = audit::Method::kLr;
      break;
    case v1::AUDIT_METHOD_CUSUM:
      c.method = audit::Method::kCusum;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("config.method: unknown value ", static_cast<int>(p.method())));
  }
  if (p.has_max_samples()) c.max_samples = p.max_samples();
  c.alternative.ewaf = p.ewaf();
  if (p.has_p_model()) c.alternative.p_model = p.p_model();
  if (p.has_p_auditor()) c.alternative.p_auditor = p.p_auditor();
  c.alternative.model_grid.assign(p.model_grid().begin(), p.model_grid().end());
  c.alternative.auditor_grid.assign(p.auditor_grid().begin(), p.auditor_grid().end());
  if (p.has_eta()) c.alternative.eta = p.eta();
  if (p.has_cs_grid()) c.cs_grid = p.cs_grid();
  switch (p.cs_bet()) {
    case v1::CONFIDENCE_SEQUENCE_BET_UNSPECIFIED:
    case v1::CONFIDENCE_SEQUENCE_BET_PREDICTABLE_PLUG_IN:
      c.cs_bet = audit::CsBet::kPredictablePlugIn;
      break;
    case v1::CONFIDENCE_SEQUENCE_BET_AGRAPA:
      c.cs_bet = audit::CsBet::kAgrapa;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("config.cs_bet: unknown value ", static_cast<int>(p.cs_bet())));
  }
  const absl::Status valid = c.Validate();
  if (!valid.ok()) {
    // Core names fields as in its structs; the proto flattens `alternative.`.
    return absl::InvalidArgumentError(
        absl::StrCat("config.", absl::StrReplaceAll(valid.message(), {{"alternative.", ""}})));
  }
  return c;
}

v1::AuditConfig AuditConfigToProto(const audit::AuditConfig& c) {
  v1::AuditConfig p;
  p.set_tau(c.tau);
  p.set_alpha(c.alpha);
  p.set_budget(c.budget);
  p.set_method(c.method == audit::Method::kLr   ? v1::AUDIT_METHOD_LR
               : c.method == audit::Method::kSr ? v1::AUDIT_METHOD_SR
                                                : v1::AUDIT_METHOD_CUSUM);
  p.set_max_samples(c.max_samples);
  p.set_ewaf(c.alternative.ewaf);
  p.set_p_model(c.alternative.p_model);
  p.set_p_auditor(c.alternative.p_auditor);
  for (double g : c.alternative.model_grid) p.add_model_grid(g);
  for (double g : c.alternative.auditor_grid) p.add_auditor_grid(g);
  p.set_eta(c.alternative.eta);
  p.set_cs_grid(c.cs_grid);
  p.set_cs_bet(c.cs_bet == audit::CsBet::kAgrapa ? v1::CONFIDENCE_SEQUENCE_BET_AGRAPA
                                                 : v1::CONFIDENCE_SEQUENCE_BET_PREDICTABLE_PLUG_IN);
  return p;
}

}  // namespace assay::convert
