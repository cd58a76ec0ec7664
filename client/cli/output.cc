#include "client/cli/output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace assay::client {
namespace {

namespace pb = google::protobuf;

bool LooksNumeric(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

std::string Json(const pb::Message& message, bool pretty) {
  pb::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)pb::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string ScalarText(const pb::Message& m, const pb::FieldDescriptor* f, int index) {
  const pb::Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return Num(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f), 6);
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return Num(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f), 6);
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false";
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return (rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f))->name();
    case pb::FieldDescriptor::CPPTYPE_STRING:
      return rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      return Json(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f), false);
  }
  return "";
}

}  // namespace

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string Num(double value, int digits) { return absl::StrFormat("%.*g", digits, value); }

std::string Time(int64_t unix_seconds) {
  if (unix_seconds == 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", absl::FromUnixSeconds(unix_seconds),
                          absl::LocalTimeZone());
}

std::string FormatTable(const Table& table, OutputFormat format) {
  std::string out;
  if (format == OutputFormat::kCsv) {
    auto csv_line = [&](const std::vector<std::string>& cells) {
      std::vector<std::string> fields;
      for (const std::string& s : cells) fields.push_back(CsvField(s));
      absl::StrAppend(&out, absl::StrJoin(fields, ","), "\n");
    };
    csv_line(table.header);
    for (const auto& row : table.rows) csv_line(row);
    return out;
  }
  std::vector<size_t> width(table.header.size(), 0);
  std::vector<bool> numeric(table.header.size(), !table.rows.empty());
  for (size_t c = 0; c < table.header.size(); ++c) width[c] = table.header[c].size();
  for (const auto& row : table.rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
      if (!row[c].empty() && !LooksNumeric(row[c])) numeric[c] = false;
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < cells.size() && c < width.size(); ++c) {
      const std::string pad(width[c] - cells[c].size(), ' ');
      if (c > 0) text += "  ";
      text += numeric[c] ? pad + cells[c] : cells[c] + (c + 1 < cells.size() ? pad : "");
    }
    absl::StrAppend(&out, text, "\n");
  };
  line(table.header);
  for (const auto& row : table.rows) line(row);
  return out;
}

std::string FormatJson(const pb::Message& message) { return Json(message, true); }

namespace {

// A field's value for a person: times (int64 `*_at`, Unix seconds) as ISO 8601 in local time,
// durations (double `seconds` / `*_seconds`) with their unit, the rest as ScalarText.
std::string HumanText(const pb::Message& m, const pb::FieldDescriptor* f, int index) {
  const pb::Reflection* r = m.GetReflection();
  const std::string& name = f->name();
  if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT64 && absl::EndsWith(name, "_at")) {
    return Time(f->is_repeated() ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
  }
  if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE &&
      (name == "seconds" || absl::EndsWith(name, "_seconds"))) {
    const double v = f->is_repeated() ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f);
    return absl::StrCat(Num(v, 4), " s");
  }
  return ScalarText(m, f, index);
}

// Key/value rows of `message`, nested messages flattened as "parent.child" (repeated ones and
// maps stay compact JSON).
void AddRows(const pb::Message& message, const std::string& prefix,
             std::vector<std::vector<std::string>>& rows) {
  const pb::Descriptor* d = message.GetDescriptor();
  const pb::Reflection* r = message.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const std::string key = prefix + f->name();
    if (f->is_repeated()) {
      std::vector<std::string> parts;
      for (int k = 0; k < r->FieldSize(message, f); ++k) parts.push_back(HumanText(message, f, k));
      if (!parts.empty()) rows.push_back({key, absl::StrJoin(parts, ", ")});
      continue;
    }
    if (f->has_presence() && !r->HasField(message, f)) continue;
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      AddRows(r->GetMessage(message, f), key + ".", rows);
      continue;
    }
    std::string value = HumanText(message, f, 0);
    if (!value.empty()) rows.push_back({key, std::move(value)});
  }
}

}  // namespace

std::string FormatMessage(const pb::Message& message, OutputFormat format) {
  if (format == OutputFormat::kJson) return FormatJson(message);
  std::vector<std::vector<std::string>> rows;
  AddRows(message, "", rows);
  std::string out;
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row[0].size());
  for (const auto& row : rows) {
    absl::StrAppend(&out, row[0], std::string(width + 2 - row[0].size(), ' '), row[1], "\n");
  }
  return out;
}

}  // namespace assay::client
