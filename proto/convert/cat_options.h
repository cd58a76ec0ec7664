// Adaptive-testing options between the API (v1::CatOptions) and the core (cat::CatOptions): one
// place. Unset fields take the core's defaults (cat::CatOptions; the selection from the session's
// goal, cat::DefaultSelection).
#ifndef ASSAY_PROTO_CONVERT_CAT_OPTIONS_H_
#define ASSAY_PROTO_CONVERT_CAT_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "assay/v1/cat.pb.h"
#include "core/cat/session.h"

namespace assay::convert {

// Fills the unset fields of `options` and returns the core form for `bank`, whose tags are
// `tag_names` and whose items are numbered by `item_index`. InvalidArgument "options.FIELD: ...".
absl::StatusOr<cat::CatOptions> CatOptionsFromProto(
    v1::CatOptions& options, const std::vector<std::string>& tag_names,
    const absl::flat_hash_map<std::string, int32_t>& item_index, const cat::Bank& bank);

}  // namespace assay::convert

#endif  // ASSAY_PROTO_CONVERT_CAT_OPTIONS_H_
