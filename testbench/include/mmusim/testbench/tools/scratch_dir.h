// A private scratch folder for child processes' outputs, removed with everything in it when the
// object goes (`mmusim cow`, `mmusim calibrate`).
#pragma once

#include <string>

namespace mmusim::testbench::tools {

class ScratchDir {
 public:
  // $TMPDIR/mmusim-WHAT-XXXXXX (or /tmp/...); InputError when it cannot be created.
  explicit ScratchDir(const std::string& what);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace mmusim::testbench::tools
