// Private to params.cpp: the two halves of the parameter table.
#pragma once

#include <vector>

#include "mmusim/testbench/params.h"

namespace mmusim::testbench {

void add_machine_params(std::vector<ParamInfo>& table);  // machine_params.cpp
void add_os_params(std::vector<ParamInfo>& table);       // os_params.cpp

}  // namespace mmusim::testbench
