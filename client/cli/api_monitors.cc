// `assay monitors create|scores|status|list|watch`.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli/api_commands.h"
#include "client/cli/command_util.h"
#include "client/lib/api.h"
#include "client/lib/watch.h"
#include "core/base/status_macros.h"

namespace assay::client {

namespace {

std::string MonitorLine(const v1::Monitor& m) {
  return absl::StrFormat("monitor %s: t %d, e-value %.4g, alarms %d%s, recent accuracy %.3f",
                         m.id(), m.t(), m.e_value(), m.alarms(),
                         m.alarms() > 0 ? absl::StrCat(" (last at t ", m.last_alarm_t(), ")") : "",
                         m.recent_accuracy());
}

// An on_update callback for the watch helpers: prints `line(message)` (or the JSON) for each

}  // namespace

void ApiCommands::AddMonitorCommands(CLI::App& app) {
  Args& flags = *args_;
  CLI::App* group = app.add_subcommand("monitors", "Continuous monitors of deployed models");
  group->require_subcommand(1);
  CLI::App* sub = Add(*group, "create", "Create a monitor; prints it (its id first)",
                      [](const AssayClient& client, const Args& a) -> absl::Status {
                        v1::CreateMonitorRequest request;
                        request.set_display_name(a.name);
                        v1::MonitorConfig& c = *request.mutable_config();
                        if (!a.config.empty()) RETURN_IF_ERROR(ReadJsonMessage(a.config, c));
                        if (a.tau > 0) c.set_tau(a.tau);
                        if (a.alpha > 0) c.set_alpha(a.alpha);
                        if (a.cusum) c.set_cusum(true);
                        ASSIGN_OR_RETURN(auto m, MonitorsClient(client).CreateMonitor(request));
                        Print(FormatMessage(m, a.format));
                        return absl::OkStatus();
                      });
  sub->add_option("--name", flags.name, "display name");
  sub->add_option("--config", flags.config,
                  "MonitorConfig as JSON (file, or - for stdin); flags override");
  sub->add_option("--tau", flags.tau, "accuracy below which it alarms");
  sub->add_option("--alpha", flags.alpha, "false-alarm level");
  sub->add_flag("--cusum", flags.cusum, "CUSUM instead of Shiryaev-Roberts");
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "scores", "Submit scores (numbered from --first-t so a retry counts once)",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              ASSIGN_OR_RETURN(std::vector<double> scores, ParseNumbers(a.words, "score"));
              v1::SubmitScoresRequest request;
              request.set_monitor_id(a.id);
              request.set_first_t(a.first_t);
              for (double s : scores) request.add_scores(s);
              ASSIGN_OR_RETURN(auto r, MonitorsClient(client).SubmitScores(request));
              if (a.format == OutputFormat::kJson) return Print(FormatJson(r)), absl::OkStatus();
              absl::PrintF("%s%s\n", MonitorLine(r.monitor()),
                           r.alarm_ts().empty()
                               ? ""
                               : absl::StrCat("; alarms at t ", absl::StrJoin(r.alarm_ts(), ", ")));
              return absl::OkStatus();
            });
  sub->add_option("monitor", flags.id, "monitor id")->required();
  sub->add_option("scores", flags.words, "scores in [0,1]")->required();
  sub->add_option("--first-t", flags.first_t, "the first score's t (1-based); 0 = append");
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "status", "A monitor's state",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              ASSIGN_OR_RETURN(v1::Monitor m, MonitorsClient(client).GetMonitor(a.id));
              Print(FormatMessage(m, a.format));
              return absl::OkStatus();
            });
  sub->add_option("monitor", flags.id, "monitor id")->required();
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "list", "The team's monitors, newest first",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              ASSIGN_OR_RETURN(auto r, MonitorsClient(client).ListMonitors(a.limit));
              Table t{{"id", "name", "t", "e_value", "alarms", "recent_accuracy"}, {}};
              for (const v1::Monitor& m : r.monitors()) {
                t.rows.push_back({m.id(), m.display_name(), absl::StrCat(m.t()), Num(m.e_value()),
                                  absl::StrCat(m.alarms()), Num(m.recent_accuracy())});
              }
              PrintRows(r, t, a.format);
              return absl::OkStatus();
            });
  sub->add_option("--limit", flags.limit, "at most this many (default all)");
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "watch", "Follow a monitor: its state, then every committed batch",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              return WatchMonitor(client, a.id,
                                  PrintUpdates<v1::MonitorUpdate>(a.limit, a.format,
                                                                  [](const v1::MonitorUpdate& u) {
                                                                    return MonitorLine(u.monitor());
                                                                  }));
            });
  sub->add_option("monitor", flags.id, "monitor id")->required();
  sub->add_option("--limit", flags.limit, "stop after this many updates");
  AddFormatFlags(sub, flags.format);
}

}  // namespace assay::client
