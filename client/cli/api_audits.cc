// `assay audits create|list|status|case|label|void|watch`.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli/api_commands.h"
#include "client/cli/audit_command.h"
#include "client/cli/command_util.h"
#include "client/lib/api.h"
#include "client/lib/watch.h"
#include "core/base/status_macros.h"

namespace assay::client {

namespace {

std::string AuditLine(const v1::Audit& a) {
  return absl::StrFormat(
      "audit %s rev %d: %d tested of %d handed out, e_model %.4g, e_auditor %.4g, accuracy in "
      "[%.3f, %.3f], decision %s",
      a.id(), a.revision(), a.tested(), a.handed_out(), a.e_model(), a.e_auditor(),
      a.accuracy_lower(), a.accuracy_upper(), Decision(a.decision()));
}

}  // namespace

void ApiCommands::AddAuditCommands(CLI::App& app) {
  Args& flags = *args_;
  CLI::App* group = app.add_subcommand("audits", "Anytime-valid audits (testing by betting)");
  group->require_subcommand(1);
  CLI::App* sub = Add(*group, "create", "Create an audit; prints it (its id first)",
                      [](const AssayClient& client, const Args& a) -> absl::Status {
                        v1::CreateAuditRequest request;
                        request.set_display_name(a.name);
                        v1::AuditConfig& c = *request.mutable_config();
                        if (!a.config.empty()) {
                          std::string deprecation;
                          ASSIGN_OR_RETURN(const std::string text, ReadText(a.config));
                          ASSIGN_OR_RETURN(c, ReadAuditConfig(text, a.config, &deprecation));
                          if (!deprecation.empty())
                            (void)std::fprintf(stderr, "assay: %s\n", deprecation.c_str());
                        }
                        if (a.tau > 0) c.set_tau(a.tau);
                        if (a.alpha > 0) c.set_alpha(a.alpha);
                        if (a.budget > 0) c.set_budget(a.budget);
                        if (a.max_samples > 0) c.set_max_samples(a.max_samples);
                        if (!a.method.empty()) {
                          ASSIGN_OR_RETURN(auto method, EnumArg<v1::AuditMethod>(
                                                            "AUDIT_METHOD_", "--method", a.method));
                          c.set_method(method);
                        }
                        ASSIGN_OR_RETURN(auto audit, AuditsClient(client).CreateAudit(request));
                        Print(FormatMessage(audit, a.format));
                        return absl::OkStatus();
                      });
  sub->add_option("--name", flags.name, "display name");
  sub->add_option("--config", flags.config,
                  "AuditConfig as the API's JSON, as `assay audit replay` reads it (file, or - for "
                  "stdin); flags override");
  sub->add_option("--tau", flags.tau, "success-rate threshold tested");
  sub->add_option("--alpha", flags.alpha, "type-I error level");
  sub->add_option("--budget", flags.budget, "change-point budget m (SR, CUSUM)");
  sub->add_option("--method", flags.method, "sr (default), lr, cusum");
  sub->add_option("--max-samples", flags.max_samples, "labels after which it ends inconclusive");
  AddFormatFlags(sub, flags.format);

  sub = Add(
      *group, "list", "The team's audits, newest first",
      [](const AssayClient& client, const Args& a) -> absl::Status {
        ASSIGN_OR_RETURN(auto r, AuditsClient(client).ListAudits(a.limit));
        Table t{{"id", "name", "tested", "outstanding", "e_model", "e_auditor", "decision"}, {}};
        for (const v1::Audit& x : r.audits()) {
          t.rows.push_back({x.id(), x.display_name(), absl::StrCat(x.tested()),
                            absl::StrCat(x.outstanding()), Num(x.e_model()), Num(x.e_auditor()),
                            Decision(x.decision())});
        }
        PrintRows(r, t, a.format);
        return absl::OkStatus();
      });
  sub->add_option("--limit", flags.limit, "at most this many (default all)");
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "status", "An audit's statistics, p-values, confidence sequence, decision",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              ASSIGN_OR_RETURN(v1::Audit audit, AuditsClient(client).GetAudit(a.id));
              Print(FormatMessage(audit, a.format));
              return absl::OkStatus();
            });
  sub->add_option("audit", flags.id, "audit id")->required();
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "case", "Hand out cases (their bets are fixed now)",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              v1::HandOutCasesRequest request;
              request.set_audit_id(a.id);
              for (const std::string& id : a.words) {
                v1::CaseToHandOut* c = request.add_cases();
                c->set_case_id(id);
                c->set_subgroup(a.subgroup);
              }
              ASSIGN_OR_RETURN(auto r, AuditsClient(client).HandOutCases(request));
              Table t{{"case", "p_model", "p_auditor"}, {}};
              for (const v1::HandedOutCase& c : r.cases()) {
                t.rows.push_back({c.case_id(), Num(c.p_model()), Num(c.p_auditor())});
              }
              PrintRows(r, t, a.format);
              return absl::OkStatus();
            });
  sub->add_option("audit", flags.id, "audit id")->required();
  sub->add_option("cases", flags.words, "case ids (yours; unique within the audit)")->required();
  sub->add_option("--subgroup", flags.subgroup, "subgroup of these cases");
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "label", "Submit a handed-out case's label",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              v1::SubmitLabelRequest request;
              request.set_audit_id(a.id);
              request.set_case_id(a.id2);
              request.set_y(a.y);
              ASSIGN_OR_RETURN(auto r, AuditsClient(client).SubmitLabel(request));
              if (a.format == OutputFormat::kJson) return Print(FormatJson(r)), absl::OkStatus();
              absl::PrintF("case %s labelled%s: %d steps merged, decision %s\n", r.case_id(),
                           r.duplicate() ? " (duplicate, counted once)" : "", r.merged_size(),
                           Decision(r.decision()));
              return absl::OkStatus();
            });
  sub->add_option("audit", flags.id, "audit id")->required();
  sub->add_option("case", flags.id2, "case id")->required();
  sub->add_option("y", flags.y, "1 success, 0 failure, or a score in [0,1]")->required();
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "void", "Void a handed-out, unlabelled case",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              v1::VoidCaseRequest request;
              request.set_audit_id(a.id);
              request.set_case_id(a.id2);
              ASSIGN_OR_RETURN(auto r, AuditsClient(client).VoidCase(request));
              Print(FormatMessage(r, a.format));
              return absl::OkStatus();
            });
  sub->add_option("audit", flags.id, "audit id")->required();
  sub->add_option("case", flags.id2, "case id")->required();
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "watch", "Follow an audit: its state, then every change, until decided",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              return WatchAudit(
                  client, a.id,
                  PrintUpdates<v1::AuditUpdate>(a.limit, a.format, [](const v1::AuditUpdate& u) {
                    return AuditLine(u.audit());
                  }));
            });
  sub->add_option("audit", flags.id, "audit id")->required();
  sub->add_option("--limit", flags.limit, "stop after this many updates");
  AddFormatFlags(sub, flags.format);
}

}  // namespace assay::client
