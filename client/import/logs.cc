#include "client/import/logs.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/import/csv.h"
#include "core/base/status_macros.h"

namespace assay::import {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const json kEmptyArray = json::array();  // iterated in place of a missing array (not a temporary)

// Collects cells by model and item name, and one source's tallies.
class Collector {
 public:
  // Adds one record of `value` in [0,1] for (model, item) to `source`.
  void Add(SourceSummary& source, const std::string& model, const std::string& item, double value) {
    cells_.push_back({Intern(models_, model_ids_, model), Intern(items_, item_ids_, item), value});
    ++source.samples;
    sum_ += value;
    source_models_.insert(model);
  }
  // Adds the record when `convert(value, why)` makes it a number in [0,1]; otherwise counts it
  // skipped under "LABEL: why".
  template <typename Convert>
  void AddValue(SourceSummary& source, const std::string& model, const std::string& item,
                const json& value, const std::string& label, Convert convert) {
    std::string why;
    if (const std::optional<double> x = convert(value, why)) {
      Add(source, model, item, *x);
    } else {
      ++source.skipped[absl::StrCat(label, ": ", why)];
    }
  }
  // Closes `source`: its accuracy and model name.
  void Finish(SourceSummary& source) {
    if (source.samples > 0) source.accuracy = sum_ / static_cast<double>(source.samples);
    if (source_models_.size() == 1) source.model = *source_models_.begin();
    if (source_models_.size() > 1) source.model = absl::StrCat(source_models_.size(), " models");
    sum_ = 0;
    source_models_.clear();
  }
  bool empty() const { return cells_.empty(); }
  absl::StatusOr<irt::ResponseMatrix> Build() {
    return irt::ResponseMatrix::FromCells(std::move(model_ids_), std::move(item_ids_),
                                          std::move(cells_));
  }

 private:
  static int32_t Intern(absl::flat_hash_map<std::string, int32_t>& index,
                        std::vector<std::string>& ids, const std::string& name) {
    auto [it, added] = index.try_emplace(name, static_cast<int32_t>(ids.size()));
    if (added) ids.push_back(name);
    return it->second;
  }

  absl::flat_hash_map<std::string, int32_t> models_, items_;
  std::vector<std::string> model_ids_, item_ids_;
  std::vector<irt::Cell> cells_;
  double sum_ = 0;
  std::set<std::string> source_models_;
};

absl::Status ErrorAt(const std::string& path, int64_t line, absl::string_view what) {
  return absl::InvalidArgumentError(line > 0 ? absl::StrCat(path, ":", line, ": ", what)
                                             : absl::StrCat(path, ": ", what));
}

absl::StatusOr<json> ParseJson(const std::string& text, const std::string& path, int64_t line) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    return ErrorAt(path, line, absl::StrCat("invalid JSON: ", e.what()));
  }
}

absl::StatusOr<json> ReadJsonFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseJson(text, path, 0);
}

// obj[key] as a string (numbers printed), or nullopt when absent / null / another type.
std::optional<std::string> StringField(const json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return std::nullopt;
}

const json* Member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

// A per-sample value as a number in [0,1]; nullopt (with `why` set) when it is not one.
std::optional<double> UnitValue(const json& v, std::string& why) {
  double x;
  if (v.is_boolean()) {
    x = v.get<bool>() ? 1.0 : 0.0;
  } else if (v.is_number()) {
    x = v.get<double>();
  } else {
    why = "value is not a number or boolean";
    return std::nullopt;
  }
  if (!std::isfinite(x) || x < 0 || x > 1) {
    why = "value outside [0,1]";
    return std::nullopt;
  }
  return x;
}

// Calls `line_fn(line_number, json)` for each non-blank line of a JSONL file.
template <typename Fn>
absl::Status ForEachJsonLine(const std::string& path, Fn line_fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (absl::StripAsciiWhitespace(text).empty()) continue;
    ASSIGN_OR_RETURN(json record, ParseJson(text, path, line));
    if (!record.is_object()) return ErrorAt(path, line, "expected a JSON object");
    RETURN_IF_ERROR(line_fn(line, record));
  }
  if (in.bad()) return absl::UnavailableError(absl::StrCat("cannot read '", path, "'"));
  return absl::OkStatus();
}

