#ifndef ASSAY_CORE_BASE_VERSION_H_
#define ASSAY_CORE_BASE_VERSION_H_

namespace assay {

// The release of this build, as a semantic version string ("0.1.0"). Never null.
const char* Version();

}  // namespace assay

#endif  // ASSAY_CORE_BASE_VERSION_H_
