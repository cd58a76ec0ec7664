// Exact little binary encoding for state snapshots: fixed-width integers, IEEE-754 doubles by their
// bits (round-trips exactly), length-prefixed strings. Host byte order (all supported hosts are
// little-endian x86-64/arm64); snapshots are a cache of the event log, never an exchange format.
#ifndef ASSAY_CORE_BASE_BYTES_H_
#define ASSAY_CORE_BASE_BYTES_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace assay {

class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void I64(int64_t v) { Raw(&v, sizeof v); }
  void F64(double v) { Raw(&v, sizeof v); }
  void Str(absl::string_view s) {
    I64(static_cast<int64_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  void F64s(const double* v, int64_t n) {
    I64(n);
    Raw(v, static_cast<size_t>(n) * sizeof(double));
  }
  // A snapshot header: 4-character magic tag and a format version.
  void Header(const char (&magic)[5], uint8_t format) {
    out_.append(magic, 4);
    U8(format);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Raw(const void* p, size_t n) {
    if (n > 0) out_.append(static_cast<const char*>(p), n);  // an empty vector's data() may be null
  }
  std::string out_;
};

// Reads what ByteWriter wrote. Every getter returns false once the input is exhausted or
// malformed; check ok() (or the getters' results) before trusting values.
class ByteReader {
 public:
  explicit ByteReader(absl::string_view in) : in_(in) {}
  bool U8(uint8_t& v) { return Raw(&v, 1); }
  bool I64(int64_t& v) { return Raw(&v, sizeof v); }
  bool F64(double& v) { return Raw(&v, sizeof v); }
  bool Str(std::string& s) {
    int64_t n;
    if (!I64(n) || n < 0 || static_cast<uint64_t>(n) > in_.size()) return ok_ = false;
    s.assign(in_.data(), static_cast<size_t>(n));
    in_.remove_prefix(static_cast<size_t>(n));
    return true;
  }
  bool F64s(std::vector<double>& v) {
    int64_t n;
    if (!I64(n) || n < 0 || static_cast<uint64_t>(n) > in_.size() / sizeof(double))
      return ok_ = false;
    v.resize(static_cast<size_t>(n));
    return Raw(v.data(), static_cast<size_t>(n) * sizeof(double));
  }
  // Reads a Header(); false unless both the magic tag and the format match.
  bool Header(const char (&magic)[5], uint8_t format) {
    char got[4];
    uint8_t version;
    return Raw(got, 4) && U8(version) && std::memcmp(got, magic, 4) == 0 && version == format;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }

 private:
  bool Raw(void* p, size_t n) {
    if (!ok_ || in_.size() < n) return ok_ = false;
    if (n == 0) return true;  // memcpy with a null pointer is undefined even for 0 bytes
    std::memcpy(p, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  absl::string_view in_;
  bool ok_ = true;
};

}  // namespace assay

#endif  // ASSAY_CORE_BASE_BYTES_H_