// ---- lm-evaluation-harness ----

// samples_TASK_2024-05-01T12-00-00.123456.jsonl -> TASK (the timestamp is optional).
std::string LmEvalTask(const fs::path& file) {
  std::string stem = file.stem().string();
  if (absl::StartsWith(stem, "samples_")) stem.erase(0, 8);
  const size_t cut = stem.rfind('_');
  if (cut != std::string::npos && cut + 5 < stem.size() &&
      absl::ascii_isdigit(static_cast<unsigned char>(stem[cut + 1])) && stem[cut + 5] == '-') {
    stem.erase(cut);
  }
  return stem;
}

// The results*.json beside `file` whose "results" has `task` (exactly, or as the only key that
// starts with it), and that key.
std::optional<std::pair<json, std::string>> LmEvalResults(const fs::path& file,
                                                          const std::string& task) {
  std::error_code ec;
  std::vector<fs::path> candidates;
  for (const auto& entry : fs::directory_iterator(file.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (absl::StartsWith(name, "results") && entry.path().extension() == ".json") {
      candidates.push_back(entry.path());
    }
  }
  std::sort(candidates.begin(), candidates.end());
  for (const fs::path& candidate : candidates) {
    absl::StatusOr<json> doc = ReadJsonFile(candidate.string());
    const json* results = doc.ok() ? Member(*doc, "results") : nullptr;
    if (results == nullptr || !results->is_object()) continue;
    if (results->contains(task)) return std::make_pair(*std::move(doc), task);
    std::vector<std::string> prefixed;
    for (const auto& [key, value] : results->items()) {
      if (absl::StartsWith(key, task)) prefixed.push_back(key);
    }
    if (prefixed.size() == 1) return std::make_pair(*std::move(doc), prefixed[0]);
  }
  return std::nullopt;
}

absl::Status ImportLmEval(const fs::path& file, const ImportOptions& options, Collector& collector,
                          SourceSummary& source) {
  const std::string path = file.string();
  source.format = "lm-eval";
  source.task = LmEvalTask(file);
  auto results = LmEvalResults(file, source.task);
  std::string model = options.model;
  if (model.empty() && results) {
    model = StringField(results->first, "model_name").value_or("");
    const json* config = Member(results->first, "config");
    if (model.empty() && config != nullptr) {
      for (absl::string_view arg :
           absl::StrSplit(StringField(*config, "model_args").value_or(""), ',')) {
        if (absl::ConsumePrefix(&arg, "pretrained=")) model = std::string(arg);
      }
    }
  }
  if (model.empty()) {
    return ErrorAt(path, 0,
                   "the log does not name its model (no results*.json beside it): pass --model");
  }
  std::string filter;
  RETURN_IF_ERROR(ForEachJsonLine(path, [&](int64_t line, const json& sample) -> absl::Status {
    const std::optional<std::string> doc_id = StringField(sample, "doc_id");
    if (!doc_id) return ErrorAt(path, line, "field 'doc_id' missing or not a string/integer");
    const std::string this_filter = StringField(sample, "filter").value_or("none");
    if (filter.empty()) filter = this_filter;
    if (this_filter != filter) {
      ++source.skipped[absl::StrCat("filter '", this_filter, "' (using '", filter, "')")];
      return absl::OkStatus();
    }
    std::string metric = options.metric;
    if (const json* metrics = Member(sample, "metrics"); metric.empty() && metrics != nullptr &&
                                                         metrics->is_array() && !metrics->empty() &&
                                                         (*metrics)[0].is_string()) {
      metric = (*metrics)[0].get<std::string>();
    }
    if (source.metric.empty()) source.metric = metric;
    const json* value = metric.empty() ? nullptr : Member(sample, metric.c_str());
    if (value == nullptr) {
      ++source.skipped[absl::StrCat("no value for metric '", metric, "'")];
      return absl::OkStatus();
    }
    collector.AddValue(source, model, absl::StrCat(source.task, "/", *doc_id), *value, metric,
                       UnitValue);
    return absl::OkStatus();
  }));
  if (results) {
    const auto& [doc, key] = *results;
    source.reported_by = absl::StrCat("results.json '", key, "'");
    const json* task_results = Member(doc["results"], key.c_str());
    const std::string metric_key = absl::StrCat(source.metric, ",", filter);
    if (const json* v = task_results ? Member(*task_results, metric_key.c_str()) : nullptr;
        v != nullptr && v->is_number()) {
      source.reported_accuracy = v->get<double>();
    }
    if (const json* n = Member(doc, "n-samples"); n != nullptr && n->contains(key)) {
      if (const json* effective = Member((*n)[key], "effective");
          effective != nullptr && effective->is_number_integer()) {
        source.reported_samples = effective->get<int64_t>();
      }
    }
  }
  if (!filter.empty() && filter != "none") source.metric += absl::StrCat(" (filter ", filter, ")");
  return absl::OkStatus();
}

// ---- HELM ----

// The run's own totals from HELM's stats.json, if it is there: per split, the metric's mean and
// num_instances (unperturbed entries only); the reported accuracy is the instance-weighted mean
// over the splits, as the per-instance file mixes them.
absl::Status ReadHelmTotals(const fs::path& totals_file, SourceSummary& source) {
  std::error_code ec;
  if (!fs::exists(totals_file, ec)) return absl::OkStatus();
  const std::string path = totals_file.string();
  ASSIGN_OR_RETURN(json totals, ReadJsonFile(path));
  if (!totals.is_array()) return ErrorAt(path, 0, "expected a JSON array of statistics");
  std::map<std::string, double> mean, instances;  // by split
  for (const json& stat : totals) {
    const json* name = Member(stat, "name");
    const json* value = Member(stat, "mean");
    if (!name || Member(*name, "perturbation") || !value || !value->is_number()) continue;
    const std::string split = StringField(*name, "split").value_or("");
    const std::optional<std::string> what = StringField(*name, "name");
    if (what == source.metric) mean[split] = value->get<double>();
    if (what == "num_instances") instances[split] = value->get<double>();
  }
  double n = 0, correct = 0;
  std::vector<std::string> splits;
  for (const auto& [split, m] : mean) {
    const auto it = instances.find(split);
    if (it == instances.end()) continue;
    n += it->second;
    correct += m * it->second;
    splits.push_back(absl::StrCat(split, " ", it->second));
  }
  if (splits.empty()) return absl::OkStatus();
  source.reported_by = absl::StrCat("stats.json (", absl::StrJoin(splits, ", "), ")");
  source.reported_samples = static_cast<int64_t>(std::llround(n));
  source.reported_accuracy = correct / n;
  return absl::OkStatus();
}

absl::Status ImportHelm(const fs::path& stats_file, const ImportOptions& options,
                        Collector& collector, SourceSummary& source) {
  const fs::path dir = stats_file.parent_path();
  source.path = dir.string();
  source.format = "helm";
  const std::string spec_path = (dir / "run_spec.json").string();
  ASSIGN_OR_RETURN(json spec, ReadJsonFile(spec_path));
  const json* adapter = Member(spec, "adapter_spec");
  const std::string model = adapter ? StringField(*adapter, "model").value_or("") : "";
  if (model.empty()) return ErrorAt(spec_path, 0, "adapter_spec.model missing");
  // The task: the run name without its model= part.
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(StringField(spec, "name").value_or(""), ',')) {
    if (!absl::StartsWith(part, "model=")) parts.emplace_back(part);
  }
  source.task = absl::StrJoin(parts, ",");
  if (source.task.empty()) source.task = dir.filename().string();
  source.metric = options.metric;
  if (const json* specs = Member(spec, "metric_specs"); source.metric.empty() && specs) {
    for (const json& metric_spec : *specs) {
      const json* args = Member(metric_spec, "args");
      const json* names = args ? Member(*args, "names") : nullptr;
      if (names && names->is_array() && !names->empty() && (*names)[0].is_string()) {
        source.metric = (*names)[0].get<std::string>();
        break;
      }
    }
  }
  if (source.metric.empty()) source.metric = "exact_match";

  const std::string path = stats_file.string();
  ASSIGN_OR_RETURN(json instances, ReadJsonFile(path));
  if (!instances.is_array()) return ErrorAt(path, 0, "expected a JSON array of instances");
  for (size_t i = 0; i < instances.size(); ++i) {
    const json& instance = instances[i];
    const std::optional<std::string> id = StringField(instance, "instance_id");
    if (!id) return ErrorAt(path, 0, absl::StrCat("instance ", i, ": 'instance_id' missing"));
    if (Member(instance, "perturbation") != nullptr) {
      ++source.skipped["perturbed instance"];
      continue;
    }
    const json* stats = Member(instance, "stats");
    const json* found = nullptr;
    for (const json& stat : stats && stats->is_array() ? *stats : kEmptyArray) {
      const json* name = Member(stat, "name");
      if (name && StringField(*name, "name") == source.metric &&
          Member(*name, "perturbation") == nullptr) {
        found = &stat;
        break;
      }
    }
    const json* count = found ? Member(*found, "count") : nullptr;
    const json* sum = found ? Member(*found, "sum") : nullptr;
    if (!count || !sum || !count->is_number() || !sum->is_number() || count->get<double>() <= 0) {
      ++source.skipped[absl::StrCat("no value for metric '", source.metric, "'")];
      continue;
    }
    collector.AddValue(source, model, absl::StrCat(source.task, "/", *id),
                       json(sum->get<double>() / count->get<double>()), source.metric, UnitValue);
  }
  return ReadHelmTotals(dir / "stats.json", source);
}

