#include "client/cli/audit_command.h"

#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "client/import/csv.h"
#include "core/base/status_macros.h"
#include "proto/convert/audit_config.h"

namespace assay::client {
namespace {

using nlohmann::json;

absl::Status Bad(absl::string_view name, absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(name, ": ", field, ": ", what));
}

absl::Status GetNumber(const json& obj, const char* key, absl::string_view name,
                       absl::string_view prefix, double& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return absl::OkStatus();
  if (!it->is_number()) return Bad(name, absl::StrCat(prefix, key), "must be a number");
  out = it->get<double>();
  return absl::OkStatus();
}

absl::Status GetInt(const json& obj, const char* key, absl::string_view name, int& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return absl::OkStatus();
  if (!it->is_number_integer()) return Bad(name, key, "must be an integer");
  out = it->get<int>();
  return absl::OkStatus();
}

absl::Status GetGrid(const json& obj, const char* key, absl::string_view name,
                     std::vector<double>& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return absl::OkStatus();
  if (!it->is_array())
    return Bad(name, absl::StrCat("alternative.", key), "must be an array of numbers");
  out.clear();
  for (size_t k = 0; k < it->size(); ++k) {
    if (!(*it)[k].is_number())
      return Bad(name, absl::StrCat("alternative.", key, "[", k, "]"), "must be a number");
    out.push_back((*it)[k].get<double>());
  }
  return absl::OkStatus();
}

absl::Status CheckKeys(const json& obj, std::initializer_list<const char*> allowed,
                       absl::string_view name, absl::string_view prefix) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = false;
    for (const char* a : allowed) known = known || it.key() == a;
    if (!known) return Bad(name, absl::StrCat(prefix, it.key()), "unknown field");
  }
  return absl::OkStatus();
}

std::string Num(double v) { return absl::StrFormat("%.12g", v); }

absl::Status PrefixError(absl::string_view name, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(name, ": ", s.message()));
}

}  // namespace

absl::StatusOr<audit::AuditConfig> ParseAuditConfigJson(absl::string_view text,
                                                        absl::string_view name) {
  const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(name, ": not valid JSON"));
  if (!doc.is_object())
    return absl::InvalidArgumentError(absl::StrCat(name, ": must be a JSON object"));
  RETURN_IF_ERROR(CheckKeys(
      doc, {"tau", "alpha", "budget", "method", "max_samples", "alternative", "cs_grid", "cs_bet"},
      name, ""));
  audit::AuditConfig c;
  RETURN_IF_ERROR(GetNumber(doc, "tau", name, "", c.tau));
  RETURN_IF_ERROR(GetNumber(doc, "alpha", name, "", c.alpha));
  RETURN_IF_ERROR(GetInt(doc, "budget", name, c.budget));
  RETURN_IF_ERROR(GetInt(doc, "max_samples", name, c.max_samples));
  RETURN_IF_ERROR(GetInt(doc, "cs_grid", name, c.cs_grid));
  if (auto it = doc.find("cs_bet"); it != doc.end()) {
    if (!it->is_string() || (*it != "predictable_plug_in" && *it != "agrapa")) {
      return Bad(name, "cs_bet", "must be \"predictable_plug_in\" or \"agrapa\"");
    }
    c.cs_bet = *it == "agrapa" ? audit::CsBet::kAgrapa : audit::CsBet::kPredictablePlugIn;
  }
  if (auto it = doc.find("method"); it != doc.end()) {
    if (!it->is_string()) return Bad(name, "method", "must be \"lr\", \"sr\" or \"cusum\"");
    auto method = audit::ParseMethod(it->get<std::string>());
    if (!method.ok())
      return absl::InvalidArgumentError(absl::StrCat(name, ": ", method.status().message()));
    c.method = *method;
  }
  if (auto it = doc.find("alternative"); it != doc.end()) {
    const json& alt = *it;
    if (!alt.is_object()) return Bad(name, "alternative", "must be an object");
    auto kind = alt.find("kind");
    if (kind == alt.end() || !kind->is_string() || (*kind != "fixed" && *kind != "ewaf")) {
      return Bad(name, "alternative.kind", "must be \"fixed\" or \"ewaf\"");
    }
    c.alternative.ewaf = *kind == "ewaf";
    if (c.alternative.ewaf) {
      RETURN_IF_ERROR(
          CheckKeys(alt, {"kind", "model_grid", "auditor_grid", "eta"}, name, "alternative."));
      RETURN_IF_ERROR(GetGrid(alt, "model_grid", name, c.alternative.model_grid));
      RETURN_IF_ERROR(GetGrid(alt, "auditor_grid", name, c.alternative.auditor_grid));
      RETURN_IF_ERROR(GetNumber(alt, "eta", name, "alternative.", c.alternative.eta));
    } else {
      RETURN_IF_ERROR(CheckKeys(alt, {"kind", "p_model", "p_auditor"}, name, "alternative."));
      RETURN_IF_ERROR(GetNumber(alt, "p_model", name, "alternative.", c.alternative.p_model));
      RETURN_IF_ERROR(GetNumber(alt, "p_auditor", name, "alternative.", c.alternative.p_auditor));
    }
  }
  absl::Status valid = c.Validate();
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat(name, ": ", valid.message()));
  return c;
}

