// `assay audit replay`: runs an audit offline over a file of labels and prints one CSV row per
// label until the decision.
#ifndef ASSAY_CLIENT_CLI_AUDIT_COMMAND_H_
#define ASSAY_CLIENT_CLI_AUDIT_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "assay/v1/audit.pb.h"
#include "core/audit/audit.h"

namespace assay::client {

// An audit config file as the API takes it: v1::AuditConfig in proto JSON, e.g.
//   {"tau":0.85,"alpha":0.05,"budget":10,"method":"AUDIT_METHOD_SR","max_samples":250,
//    "ewaf":true,"model_grid":[0.6,0.7,0.8],"auditor_grid":[0.88,0.94],"eta":0.1}
// — what `assay audits create --config` sends and `assay audit replay` reads. The offline tool's
// old form (ParseAuditConfigJson below) is still read, for one release: it is converted, and
// `deprecation` (if not null) gets a line telling the user so, with the file in the API's form.
// InvalidArgument "NAME: ..." when the text is neither.
absl::StatusOr<v1::AuditConfig> ReadAuditConfig(absl::string_view text, absl::string_view name,
                                                std::string* deprecation);

// Deprecated (the offline tool's old form; read by ReadAuditConfig for one release):
//   {"tau":0.85,"alpha":0.05,"budget":10,"method":"lr"|"sr"|"cusum","max_samples":250,
//    "alternative":{"kind":"fixed","p_model":0.82,"p_auditor":0.90}}
//   or "alternative":{"kind":"ewaf","model_grid":[...],"auditor_grid":[...],"eta":0.1}
//   optional: "cs_grid":1000 (0 = no confidence sequence), "cs_bet":"predictable_plug_in"|"agrapa"
// Missing fields keep AuditConfig's defaults. InvalidArgument "NAME: FIELD: ..." for malformed
// JSON, wrong types, unknown fields, or a config that fails AuditConfig::Validate.
absl::StatusOr<audit::AuditConfig> ParseAuditConfigJson(absl::string_view text,
                                                        absl::string_view name);

struct AuditReplayArgs {
  std::string config;
  std::string labels;
};

CLI::App* AddAuditCommand(CLI::App& app, AuditReplayArgs& args);

// Prints `t,y,p_model,p_auditor,e_model,e_auditor,p_value_model,p_value_auditor,decision` rows to
// stdout. Errors name the file and line; on an error nothing is printed.
absl::Status RunAuditReplay(const AuditReplayArgs& args);

}  // namespace assay::client

#endif  // ASSAY_CLIENT_CLI_AUDIT_COMMAND_H_
