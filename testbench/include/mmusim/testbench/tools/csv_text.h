// CSV fields (RFC 4180): quoted only when they contain a comma, a quote or a line break.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mmusim::testbench::tools {

std::string csv_field(std::string_view text);
// The fields joined with commas and quoted where needed, without the line break.
std::string csv_row(const std::vector<std::string>& fields);
// A number as CSV and JSON write it: integers without a fraction, others in the shortest form
// that reads back exactly; empty for NaN and infinities.
std::string number_text(double value);

}  // namespace mmusim::testbench::tools
