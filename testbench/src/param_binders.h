// Builders that bind a named parameter to a field of SimConfig, with parsing and printing of its
// value. Private to the parameter tables (machine_params.cpp, os_params.cpp).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "mmusim/testbench/params.h"

namespace mmusim::testbench::params_detail {

std::uint64_t parse_unsigned(const std::string& text);
bool parse_bool(const std::string& text);

// Binds a parameter to an unsigned integer field.
template <typename T, typename Field>
ParamInfo uint_param(std::string name, std::string unit, std::string description, std::string source,
                     Field field) {
  return {std::move(name), std::move(unit), std::move(description), std::move(source),
          [field](const SimConfig& c) { return std::to_string(field(const_cast<SimConfig&>(c))); },
          [field](SimConfig& c, const std::string& text) {
            const std::uint64_t v = parse_unsigned(text);
            if (v > std::numeric_limits<T>::max())
              throw std::invalid_argument(fmt::format("{} is out of range (at most {})", v,
                                                      std::numeric_limits<T>::max()));
            field(c) = static_cast<T>(v);
          }};
}

template <typename Field>
ParamInfo bool_param(std::string name, std::string description, std::string source, Field field) {
  return {std::move(name), "bool", std::move(description), std::move(source),
          [field](const SimConfig& c) { return std::string(field(const_cast<SimConfig&>(c)) ? "1" : "0"); },
          [field](SimConfig& c, const std::string& text) { field(c) = parse_bool(text); }};
}

// Binds a parameter to an enumeration field: `names` lists each value's name.
template <typename E, typename Field>
ParamInfo enum_param(std::string name, std::string description, std::string source,
                     std::vector<std::pair<std::string, E>> names, Field field) {
  std::string unit;
  for (const auto& [n, v] : names) unit += (unit.empty() ? "" : "|") + n;
  return {std::move(name), unit, std::move(description), std::move(source),
          [field, names](const SimConfig& c) {
            for (const auto& [n, v] : names)
              if (v == field(const_cast<SimConfig&>(c))) return n;
            return std::string("?");
          },
          [field, names, unit](SimConfig& c, const std::string& text) {
            for (const auto& [n, v] : names)
              if (n == text) {
                field(c) = v;
                return;
              }
            throw std::invalid_argument(fmt::format("'{}' is not one of {}", text, unit));
          }};
}

#define MMUSIM_FIELD(path) [](SimConfig& c) -> auto& { return c.path; }

}  // namespace mmusim::testbench::params_detail
