// The visitor idiom for std::variant: std::visit(Overloaded{[](const A&) {...}, ...}, v).
#pragma once

namespace mmusim::testbench {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace mmusim::testbench