// ---- Inspect AI ----

// An Inspect score value as a number in [0,1]: C/I/P/N (Inspect's CORRECT, INCORRECT, PARTIAL,
// NOANSWER), booleans, numbers.
std::optional<double> InspectValue(const json& v, std::string& why) {
  if (v.is_string()) {
    const std::string s = absl::AsciiStrToUpper(v.get<std::string>());
    if (s == "C" || s == "YES" || s == "TRUE") return 1.0;
    if (s == "I" || s == "N" || s == "NO" || s == "FALSE") return 0.0;
    if (s == "P") return 0.5;
    why = "value is not C/I/P/N or a number";
    return std::nullopt;
  }
  return UnitValue(v, why);
}

absl::Status ImportInspect(const std::string& path, const json& log, const ImportOptions& options,
                           Collector& collector, SourceSummary& source) {
  source.format = "inspect";
  const json& eval = log["eval"];
  const std::string model = StringField(eval, "model").value_or("");
  if (model.empty()) return ErrorAt(path, 0, "eval.model missing");
  source.task = StringField(eval, "task").value_or("");
  if (source.task.empty()) return ErrorAt(path, 0, "eval.task missing");
  const json* reported = nullptr;  // results.scores[i] of the scorer used
  if (const json* results = Member(log, "results")) {
    const json* scores = Member(*results, "scores");
    for (const json& score : scores && scores->is_array() ? *scores : kEmptyArray) {
      const std::string name = StringField(score, "name").value_or("");
      if (options.metric.empty() ? reported == nullptr : name == options.metric) {
        reported = &score;
        source.metric = name;
      }
    }
  }
  if (!options.metric.empty()) source.metric = options.metric;
  const json* samples = Member(log, "samples");
  if (samples == nullptr || !samples->is_array()) return ErrorAt(path, 0, "'samples' missing");
  for (size_t i = 0; i < samples->size(); ++i) {
    const json& sample = (*samples)[i];
    const std::optional<std::string> id = StringField(sample, "id");
    if (!id) return ErrorAt(path, 0, absl::StrCat("samples[", i, "]: 'id' missing"));
    if (Member(sample, "error") != nullptr) {
      ++source.skipped["sample ended with an error"];
      continue;
    }
    const json* scores = Member(sample, "scores");
    if (source.metric.empty() && scores && scores->is_object() && !scores->empty()) {
      source.metric = scores->begin().key();
    }
    const json* score = scores ? Member(*scores, source.metric.c_str()) : nullptr;
    const json* value = score ? Member(*score, "value") : nullptr;
    if (value == nullptr) {
      ++source.skipped[absl::StrCat("not scored by '", source.metric, "'")];
      continue;
    }
    collector.AddValue(source, model, absl::StrCat(source.task, "/", *id), *value, source.metric,
                       InspectValue);
  }
  if (reported != nullptr) {
    source.reported_by = absl::StrCat("results.scores '", source.metric, "'");
    if (const json* n = Member(*reported, "scored_samples"); n && n->is_number_integer()) {
      source.reported_samples = n->get<int64_t>();
    }
    const json* metrics = Member(*reported, "metrics");
    for (const char* name : {"accuracy", "mean"}) {
      const json* metric = metrics ? Member(*metrics, name) : nullptr;
      const json* value = metric ? Member(*metric, "value") : nullptr;
      if (value && value->is_number()) {
        source.reported_accuracy = value->get<double>();
        break;
      }
    }
  }
  return absl::OkStatus();
}

