// `assay benchmarks create|list|get|items`, `assay upload`, `assay import`.
#include <cmath>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli/api_commands.h"
#include "client/cli/command_util.h"
#include "client/lib/api.h"
#include "client/lib/upload.h"
#include "core/base/status_macros.h"

namespace assay::client {

namespace {

std::string FormatSummary(const import::ImportResult& r, OutputFormat format) {
  Table table{{"source", "format", "model", "task", "metric", "samples", "accuracy",
               "reported_samples", "reported_accuracy", "reported_by", "skipped"},
              {}};
  for (const import::SourceSummary& s : r.sources) {
    std::vector<std::string> skipped;
    for (const auto& [reason, n] : s.skipped) skipped.push_back(absl::StrCat(n, " ", reason));
    table.rows.push_back({s.path, s.format, s.model, s.task, s.metric, absl::StrCat(s.samples),
                          Num(s.accuracy, 6),
                          s.reported_samples < 0 ? "" : absl::StrCat(s.reported_samples),
                          std::isnan(s.reported_accuracy) ? "" : Num(s.reported_accuracy, 6),
                          s.reported_by, absl::StrJoin(skipped, "; ")});
  }
  if (format == OutputFormat::kCsv) return FormatTable(table, format);
  if (format == OutputFormat::kJson) {
    std::string out = "{\"sources\": [";
    for (size_t i = 0; i < table.rows.size(); ++i) {
      std::vector<std::string> fields;
      for (size_t c = 0; c < table.header.size(); ++c) {
        const std::string& v = table.rows[i][c];
        char* end = nullptr;
        const bool number =
            c >= 5 && c <= 8 && !v.empty() && (std::strtod(v.c_str(), &end), *end == 0);
        fields.push_back(absl::StrCat("\"", table.header[c], "\": ",
                                      number ? v : absl::StrCat("\"", absl::CEscape(v), "\"")));
      }
      absl::StrAppend(&out, i ? ", " : "", "{", absl::StrJoin(fields, ", "), "}");
    }
    return absl::StrCat(out, "], \"models\": ", r.responses.num_models(),
                        ", \"items\": ", r.responses.num_items(),
                        ", \"cells\": ", r.responses.num_observed(), "}\n");
  }
  std::string out;
  for (const import::SourceSummary& s : r.sources) {
    absl::StrAppendFormat(&out, "%s\n  format   %s\n  model    %s\n  task     %s\n  metric   %s\n",
                          s.path, s.format, s.model, s.task, s.metric);
    absl::StrAppendFormat(&out, "  samples  %d, accuracy %.4f\n", s.samples, s.accuracy);
    if (!s.reported_by.empty()) {
      const bool differ = s.reported_samples >= 0 && s.reported_samples != s.samples;
      absl::StrAppendFormat(
          &out, "  log says %s samples, accuracy %s (%s)%s\n",
          s.reported_samples < 0 ? "?" : absl::StrCat(s.reported_samples),
          std::isnan(s.reported_accuracy) ? "?" : absl::StrFormat("%.4f", s.reported_accuracy),
          s.reported_by, differ ? "; this file holds a different number of samples" : "");
    }
    if (s.skipped.empty()) absl::StrAppend(&out, "  skipped  none\n");
    for (const auto& [reason, n] : s.skipped) {
      absl::StrAppendFormat(&out, "  skipped  %d: %s\n", n, reason);
    }
  }
  for (const std::string& f : r.ignored_files) absl::StrAppend(&out, "ignored  ", f, "\n");
  absl::StrAppendFormat(&out, "total: %d sources, %d models, %d items, %d cells\n",
                        r.sources.size(), r.responses.num_models(), r.responses.num_items(),
                        r.responses.num_observed());
  return out;
}

absl::Status Upload(const AssayClient& client, const std::string& benchmark_id,
                    const irt::ResponseMatrix& data) {
  ASSIGN_OR_RETURN(v1::UploadResponsesResponse up, UploadResponses(client, data, benchmark_id));
  absl::PrintF(
      "uploaded %d cells in %d chunks: %d added, %d changed, %d unchanged; benchmark now %d "
      "models x %d items, %d cells\n",
      up.cells(), up.chunks(), up.cells_added(), up.cells_changed(), up.cells_unchanged(),
      up.benchmark().num_models(), up.benchmark().num_items(), up.benchmark().num_cells());
  return absl::OkStatus();
}

}  // namespace

void ApiCommands::AddBenchmarkCommands(CLI::App& app) {
  Args& flags = *args_;
  CLI::App* group = app.add_subcommand("benchmarks", "Item banks and their responses");
  group->require_subcommand(1);
  CLI::App* sub =
      Add(*group, "create", "Create a benchmark; prints it (its id first)",
          [](const AssayClient& client, const Args& a) -> absl::Status {
            v1::CreateBenchmarkRequest request;
            request.set_name(a.name);
            request.set_description(a.description);
            ASSIGN_OR_RETURN(v1::Benchmark bm, BenchmarksClient(client).CreateBenchmark(request));
            Print(FormatMessage(bm, a.format));
            return absl::OkStatus();
          });
  sub->add_option("name", flags.name, "display name")->required();
  sub->add_option("--description", flags.description, "free text");
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "list", "The team's benchmarks, newest first",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              ASSIGN_OR_RETURN(v1::ListBenchmarksResponse r,
                               BenchmarksClient(client).ListBenchmarks(a.limit));
              Table t{{"id", "name", "models", "items", "cells", "current_fit", "created"}, {}};
              for (const v1::Benchmark& b : r.benchmarks()) {
                t.rows.push_back({b.id(), b.name(), absl::StrCat(b.num_models()),
                                  absl::StrCat(b.num_items()), absl::StrCat(b.num_cells()),
                                  b.current_fit_id(), Time(b.created_at())});
              }
              PrintRows(r, t, a.format);
              return absl::OkStatus();
            });
  sub->add_option("--limit", flags.limit, "at most this many (default all)");
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "get", "One benchmark",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              ASSIGN_OR_RETURN(v1::Benchmark bm, BenchmarksClient(client).GetBenchmark(a.id));
              Print(FormatMessage(bm, a.format));
              return absl::OkStatus();
            });
  sub->add_option("benchmark", flags.id, "benchmark id")->required();
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "items", "A benchmark's items and their tags",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              ASSIGN_OR_RETURN(v1::ListBenchmarkItemsResponse r,
                               BenchmarksClient(client).ListBenchmarkItems(a.id, a.limit));
              Table t{{"item", "tags"}, {}};
              for (const v1::BenchmarkItem& i : r.items()) {
                t.rows.push_back({i.id(), absl::StrJoin(i.tags(), " ")});
              }
              PrintRows(r, t, a.format);
              return absl::OkStatus();
            });
  sub->add_option("benchmark", flags.id, "benchmark id")->required();
  sub->add_option("--limit", flags.limit, "at most this many (default all)");
  AddFormatFlags(sub, flags.format);

  sub = Add(app, "upload", "Upload a response file or harness logs into a benchmark",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              ASSIGN_OR_RETURN(import::ImportResult r, Import(a));
              return Upload(client, a.id, r.responses);
            });
  sub->add_option("benchmark", flags.id, "benchmark id")->required();
  sub->add_option("path", flags.path,
                  "CSV, lm-eval / HELM / Inspect / Every Eval Ever log, or a directory")
      ->required();
  sub->add_option("--metric", flags.metric,
                  "per-sample metric or scorer (default: each log's primary)");
  sub->add_option("--model", flags.model, "model name for logs that do not give one");

  sub = Add(app, "import",
            "Read evaluation logs: --summary prints what they hold, --benchmark uploads",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              if (!a.summary && a.id.empty() && a.format == OutputFormat::kHuman) {
                return absl::InvalidArgumentError("import: give --summary or --benchmark ID");
              }
              ASSIGN_OR_RETURN(import::ImportResult r, Import(a));
              if (a.summary || a.format != OutputFormat::kHuman) Print(FormatSummary(r, a.format));
              return a.id.empty() ? absl::OkStatus() : Upload(client, a.id, r.responses);
            });
  sub->add_option("path", flags.path,
                  "CSV, lm-eval / HELM / Inspect / Every Eval Ever log, or a directory")
      ->required();
  sub->add_flag("--summary", flags.summary,
                "print format, metric, samples, models, items, skipped");
  sub->add_option("--benchmark", flags.id, "upload the cells into this benchmark");
  sub->add_option("--metric", flags.metric,
                  "per-sample metric or scorer (default: each log's primary)");
  sub->add_option("--model", flags.model, "model name for logs that do not give one");
  AddFormatFlags(sub, flags.format);
}

}  // namespace assay::client
