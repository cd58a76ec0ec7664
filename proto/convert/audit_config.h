// proto ⇄ core conversion of an audit's configuration: the one place that maps v1::AuditConfig
// (the API, and every config file the CLI reads) to audit::AuditConfig, used by the server and the
// offline `assay audit replay` alike.
#ifndef ASSAY_PROTO_CONVERT_AUDIT_CONFIG_H_
#define ASSAY_PROTO_CONVERT_AUDIT_CONFIG_H_

#include "absl/status/statusor.h"
#include "assay/v1/audit.pb.h"
#include "core/audit/audit.h"

namespace assay::convert {

// The proto config with every default filled in, converted to core (and back). InvalidArgument
// "config.FIELD: ..." for a config that does not validate.
absl::StatusOr<audit::AuditConfig> AuditConfigFromProto(const v1::AuditConfig& config);
v1::AuditConfig AuditConfigToProto(const audit::AuditConfig& config);

}  // namespace assay::convert

#endif  // ASSAY_PROTO_CONVERT_AUDIT_CONFIG_H_