// ---- Every Eval Ever (instance-level JSONL) ----

absl::Status ImportEveryEvalEver(const std::string& path, const ImportOptions& options,
                                 Collector& collector, SourceSummary& source) {
  source.format = "every-eval-ever";
  source.metric = options.metric.empty() ? "is_correct" : options.metric;
  if (source.metric != "is_correct" && source.metric != "score") {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": metric '", source.metric, "' is not one of is_correct, score (Every Eval Ever)"));
  }
  std::set<std::string> tasks;
  RETURN_IF_ERROR(ForEachJsonLine(path, [&](int64_t line, const json& record) -> absl::Status {
    const std::optional<std::string> model = StringField(record, "model_id");
    const std::optional<std::string> task = StringField(record, "evaluation_name");
    const std::optional<std::string> sample = StringField(record, "sample_id");
    using Field = std::pair<const char*, const std::optional<std::string>*>;
    for (const auto& [field, value] : {Field{"model_id", &model}, Field{"evaluation_name", &task},
                                       Field{"sample_id", &sample}}) {
      if (!*value || (*value)->empty()) {
        return ErrorAt(path, line, absl::StrCat("field '", field, "' missing or empty"));
      }
    }
    const json* evaluation = Member(record, "evaluation");
    const json* value = evaluation ? Member(*evaluation, source.metric.c_str()) : nullptr;
    if (value == nullptr) {
      ++source.skipped[absl::StrCat("no evaluation.", source.metric)];
      return absl::OkStatus();
    }
    tasks.insert(*task);
    collector.AddValue(source, *model, absl::StrCat(*task, "/", *sample), *value,
                       absl::StrCat("evaluation.", source.metric), UnitValue);
    return absl::OkStatus();
  }));
  source.task = tasks.size() == 1 ? *tasks.begin() : absl::StrCat(tasks.size(), " tasks");
  return absl::OkStatus();
}

