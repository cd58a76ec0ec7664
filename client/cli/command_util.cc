#include "client/cli/command_util.h"

#include <google/protobuf/util/json_util.h>

#include <iostream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "client/import/csv.h"
#include "core/base/status_macros.h"

namespace assay::client {

void Print(const std::string& text) { (void)std::fwrite(text.data(), 1, text.size(), stdout); }

void AddFormatFlags(CLI::App* sub, OutputFormat& format) {
  sub->add_flag_callback(
      "--json", [&format] { format = OutputFormat::kJson; }, "print the API's JSON");
  sub->add_flag_callback(
      "--csv", [&format] { format = OutputFormat::kCsv; }, "print CSV");
}

void PrintRows(const google::protobuf::Message& reply, const Table& table, OutputFormat format) {
  Print(format == OutputFormat::kJson ? FormatJson(reply) : FormatTable(table, format));
}

absl::StatusOr<std::string> ReadText(const std::string& path) {
  if (path != "-") return import::ReadFile(path);
  return std::string(std::istreambuf_iterator<char>(std::cin), {});
}

absl::Status ReadJsonMessage(const std::string& path, google::protobuf::Message& message) {
  ASSIGN_OR_RETURN(const std::string text, ReadText(path));
  const auto status = google::protobuf::util::JsonStringToMessage(text, &message);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a valid ",
                                                   message.GetDescriptor()->name(), ": ",
                                                   status.message().as_string()));
  }
  return absl::OkStatus();
}

std::string Decision(v1::Decision d) {
  return absl::AsciiStrToLower(v1::Decision_Name(d).substr(std::string("DECISION_").size()));
}

absl::StatusOr<import::ImportResult> Import(const Args& a) {
  import::ImportOptions options;
  options.metric = a.metric;
  options.model = a.model;
  return import::ImportResponses(a.path, options);
}

absl::StatusOr<std::vector<double>> ParseNumbers(const std::vector<std::string>& words,
                                                 const char* what) {
  std::vector<double> out;
  for (size_t i = 0; i < words.size(); ++i) {
    double x;
    if (!absl::SimpleAtod(words[i], &x)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " ", i + 1, ": '", words[i], "' is not a number"));
    }
    out.push_back(x);
  }
  return out;
}

}  // namespace assay::client
