#include "core/base/version.h"

namespace assay {

const char* Version() { return "0.1.0"; }

}  // namespace assay