// ---- detection ----

enum class Kind { kNone, kCsv, kLmEval, kHelm, kInspect, kEveryEvalEver };

// The first non-blank line of a text file (up to 1 MiB), for sniffing JSONL.
std::string FirstLine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StripAsciiWhitespace(line).empty()) break;
  }
  return line;
}

// A file read beside a log rather than on its own: lm-eval's results*.json, the files of a HELM
// run directory.
bool IsCompanion(const fs::path& file) {
  const std::string name = file.filename().string();
  std::error_code ec;
  return (absl::StartsWith(name, "results") && file.extension() == ".json") ||
         fs::exists(file.parent_path() / "per_instance_stats.json", ec);
}

// Which importer reads `file`; `why` says why none does. `inspect_log` receives an Inspect log
// (parsed while sniffing, so it is read once).
Kind Detect(const fs::path& file, std::string& why, json& inspect_log) {
  const std::string name = file.filename().string();
  const std::string ext = file.extension().string();
  if (name == "per_instance_stats.json") return Kind::kHelm;
  if (ext == ".csv") return Kind::kCsv;
  if (ext == ".eval") {
    why = "Inspect binary log: convert it with `inspect log convert --to json`";
    return Kind::kNone;
  }
  if (ext == ".jsonl") {
    json first = json::parse(FirstLine(file.string()), nullptr, false);
    if (first.is_object() && first.contains("schema_version") && first.contains("evaluation")) {
      return Kind::kEveryEvalEver;
    }
    if (first.is_object() && first.contains("doc_id")) return Kind::kLmEval;
    why = "JSONL that is neither lm-eval samples nor Every Eval Ever instances";
    return Kind::kNone;
  }
  if (ext == ".json") {
    absl::StatusOr<json> doc = ReadJsonFile(file.string());
    if (doc.ok() && doc->is_object() && doc->contains("eval") && doc->contains("samples")) {
      inspect_log = *std::move(doc);
      return Kind::kInspect;
    }
    why = "JSON that is not an Inspect eval log";
    return Kind::kNone;
  }
  why = "not a recognized log";
  return Kind::kNone;
}

}  // namespace

