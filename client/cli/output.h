// How the CLI prints results: aligned columns or key/value lines for people, CSV or the API's
// own JSON (proto3 JSON mapping, field names as in the .proto, the form grpcurl prints) for
// scripts.
#ifndef ASSAY_CLIENT_CLI_OUTPUT_H_
#define ASSAY_CLIENT_CLI_OUTPUT_H_

#include <google/protobuf/message.h>

#include <string>
#include <vector>

namespace assay::client {

enum class OutputFormat { kHuman, kCsv, kJson };

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

// kHuman: columns padded to their widest cell, numbers right-aligned; kCsv: RFC 4180.
// (kJson is the caller's: it prints the response message instead.)
std::string FormatTable(const Table& table, OutputFormat format);

// The message as JSON (one document, indented) with every field, defaults included.
std::string FormatJson(const google::protobuf::Message& message);

// kJson: FormatJson; otherwise one "field  value" line per field with a value (enums by name,
// repeated scalars joined by ", ", messages as compact JSON).
std::string FormatMessage(const google::protobuf::Message& message, OutputFormat format);

// A CSV field, quoted when it contains a separator, quote or line break (RFC 4180).
std::string CsvField(const std::string& s);

// A double with up to `digits` significant digits ("%.*g").
std::string Num(double value, int digits = 4);
// Unix seconds as ISO 8601 in local time ("2026-12-06T08:40:00+00:00"); "" for 0 (not set).
std::string Time(int64_t unix_seconds);

}  // namespace assay::client

#endif  // ASSAY_CLIENT_CLI_OUTPUT_H_