absl::StatusOr<v1::AuditConfig> ReadAuditConfig(absl::string_view text, absl::string_view name,
                                                std::string* deprecation) {
  v1::AuditConfig config;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &config);
  if (status.ok()) {
    RETURN_IF_ERROR(PrefixError(name, convert::AuditConfigFromProto(config).status()));
    return config;
  }
  absl::StatusOr<audit::AuditConfig> old = ParseAuditConfigJson(text, name);
  if (!old.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": not a valid AuditConfig: ",
                                                   std::string(status.message())));
  }
  config = convert::AuditConfigToProto(*old);
  if (deprecation != nullptr) {
    std::string api_form;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(config, &api_form, options);
    *deprecation = absl::StrCat(
        name, ": deprecated: the offline tool's old config form is read for one more release; "
              "write the API's form instead (what `assay audits create --config` takes): ",
        api_form);
  }
  return config;
}

CLI::App* AddAuditCommand(CLI::App& app, AuditReplayArgs& args) {
  CLI::App* audit = app.add_subcommand("audit", "Anytime-valid audits");
  audit->require_subcommand(1);
  CLI::App* replay = audit->add_subcommand("replay", "Run an audit offline over a file of labels");
  replay->footer(
      "LABELS has one label per line: 0/1 or a score in [0,1], optionally followed by ,subgroup. "
      "Prints t,y,p_model,p_auditor,e_model,e_auditor,p_value_model,p_value_auditor,decision per "
      "label and stops at the decision.");
  replay->add_option("--config", args.config, "audit config JSON")->required();
  replay->add_option("--labels", args.labels, "labels file")->required();
  return replay;
}

absl::Status RunAuditReplay(const AuditReplayArgs& args) {
  ASSIGN_OR_RETURN(std::string config_text, import::ReadFile(args.config));
  std::string deprecation;
  ASSIGN_OR_RETURN(const v1::AuditConfig api_config,
                   ReadAuditConfig(config_text, args.config, &deprecation));
  if (!deprecation.empty()) std::fprintf(stderr, "assay: %s\n", deprecation.c_str());
  ASSIGN_OR_RETURN(audit::AuditConfig config, convert::AuditConfigFromProto(api_config));
  ASSIGN_OR_RETURN(std::string labels_text, import::ReadFile(args.labels));
  // Parse every label first: a bad line fails the run before anything is printed.
  struct Label {
    double y;
    std::string subgroup;
  };
  std::vector<Label> labels;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(labels_text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits(',', 1));
    double y;
    const absl::string_view value = absl::StripAsciiWhitespace(parts[0]);
    if (!absl::SimpleAtod(value, &y) || !(y >= 0 && y <= 1)) {
      return absl::InvalidArgumentError(absl::StrCat(args.labels, ":", line_no, ": label '", value,
                                                     "' is not 0, 1 or a score in [0,1]"));
    }
    labels.push_back(
        {y, parts.size() > 1 ? std::string(absl::StripAsciiWhitespace(parts[1])) : ""});
  }
  ASSIGN_OR_RETURN(audit::Audit a, audit::Audit::Create(config));
  std::string out =
      "t,y,p_model,p_auditor,e_model,e_auditor,p_value_model,p_value_auditor,decision\n";
  for (const Label& label : labels) {
    ASSIGN_OR_RETURN(audit::Step s, a.Observe(label.y, label.subgroup));
    absl::StrAppend(&out, s.t, ",", Num(s.y), ",", Num(s.p_model), ",", Num(s.p_auditor), ",",
                    Num(s.e_model), ",", Num(s.e_auditor), ",", Num(s.p_value_model), ",",
                    Num(s.p_value_auditor), ",", audit::DecisionName(s.decision), "\n");
    if (s.decision != audit::Decision::kNone) break;
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return absl::OkStatus();
}

}  // namespace assay::client
