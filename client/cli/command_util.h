// What the API command groups (api_*.cc) share: printing replies, the --json/--csv flags, enum
// flags by short name, reading input files, and the importers' options from the flags.
#ifndef ASSAY_CLIENT_CLI_COMMAND_UTIL_H_
#define ASSAY_CLIENT_CLI_COMMAND_UTIL_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "assay/v1/audit.pb.h"
#include "client/cli/api_commands.h"
#include "client/cli/output.h"
#include "client/import/logs.h"

namespace assay::client {

using Args = ApiCommands::Args;

// Writes `text` to stdout as it is.
void Print(const std::string& text);

// Adds --json and --csv to `sub`, setting `format`.
void AddFormatFlags(CLI::App* sub, OutputFormat& format);

// The reply as JSON (kJson), or `table` aligned / as CSV.
void PrintRows(const google::protobuf::Message& reply, const Table& table, OutputFormat format);

// An enum value from a short lowercase name: "rank" -> ABILITY_SORT_RANK. InvalidArgument naming
// `flag` and the accepted names otherwise.
template <typename Enum>
absl::StatusOr<Enum> EnumArg(const std::string& prefix, const std::string& flag,
                             const std::string& value) {
  const google::protobuf::EnumDescriptor* d = google::protobuf::GetEnumDescriptor<Enum>();
  const google::protobuf::EnumValueDescriptor* v =
      d->FindValueByName(prefix + absl::AsciiStrToUpper(absl::StrReplaceAll(value, {{"-", "_"}})));
  if (v == nullptr || v->number() == 0) {
    std::vector<std::string> names;
    for (int i = 1; i < d->value_count(); ++i) {
      names.push_back(absl::AsciiStrToLower(d->value(i)->name().substr(prefix.size())));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", value, "' is not one of ", absl::StrJoin(names, ", ")));
  }
  return static_cast<Enum>(v->number());
}

// A file's text ("-" = stdin).
absl::StatusOr<std::string> ReadText(const std::string& path);

// Reads a message from proto JSON in a file ("-" = stdin); InvalidArgument naming the file.
absl::Status ReadJsonMessage(const std::string& path, google::protobuf::Message& message);

// An audit decision's short name ("continue", "failure_mode_found", ...).
std::string Decision(v1::Decision d);

// The responses at a.path (a CSV, harness logs or a directory), read with --metric and --model.
absl::StatusOr<import::ImportResult> Import(const Args& a);

// Numbers from positional words; InvalidArgument "WHAT N: 'x' is not a number".
absl::StatusOr<std::vector<double>> ParseNumbers(const std::vector<std::string>& words,
                                                 const char* what);

// An on_update callback for the watch helpers (client/lib/watch.h): prints `line(message)` (or
// the JSON) for each update and stops after `count` updates (0 = no limit).
template <typename Msg, typename LineFn>
std::function<bool(const Msg&)> PrintUpdates(int count, OutputFormat format, LineFn line) {
  return [count, format, line, n = 0](const Msg& message) mutable {
    Print(format == OutputFormat::kJson ? FormatJson(message) : line(message) + "\n");
    (void)std::fflush(stdout);
    return count <= 0 || ++n < count;
  };
}

}  // namespace assay::client

#endif  // ASSAY_CLIENT_CLI_COMMAND_UTIL_H_
