#include "app/gui/capabilities.h"

namespace qs::gui {

const std::vector<Capability>& capabilities() {
  static const std::vector<Capability> all = {
      {"quantize", &installQuantize}, {"sensitivity", &installSensitivity},
      {"recovery", &installRecovery}, {"eptq", &installEptq},
      {"mixed", &installMixed},       {"repvgg", &installRepvgg},
      {"export", &installExport},
  };
  return all;
}

}  // namespace qs::gui
