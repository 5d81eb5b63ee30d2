// The scenario `mmusim run` runs when no file is given.
#pragma once

namespace mmusim::testbench {

// First touch through the zero page, fork, copy-on-write in both directions, reuse after the
// child exits; every read is checked against expected values and the oracle.
extern const char* const kDefaultScenario;

}  // namespace mmusim::testbench