absl::StatusOr<ImportResult> ImportResponses(const std::string& path,
                                             const ImportOptions& options) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::vector<fs::path> files;
  const bool directory = fs::is_directory(status);
  if (directory) {
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file()) files.push_back(it->path());
    }
    if (ec) return absl::UnavailableError(absl::StrCat("cannot list '", path, "': ", ec.message()));
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }

  Collector collector;
  std::vector<SourceSummary> sources;
  std::vector<std::string> ignored;
  for (const fs::path& file : files) {
    std::string why;
    json inspect_log;
    const Kind kind = Detect(file, why, inspect_log);
    if (kind == Kind::kCsv && !directory) {  // a CSV matrix is read as a whole
      ASSIGN_OR_RETURN(irt::ResponseMatrix matrix, ReadResponsesCsv(file.string()));
      SourceSummary source;
      source.path = file.string();
      source.format = "csv";
      source.metric = "cell";
      source.model = absl::StrCat(matrix.num_models(), " models");
      source.samples = matrix.num_observed();
      source.accuracy = matrix.model_successes().sum() / matrix.model_trials().sum();
      return ImportResult{std::move(matrix), {std::move(source)}, {}};
    }
    if (kind == Kind::kNone && directory && IsCompanion(file)) continue;
    if (kind == Kind::kNone || kind == Kind::kCsv) {
      if (kind == Kind::kCsv) why = "CSV matrices are imported one file at a time";
      if (!directory) {
        return absl::InvalidArgumentError(
            absl::StrCat(file.string(), ": cannot tell the format: ", why));
      }
      ignored.push_back(absl::StrCat(file.string(), ": ", why));
      continue;
    }
    SourceSummary source;
    source.path = file.string();
    switch (kind) {
      case Kind::kLmEval:
        RETURN_IF_ERROR(ImportLmEval(file, options, collector, source));
        break;
      case Kind::kHelm:
        RETURN_IF_ERROR(ImportHelm(file, options, collector, source));
        break;
      case Kind::kInspect:
        RETURN_IF_ERROR(ImportInspect(source.path, inspect_log, options, collector, source));
        break;
      case Kind::kEveryEvalEver:
        RETURN_IF_ERROR(ImportEveryEvalEver(source.path, options, collector, source));
        break;
      default:
        break;
    }
    collector.Finish(source);
    sources.push_back(std::move(source));
  }
  if (sources.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no evaluation logs found under '", path, "'"));
  }
  if (collector.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no record could be used (every record was skipped)"));
  }
  ASSIGN_OR_RETURN(irt::ResponseMatrix matrix, collector.Build());
  return ImportResult{std::move(matrix), std::move(sources), std::move(ignored)};
}

}  // namespace assay::import
