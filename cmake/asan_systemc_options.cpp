// Linked into SystemC executables of sanitizer builds only. LeakSanitizer's exit-time scan
// crashes on SystemC's coroutine stacks ("Tracer caught signal 11"), which is not a leak in
// the program; AddressSanitizer and UBSan stay fully on. Pure C++ test binaries keep leak checks.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
